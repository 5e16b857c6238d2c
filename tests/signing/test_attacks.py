"""Each refusal asserts its own error class (issue 2, "Tests that must exist")."""

from __future__ import annotations

import base64
import copy

import pytest
from lxml import etree

from interchange import errors
from interchange.signing import algorithms as alg
from interchange.signing import sign_bytes, verify_document
from interchange.signing.sign import _sign_tree, serialize_signed

from .conftest import DS, NS, SENDER, E, Pki, make_doc, make_status


def signed(p: Pki, doc: bytes | None = None) -> bytes:
    return sign_bytes(doc or make_doc(), p.sender)


def refuse(data: bytes, p: Pki, err: type[Exception], **policy: object) -> None:
    with pytest.raises(err) as info:
        verify_document(data, p.policy(**policy))
    assert type(info.value) is err, f"{type(info.value).__name__}: {info.value}"
    assert "\n" not in str(info.value)


def test_valid_document_and_result(pki_env: Pki) -> None:
    v = verify_document(signed(pki_env), pki_env.policy())
    r = v.result
    assert r.signer_organ == SENDER and "UID=000.00.13.H53" in r.signer_subject
    assert r.signature_algorithm_name == "rsa-sha256" and r.digest_algorithm == alg.SHA256
    assert r.c14n_algorithm == alg.EXC_C14N and r.stripped_hops == ()
    assert r.certificate_fingerprint == pki_env.sender.certificate.fingerprint(
        __import__("cryptography.hazmat.primitives.hashes", fromlist=["SHA256"]).SHA256()).hex()
    assert v.root.find(f".//{DS}Signature") is None  # only the covered content is exposed
    assert v.signature.tag == DS + "Signature"


def test_status_message(pki_env: Pki) -> None:
    v = verify_document(sign_bytes(make_status(), pki_env.sender), pki_env.policy())
    assert v.root.findtext(f".//{E}StatusCode") == "03"


def test_ecdsa_sign_and_verify(pki_env: Pki) -> None:
    data = sign_bytes(make_doc(), pki_env.sender_ecdsa)
    v = verify_document(data, pki_env.policy())
    assert v.result.signature_algorithm_name == "ecdsa-sha256"
    value = etree.fromstring(data).findtext(f".//{DS}SignatureValue")
    assert len(base64.b64decode(value or "")) == 64  # raw r || s, not DER


def test_signature_is_last_child_of_header(pki_env: Pki) -> None:
    header = etree.fromstring(signed(pki_env)).find(f"{E}edXMLEnvelope/{E}edXMLHeader")
    assert header is not None and header[-1].tag == DS + "Signature"


def test_refuses_to_sign_twice(pki_env: Pki) -> None:
    with pytest.raises(errors.SignatureStructureError):
        sign_bytes(signed(pki_env), pki_env.sender)


def test_tampered_header_text(pki_env: Pki) -> None:
    data = signed(pki_env).replace(b"12/KL-TTr", b"13/KL-TTr")
    refuse(data, pki_env, errors.DigestMismatchError)


def test_tampered_attachment(pki_env: Pki) -> None:
    good = base64.b64encode(b"<conclusion>12/KL</conclusion>")
    bad = base64.b64encode(b"<conclusion>99/KL</conclusion>")
    data = signed(pki_env).replace(good, bad)
    refuse(data, pki_env, errors.DigestMismatchError)


def test_tampered_signature_value(pki_env: Pki) -> None:
    root = etree.fromstring(signed(pki_env))
    sv = root.find(f".//{DS}SignatureValue")
    assert sv is not None and sv.text
    raw = bytearray(base64.b64decode(sv.text))
    raw[10] ^= 1
    sv.text = base64.b64encode(bytes(raw)).decode()
    refuse(serialize_signed(root), pki_env, errors.SignatureValueError)


def test_wrapping_signed_document_nested_in_attacker_root(pki_env: Pki) -> None:
    genuine = etree.fromstring(signed(pki_env))
    # 1. a foreign root around the genuine document
    evil = etree.Element("Envelope")
    evil.append(copy.deepcopy(genuine))
    refuse(etree.tostring(evil), pki_env, errors.NotEdXMLError)
    # 2. an edXML root whose attachment area hides the genuine signed document
    forged = etree.fromstring(make_doc(subject="Forged"))
    forged.find(f"{{{NS}}}AttachmentEncoded").append(copy.deepcopy(genuine))  # type: ignore[union-attr]
    refuse(etree.tostring(forged), pki_env, errors.SignatureStructureError)
    # 3. the genuine Signature moved into the forged header (original hidden elsewhere)
    forged = etree.fromstring(make_doc(subject="Forged"))
    sig = copy.deepcopy(genuine.find(f".//{DS}Signature"))
    forged.find(f"{E}edXMLEnvelope/{E}edXMLHeader").append(sig)  # type: ignore[union-attr,arg-type]
    hidden = copy.deepcopy(genuine)
    hidden.find(f".//{DS}Signature").getparent().remove(hidden.find(f".//{DS}Signature"))  # type: ignore[union-attr,arg-type]
    forged.find(f"{{{NS}}}AttachmentEncoded").append(hidden)  # type: ignore[union-attr]
    refuse(etree.tostring(forged), pki_env, errors.DigestMismatchError)


def test_wrapping_reference_by_id_to_hidden_copy(pki_env: Pki) -> None:
    genuine = etree.fromstring(signed(pki_env))
    forged = copy.deepcopy(genuine)
    hidden = copy.deepcopy(genuine.find(f".//{E}MessageHeader"))
    assert hidden is not None
    hidden.set("Id", "orig")
    forged.find(f"{{{NS}}}AttachmentEncoded").append(hidden)  # type: ignore[union-attr]
    forged.find(f".//{E}Subject").text = "Forged subject"  # type: ignore[union-attr]
    forged.find(f".//{DS}Reference").set("URI", "#orig")  # type: ignore[union-attr]
    refuse(etree.tostring(forged), pki_env, errors.SignatureStructureError)


def test_comment_in_signed_text_is_accepted_and_read_in_full(pki_env: Pki) -> None:
    data = signed(pki_env, make_doc(subject="Kết luận 12/KL"))
    data = data.replace(b"12/KL</edXML:Subject>", b"12<!--x-->/KL</edXML:Subject>")
    v = verify_document(data, pki_env.policy())
    assert v.root.findtext(f".//{E}Subject") == "Kết luận 12/KL"
    try:
        from interchange.edxml.read import read_tree
    except ImportError:
        return
    msg = read_tree(v.root)
    assert msg.header.subject == "Kết luận 12/KL"  # type: ignore[union-attr]


XXE = b"""<?xml version="1.0"?>
<!DOCTYPE edXML [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016">&x;</edXML>"""
BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>
<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016">&d;&d;&d;&d;</edXML>"""


def test_external_entity(pki_env: Pki) -> None:
    refuse(XXE, pki_env, errors.UnsafeXMLError)


def test_entity_expansion_bomb(pki_env: Pki) -> None:
    refuse(BOMB, pki_env, errors.UnsafeXMLError)


def test_dtd(pki_env: Pki) -> None:
    data = signed(pki_env).replace(
        b"?>\n<edXML", b'?>\n<!DOCTYPE edXML [<!ATTLIST edXML x CDATA "1">]>\n<edXML', 1)
    refuse(data, pki_env, errors.UnsafeXMLError)


def test_untrusted_ca_with_chain_included(pki_env: Pki) -> None:
    data = sign_bytes(make_doc(), pki_env.attacker)
    assert len(etree.fromstring(data).findall(f".//{DS}X509Certificate")) == 2
    refuse(data, pki_env, errors.UntrustedCertificateError)


def test_lookalike_ca_with_the_real_ca_name(pki_env: Pki) -> None:
    refuse(sign_bytes(make_doc(), pki_env.lookalike), pki_env, errors.UntrustedCertificateError)


def test_expired_certificate(pki_env: Pki) -> None:
    refuse(sign_bytes(make_doc(), pki_env.expired), pki_env, errors.ExpiredCertificateError)


def test_not_yet_valid_certificate(pki_env: Pki) -> None:
    refuse(sign_bytes(make_doc(), pki_env.not_yet), pki_env, errors.ExpiredCertificateError)


def test_revoked_certificate(pki_env: Pki) -> None:
    refuse(sign_bytes(make_doc(), pki_env.revoked), pki_env, errors.RevokedCertificateError)


def test_wrong_agency_certificate(pki_env: Pki) -> None:
    refuse(sign_bytes(make_doc(), pki_env.recipient), pki_env, errors.SignerBindingError)
    status = sign_bytes(make_status(), pki_env.recipient)
    refuse(status, pki_env, errors.SignerBindingError)


def test_certificate_without_uid_needs_a_mapping(pki_env: Pki) -> None:
    data = sign_bytes(make_doc(), pki_env.no_uid)
    refuse(data, pki_env, errors.SignerBindingError)
    fp = pki_env.no_uid.certificate.fingerprint(
        __import__("cryptography.hazmat.primitives.hashes", fromlist=["SHA256"]).SHA256()).hex()
    v = verify_document(data, pki_env.policy(organ_bindings={fp.upper(): SENDER}))
    assert v.result.signer_organ == SENDER


def _legacy(p: Pki, *, method: str = alg.RSA_SHA1, digest: str = alg.SHA1,
            c14n: str = alg.EXC_C14N) -> bytes:
    root = etree.fromstring(make_doc())
    _sign_tree(root, p.sender, method=alg.SIGNATURE_METHODS[method], digest=digest,
               c14n_uri=c14n)
    return serialize_signed(root)


def test_rsa_sha1_without_legacy_policy(pki_env: Pki) -> None:
    refuse(_legacy(pki_env), pki_env, errors.AlgorithmNotAllowedError)
    refuse(_legacy(pki_env, method=alg.RSA_SHA256), pki_env, errors.AlgorithmNotAllowedError)


def test_rsa_sha1_with_legacy_policy(pki_env: Pki) -> None:
    v = verify_document(_legacy(pki_env, c14n=alg.C14N10), pki_env.policy(allow_sha1=True))
    assert v.result.signature_algorithm_name == "rsa-sha1"
    assert v.result.c14n_algorithm == alg.C14N10


def _append_hop(data: bytes, organ: str, ts: str, ws: str = "") -> bytes:
    root = etree.fromstring(data)
    thl = root.find(f".//{E}TraceHeaderList")
    assert thl is not None
    last = thl.findall(f"{E}TraceHeader")[-1]
    th = etree.Element(f"{E}TraceHeader")
    etree.SubElement(th, f"{E}OrganId").text = organ
    etree.SubElement(th, f"{E}Timestamp").text = ts
    th.tail = ws or None
    last.addnext(th)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def test_hub_appended_trace_header_is_stripped_and_reported(pki_env: Pki) -> None:
    data = _append_hop(signed(pki_env), "000.00.00.G22", "2026/11/28 10:00:00")
    data = _append_hop(data, "000.00.00.A00", "2026/11/28 10:01:00", ws="\n        ")
    v = verify_document(data, pki_env.policy())
    assert v.result.stripped_hops == (
        ("000.00.00.G22", "2026/11/28 10:00:00"), ("000.00.00.A00", "2026/11/28 10:01:00"))
    assert [t.findtext(f"{E}OrganId") for t in v.root.iter(f"{E}TraceHeader")] == [SENDER]
    refuse(data, pki_env, errors.DigestMismatchError, max_stripped_hops=1)


def test_senders_own_trace_header_changed_is_refused(pki_env: Pki) -> None:
    data = signed(pki_env).replace(b"2026/11/28 09:00:00", b"2026/11/28 09:30:00")
    refuse(data, pki_env, errors.DigestMismatchError)
    # ... also when the attacker appends a hop to make it look like a hub did it
    refuse(_append_hop(data, "000.00.00.G22", "2026/11/28 10:00:00"), pki_env,
           errors.DigestMismatchError)


def test_malformed_appended_hop(pki_env: Pki) -> None:
    root = etree.fromstring(signed(pki_env))
    th = root.find(f".//{E}TraceHeader")
    assert th is not None
    extra = etree.Element(f"{E}TraceHeader")
    etree.SubElement(extra, f"{E}Subject").text = "x"
    th.addnext(extra)
    refuse(etree.tostring(root), pki_env, errors.TraceHeaderError)


def test_unsigned(pki_env: Pki) -> None:
    refuse(make_doc(), pki_env, errors.UnsignedError)


def test_two_signatures(pki_env: Pki) -> None:
    root = etree.fromstring(signed(pki_env))
    sig = root.find(f".//{DS}Signature")
    root.find(f"{E}edXMLEnvelope/{E}edXMLHeader").append(copy.deepcopy(sig))  # type: ignore[union-attr,arg-type]
    refuse(etree.tostring(root), pki_env, errors.SignatureStructureError)


def test_signature_outside_edxml_header(pki_env: Pki) -> None:
    for target in (f"{E}edXMLEnvelope", f"{E}edXMLEnvelope/{E}edXMLHeader/{E}MessageHeader", "."):
        root = etree.fromstring(signed(pki_env))
        sig = root.find(f".//{DS}Signature")
        dest = root.find(target)
        assert sig is not None and dest is not None
        dest.append(sig)
        refuse(etree.tostring(root), pki_env, errors.SignatureStructureError)


def test_bare_public_key_without_certificate(pki_env: Pki) -> None:
    root = etree.fromstring(signed(pki_env))
    key_info = root.find(f".//{DS}KeyInfo")
    assert key_info is not None
    for c in list(key_info):
        key_info.remove(c)
    etree.SubElement(etree.SubElement(key_info, DS + "KeyValue"), DS + "RSAKeyValue")
    refuse(etree.tostring(root), pki_env, errors.MissingCertificateError)
    key_info.getparent().remove(key_info)  # type: ignore[union-attr]
    refuse(etree.tostring(root), pki_env, errors.MissingCertificateError)


def test_not_xml(pki_env: Pki) -> None:
    refuse(b"%PDF-1.7 not xml", pki_env, errors.NotXMLError)
    refuse(signed(pki_env)[:-40], pki_env, errors.NotXMLError)


def test_not_edxml(pki_env: Pki) -> None:
    refuse(b'<edXML xmlns="urn:other"/>', pki_env, errors.NotEdXMLError)
    refuse(b"<edXML/>", pki_env, errors.NotEdXMLError)


def test_edxml_namespace_signature_only_as_interop_option(pki_env: Pki) -> None:
    root = etree.fromstring(make_doc())
    _sign_tree(root, pki_env.sender, namespace=NS)
    data = serialize_signed(root)
    refuse(data, pki_env, errors.SignatureStructureError)
    v = verify_document(data, pki_env.policy(accept_edxml_ns_signature=True))
    assert v.result.signer_organ == SENDER


@pytest.mark.parametrize(
    ("edit", "err"),
    [
        (lambda r: r.find(f".//{DS}Reference").attrib.pop("URI"), errors.SignatureStructureError),
        (lambda r: r.find(f".//{DS}SignedInfo").append(
            copy.deepcopy(r.find(f".//{DS}Reference"))), errors.SignatureStructureError),
        (lambda r: r.find(f".//{DS}Transforms")[1].set(
            "Algorithm", "http://www.w3.org/TR/1999/REC-xslt-19991116"),
         errors.SignatureStructureError),
        (lambda r: r.find(f".//{DS}Transforms").append(
            copy.deepcopy(r.find(f".//{DS}Transforms")[1])), errors.SignatureStructureError),
        (lambda r: r.find(f".//{DS}Transforms").remove(r.find(f".//{DS}Transforms")[0]),
         errors.SignatureStructureError),
        (lambda r: r.find(f".//{DS}CanonicalizationMethod").set(
            "Algorithm", "http://www.w3.org/2006/12/xml-c14n11"), errors.AlgorithmNotAllowedError),
        (lambda r: r.find(f".//{DS}SignatureMethod").set(
            "Algorithm", "http://www.w3.org/2000/09/xmldsig#hmac-sha1"),
         errors.AlgorithmNotAllowedError),
        (lambda r: etree.SubElement(r.find(f".//{DS}Signature"), DS + "Object"),
         errors.SignatureStructureError),
        (lambda r: setattr(r.find(f".//{DS}DigestValue"), "text", "@@"),
         errors.SignatureStructureError),
        (lambda r: setattr(r.find(f".//{DS}X509Certificate"), "text", "AAAA"),
         errors.CertificateError),
    ],
)
def test_profile_violations(pki_env: Pki, edit, err: type[Exception]) -> None:  # type: ignore[no-untyped-def]
    root = etree.fromstring(signed(pki_env))
    edit(root)
    refuse(etree.tostring(root), pki_env, err)


def test_build_edoc_documents_sign_and_verify(pki_env: Pki) -> None:
    try:
        from interchange.edxml.build import build_edoc
        from interchange.edxml.model import DocumentCode, EdocMessage, MessageHeader, Organ
        from interchange.edxml.read import read_tree
    except ImportError:
        pytest.skip("format helper's builder not available")
    msg = EdocMessage(header=MessageHeader(
        from_=Organ(SENDER), to=(Organ("000.00.02.G14"),), document_id="x,2026/11/28,1/KL",
        code=DocumentCode("1", "KL"), subject="Kết luận"))
    v = verify_document(sign_bytes(_sb(build_edoc(msg)), pki_env.sender), pki_env.policy())
    assert read_tree(v.root) == msg


def _sb(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def test_verify_tree_drops_comments_first(pki_env: Pki) -> None:
    from interchange.signing import verify_tree

    data = signed(pki_env, make_doc(subject="Kết luận 12/KL"))
    data = data.replace(b"12/KL</edXML:Subject>", b"12<!--x-->/KL</edXML:Subject>")
    v = verify_tree(etree.fromstring(data), pki_env.policy())
    assert v.root.findtext(f".//{E}Subject") == "Kết luận 12/KL"


def test_second_from_anywhere_breaks_the_binding(pki_env: Pki) -> None:
    """The signer (A) adds a second envelope naming B as sender: a reader that picked it
    would attribute A's signature to B. Refused."""
    root = etree.fromstring(make_doc())
    env2 = copy.deepcopy(root.find(f"{E}edXMLEnvelope"))
    assert env2 is not None
    env2.find(f".//{E}From/{E}OrganId").text = "000.00.02.G14"  # type: ignore[union-attr]
    root.append(env2)
    data = sign_bytes(etree.tostring(root), pki_env.sender)
    refuse(data, pki_env, errors.SignerBindingError)


@pytest.mark.parametrize("namespace", ["urn:x", None])
def test_from_in_another_namespace_breaks_the_binding(pki_env: Pki, namespace: str | None) -> None:
    """The signer (A) puts an ``x:From`` naming B before the real From: the lenient reader
    matches by local name and would take B as the sender of A's signature. Refused."""
    root = etree.fromstring(make_doc())
    mh = root.find(f".//{E}MessageHeader")
    assert mh is not None
    ns = "{" + namespace + "}" if namespace else ""
    fake = etree.Element(ns + "From")
    etree.SubElement(fake, ns + "OrganId").text = "000.00.02.G14"
    mh.insert(0, fake)
    refuse(sign_bytes(etree.tostring(root), pki_env.sender), pki_env, errors.SignerBindingError)


def test_organ_id_in_another_namespace_breaks_the_binding(pki_env: Pki) -> None:
    root = etree.fromstring(make_doc())
    sender = root.find(f".//{E}From")
    assert sender is not None
    etree.SubElement(sender, "{urn:x}OrganId").text = "000.00.02.G14"
    refuse(sign_bytes(etree.tostring(root), pki_env.sender), pki_env, errors.SignerBindingError)
