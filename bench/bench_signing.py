"""Signing benchmarks: our sign/verify against the floor, python-xmlsec and signxml.

Every figure is a median over rounds; in each round every path runs the same number of
iterations back to back, so ratios are measured under the same machine conditions. The
measured callables are parameters (``run``): the lead wires build + validate + model
extraction into ``sign`` / ``verify`` later without touching the harness.
"""

from __future__ import annotations

import datetime as dt
import gc
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import xmlsec
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from lxml import etree
from signxml import SignatureConfiguration, XMLVerifier

from interchange.edxml.build import build_edoc, serialize
from interchange.edxml.model import (
    Attachment,
    Bussiness,
    BussinessDocType,
    DocumentCode,
    DocumentType,
    EdocMessage,
    MessageHeader,
    Organ,
    OtherInfo,
    PromulgationInfo,
    SignerInfo,
    TraceHeader,
)
from interchange.safexml import parse_bytes
from interchange.signing import (
    SigningKey,
    VerifyPolicy,
    load_signing_key,
    pki,
    sign_bytes,
    verify_document,
)

NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
SENDER = "000.00.13.H53"
ROUNDS = 7


def conclusion_message(attachment_bytes: int) -> EdocMessage:
    """A conclusion-like document message: full header, an XML attachment of that size."""
    finding = "<finding>Vi phạm quy định về quản lý đất đai, thu hồi 1.250.000.000 đồng.</finding>"
    body = ("<conclusion xmlns='urn:interchange:conclusion:1'><number>12/KL-TTr</number>"
            + finding * max(1, attachment_bytes // len(finding.encode()))
            + "</conclusion>").encode()

    def organ(code: str, name: str) -> Organ:
        return Organ(code, "Ủy ban nhân dân tỉnh Tây Ninh", name,
                     "Số 1, đường 30/4, phường 1, thành phố Tây Ninh", "thanhtra@tayninh.gov.vn",
                     "0276 3822 111")

    return EdocMessage(
        header=MessageHeader(
            from_=organ(SENDER, "Thanh tra tỉnh Tây Ninh"),
            to=(organ("000.00.02.G14", "Thanh tra Bộ"),),
            document_id=f"{SENDER},2026/11/28,12/KL-TTr",
            code=DocumentCode("12", "KL-TTr"),
            subject="Kết luận thanh tra việc chấp hành pháp luật về quản lý, sử dụng đất đai "
                    "tại huyện Châu Thành",
            promulgation_info=PromulgationInfo("Tây Ninh", dt.date(2026, 11, 28)),
            document_type=DocumentType(1, 0, "Kết luận"),
            signer_info=SignerInfo("KT. CHÁNH THANH TRA", "Phó Chánh Thanh tra", "Nguyễn Văn A"),
            other_info=OtherInfo(priority=0, promulgation_amount=3, page_amount=12),
            steering_type=0,
            to_places=("Như trên", "Lưu: VT, TTr"),
        ),
        trace_headers=(TraceHeader(SENDER, dt.datetime(2026, 11, 28, 9, 0, 0)),),
        bussiness=Bussiness(BussinessDocType.NEW, paper=0),
        attachments=(Attachment("kl-1", "ket-luan.xml", "application/xml", body),),
    )


def conclusion_doc(attachment_bytes: int) -> bytes:
    return serialize(build_edoc(conclusion_message(attachment_bytes)))


@dataclass
class Setup:
    key: SigningKey
    policy: VerifyPolicy
    cert_pem: bytes
    xmlsec_key: xmlsec.Key


def setup(tmp: Path) -> Setup:
    ca = pki.init_ca(tmp / "ca")
    key = load_signing_key(*pki.issue(ca.dir, SENDER))
    policy = VerifyPolicy.from_files([ca.cert_path], [ca.crl_path])
    pem = key.certificate.public_bytes(serialization.Encoding.PEM)
    return Setup(key, policy, pem,
                 xmlsec.Key.from_memory(pem, xmlsec.constants.KeyDataFormatCertPem))


def floor_sign(data: bytes, key: rsa.RSAPrivateKey) -> bytes:
    """Safe parse, exclusive c14n of the document, RSA-2048 PKCS#1 v1.5 SHA-256 sign."""
    tree = parse_bytes(data)
    octets = etree.tostring(tree, method="c14n", exclusive=True, with_comments=False)
    return key.sign(octets, padding.PKCS1v15(), hashes.SHA256())


def xmlsec_verify(data: bytes, key: xmlsec.Key) -> None:
    """python-xmlsec's bare verification with a pinned key (no chain, CRL, binding)."""
    root = etree.fromstring(data)
    node = xmlsec.tree.find_node(root, xmlsec.constants.NodeSignature)
    ctx = xmlsec.SignatureContext()
    ctx.key = key
    assert node is not None
    ctx.verify(node)


_SIGNXML_CONFIG = SignatureConfiguration(
    location=f"./{{{NS}}}edXMLEnvelope/{{{NS}}}edXMLHeader/", expect_references=1)


def signxml_verify(data: bytes, cert_pem: str) -> None:
    XMLVerifier().verify(data, x509_cert=cert_pem, expect_config=_SIGNXML_CONFIG)


def timed(fn: Callable[[], object], n: int) -> float:
    """Seconds per call over ``n`` calls."""
    gc.collect()
    t = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t) / n


def rounds(paths: dict[str, Callable[[], object]], n: int) -> dict[str, list[float]]:
    for fn in paths.values():  # warm up (and fill the chain cache)
        fn()
    out: dict[str, list[float]] = {k: [] for k in paths}
    for _ in range(ROUNDS):
        for name, fn in paths.items():
            out[name].append(timed(fn, n))
    return out


def peak_mb(fn: Callable[[], object]) -> float:
    """Python-heap peak (tracemalloc; libxml2's own buffers are not traced)."""
    gc.collect()
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 1e6


def run(
    label: str, s: Setup, unsigned: bytes, n: int,
    sign: Callable[[bytes], bytes] | None = None,
    verify: Callable[[bytes], object] | None = None,
) -> dict[str, float]:
    sign = sign or (lambda d: sign_bytes(d, s.key))
    verify = verify or (lambda d: verify_document(d, s.policy))
    signed = sign(unsigned)
    priv = s.key.private_key
    assert isinstance(priv, rsa.RSAPrivateKey)
    pem = s.cert_pem.decode()
    t = rounds({
        "sign": lambda: sign(unsigned),
        "floor": lambda: floor_sign(unsigned, priv),
        "verify": lambda: verify(signed),
        "xmlsec": lambda: xmlsec_verify(signed, s.xmlsec_key),
        "signxml": lambda: signxml_verify(signed, pem),
    }, n)
    med = {k: statistics.median(v) for k, v in t.items()}

    def ratio(a: str, b: str) -> float:
        return statistics.median(x / y for x, y in zip(t[a], t[b], strict=True))

    out = {
        f"sign_vs_floor_{label}": ratio("sign", "floor"),
        f"verify_vs_xmlsec_{label}": ratio("verify", "xmlsec"),
        f"verify_vs_signxml_{label}": ratio("verify", "signxml"),
        f"unsigned_bytes_{label}": float(len(unsigned)),
        f"signed_bytes_{label}": float(len(signed)),
    }
    for k in ("sign", "floor", "verify", "xmlsec", "signxml"):
        out[f"{k}_docs_per_s_{label}"] = 1.0 / med[k]
        out[f"{k}_us_{label}"] = med[k] * 1e6
    return out


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        s = setup(Path(tmp))
        results = run("5k", s, conclusion_doc(1_200), n=300)
        big = conclusion_doc(760_000)  # a ~1 MB attachment once base64-encoded
        results |= run("1m", s, big, n=8)
        signed_big = sign_bytes(big, s.key)
        results["sign_peak_mb_1m"] = peak_mb(lambda: sign_bytes(big, s.key))
        results["verify_peak_mb_1m"] = peak_mb(lambda: verify_document(signed_big, s.policy))
    for name, value in results.items():
        print(f"signing.{name}: {value:.3f}" if value < 100 else f"signing.{name}: {value:.0f}")


if __name__ == "__main__":
    main()
