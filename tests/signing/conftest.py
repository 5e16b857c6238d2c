"""Session PKI (in tmp, never in the repo) and a template builder for edXML test documents."""

from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from cryptography.hazmat.primitives import serialization

from interchange.signing import SigningKey, VerifyPolicy, load_signing_key, pki

SENDER = "000.00.13.H53"  # Sở ... Tây Ninh (demo directory)
RECIPIENT = "000.00.02.G14"  # Ministry Inspectorate
NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
E = "{" + NS + "}"
DS = "{http://www.w3.org/2000/09/xmldsig#}"


def make_doc(
    *, sender: str = SENDER, subject: str = "Kết luận thanh tra việc quản lý đất đai",
    attachment: bytes = b"<conclusion>12/KL</conclusion>", traces: tuple[str, ...] = (SENDER,),
    pretty: bool = True,
) -> bytes:
    """A conclusion-like document message in the exact namespace shape of the samples."""
    nl = "\n" if pretty else ""
    ind = "  " if pretty else ""
    th = "".join(
        f"{ind * 4}<edXML:TraceHeader><edXML:OrganId>{o}</edXML:OrganId>"
        f"<edXML:Timestamp>2026/11/28 09:0{i}:00</edXML:Timestamp></edXML:TraceHeader>{nl}"
        for i, o in enumerate(traces)
    )
    b64 = base64.b64encode(attachment).decode()
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<edXML xmlns="{NS}">{nl}'
        f'{ind}<edXML:edXMLEnvelope xmlns:edXML="{NS}">{nl}'
        f"{ind * 2}<edXML:edXMLHeader>{nl}{ind * 3}<edXML:MessageHeader>{nl}"
        f"{ind * 4}<edXML:From><edXML:OrganId>{sender}</edXML:OrganId>"
        f"<edXML:OrganName>Thanh tra tỉnh Tây Ninh</edXML:OrganName></edXML:From>{nl}"
        f"{ind * 4}<edXML:To><edXML:OrganId>{RECIPIENT}</edXML:OrganId>"
        f"<edXML:OrganName>Thanh tra Bộ</edXML:OrganName></edXML:To>{nl}"
        f"{ind * 4}<edXML:DocumentId>{sender},2026/11/28,12/KL-TTr</edXML:DocumentId>{nl}"
        f"{ind * 4}<edXML:Code><edXML:CodeNumber>12</edXML:CodeNumber>"
        f"<edXML:CodeNotation>KL-TTr</edXML:CodeNotation></edXML:Code>{nl}"
        f"{ind * 4}<edXML:Subject>{escape(subject)}</edXML:Subject>{nl}"
        f"{ind * 3}</edXML:MessageHeader>{nl}{ind * 3}<edXML:TraceHeaderList>{nl}{th}"
        f"{ind * 4}<edXML:Bussiness><edXML:BussinessDocType>0</edXML:BussinessDocType>"
        f"</edXML:Bussiness>{nl}{ind * 3}</edXML:TraceHeaderList>{nl}"
        f"{ind * 2}</edXML:edXMLHeader>{nl}{ind * 2}<edXML:edXMLBody>"
        f'<edXML:edXMLManifest version="1.0"><edXML:Reference>'
        f"<edXML:ContentId>cid:a1</edXML:ContentId><edXML:ContentType>application/xml"
        f"</edXML:ContentType><edXML:AttachmentName>kl.xml</edXML:AttachmentName>"
        f"</edXML:Reference></edXML:edXMLManifest></edXML:edXMLBody>{nl}"
        f"{ind}</edXML:edXMLEnvelope>{nl}{ind}<AttachmentEncoded><Attachment>"
        f"<ContentId>cid:a1</ContentId><AttachmentName>kl.xml</AttachmentName>"
        f"<ContentType>application/xml</ContentType>"
        f"<edXML:ContentTransferEncoded xmlns:edXML=\"{NS}\">{b64}</edXML:ContentTransferEncoded>"
        f"</Attachment></AttachmentEncoded>{nl}</edXML>\n"
    ).encode()


def make_status(*, sender: str = SENDER, code: str = "03") -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<edXML xmlns="{NS}">\n'
        f'  <edXML:edXMLEnvelope xmlns:edXML="{NS}">\n    <edXML:edXMLHeader>\n'
        f"      <edXML:MessageHeader>\n"
        f"        <edXML:From><edXML:OrganId>{sender}</edXML:OrganId></edXML:From>\n"
        f"        <edXML:ResponseFor><edXML:OrganId>{RECIPIENT}</edXML:OrganId>"
        f"<edXML:DocumentId>{RECIPIENT},2026/11/20,5/TTr</edXML:DocumentId></edXML:ResponseFor>\n"
        f"        <edXML:StatusCode>{code}</edXML:StatusCode>\n"
        f"        <edXML:Timestamp>2026/11/28 10:00:00</edXML:Timestamp>\n"
        f"      </edXML:MessageHeader>\n    </edXML:edXMLHeader>\n  </edXML:edXMLEnvelope>\n"
        f"</edXML>\n"
    ).encode()


@dataclass(frozen=True)
class Pki:
    ca: pki.Ca
    sender: SigningKey
    sender_ecdsa: SigningKey
    recipient: SigningKey
    expired: SigningKey
    not_yet: SigningKey
    revoked: SigningKey
    no_uid: SigningKey
    via_intermediate: SigningKey
    intermediate: pki.Ca
    attacker: SigningKey  # a leaf for SENDER under the attacker's own CA, chain included
    lookalike: SigningKey  # the attacker's CA has the very name of the real CA

    def policy(self, **kw: object) -> VerifyPolicy:
        return VerifyPolicy(anchors=(self.ca.cert,), crls=self._crls(), **kw)  # type: ignore[arg-type]

    def _crls(self) -> tuple:  # type: ignore[type-arg]
        from cryptography import x509

        return tuple(x509.load_pem_x509_crl(p.read_bytes())
                     for p in (self.ca.crl_path, self.intermediate.crl_path))

    def cert_pem(self, key: SigningKey) -> str:
        return key.certificate.public_bytes(serialization.Encoding.PEM).decode()


@pytest.fixture(scope="session")
def pki_env(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    base = tmp_path_factory.mktemp("pki")
    ca = pki.init_ca(base / "ca")

    def issue(code: str, sub: str, ca_dir: Path = base / "ca", **kw: object) -> SigningKey:
        k, c = pki.issue(ca_dir, code, out_dir=base / sub, **kw)  # type: ignore[arg-type]
        return load_signing_key(k, c)

    sender = issue(SENDER, "sender", name="Thanh tra tỉnh Tây Ninh")
    revoked = issue(SENDER, "revoked")
    pki.revoke(ca.dir, SENDER, cert_path=base / "revoked" / f"{SENDER}.cert.pem")
    inter = pki.init_ca(base / "inter", parent=ca, name="Interchange TEST Sub-CA")
    attacker_ca = pki.init_ca(base / "evil", name="Evil CA")
    lookalike_dir = base / "lookalike"
    pki.init_ca(lookalike_dir)  # same subject name as the real CA, different key
    return Pki(
        ca=ca,
        sender=sender,
        sender_ecdsa=issue(SENDER, "ecdsa", ecdsa=True),
        recipient=issue(RECIPIENT, "recipient"),
        expired=issue(SENDER, "expired", expired=True),
        not_yet=issue(SENDER, "notyet",
                      not_before=dt.datetime.now(dt.UTC) + dt.timedelta(days=3)),
        revoked=revoked,
        no_uid=issue(SENDER, "nouid", uid=False),
        via_intermediate=issue(SENDER, "viainter", ca_dir=inter.dir),
        intermediate=inter,
        attacker=issue(SENDER, "attacker", ca_dir=attacker_ca.dir),
        lookalike=issue(SENDER, "lookalike", ca_dir=lookalike_dir),
    )
