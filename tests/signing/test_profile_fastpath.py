"""The one-match SignedInfo check (``_profile_signed_info``) only ever accepts what the
element-by-element walk (``_signed_info``) accepts, with the very same reading; and damage
that libxml2 or cryptography refuse deep inside ends in a typed error, never a crash."""

from __future__ import annotations

import base64
import copy

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from interchange import errors
from interchange.signing import algorithms as alg
from interchange.signing import sign_bytes, verify_document
from interchange.signing import verify as v
from interchange.signing.sign import c14n

from .conftest import DS, Pki, make_doc, make_status
from .test_differential import _legacy, _signxml_sign, _xmlsec_sign

DSIG = DS[1:-1]


def _signed_info(data: bytes) -> etree._Element:
    root = etree.fromstring(data)
    si = root.find(f".//{DS}SignedInfo")
    assert si is not None
    return si


def _same_reading(si: etree._Element, policy: object) -> v._SignedInfo | None:
    """Fast path result, asserted equal to the walk's whenever the fast path accepts."""
    fast = v._profile_signed_info(si, policy)  # type: ignore[arg-type]
    if fast is not None:
        slow = v._signed_info(si, DS, policy)  # type: ignore[arg-type]
        assert fast._replace(octets=None, digest_text=None) == slow._replace(digest_text=None)
        assert base64.b64decode(fast.digest_text or b"") == base64.b64decode(
            "".join((slow.digest_text or "").split())  # type: ignore[arg-type]
        )
        assert fast.octets == c14n(si, slow.si_exclusive, slow.si_prefixes)
    return fast


def test_our_signatures_take_the_fast_path(pki_env: Pki) -> None:
    policy = pki_env.policy()
    for key in (pki_env.sender, pki_env.sender_ecdsa):
        for data in (make_doc(), make_status(), make_doc(pretty=False)):
            assert _same_reading(_signed_info(sign_bytes(data, key)), policy) is not None


@pytest.mark.parametrize("maker", [_signxml_sign, _xmlsec_sign])
def test_other_signers_agree_either_way(pki_env: Pki, maker: object) -> None:
    data = maker(pki_env.sender, pki_env)  # type: ignore[operator]
    _same_reading(_signed_info(data), pki_env.policy())
    assert verify_document(data, pki_env.policy()).result.signature_algorithm_name == "rsa-sha256"


def test_legacy_sha1_is_left_to_the_walk(pki_env: Pki) -> None:
    si = _signed_info(_legacy(pki_env))
    assert v._profile_signed_info(si, pki_env.policy()) is None
    assert _same_reading(si, pki_env.policy(allow_sha1=True)) is not None
    with pytest.raises(errors.AlgorithmNotAllowedError):
        verify_document(_legacy(pki_env), pki_env.policy())


def _edits() -> list[tuple[str, object]]:
    def attr(si: etree._Element) -> None:
        si.set("Id", "x")

    def space(si: etree._Element) -> None:
        si[2].text = " "

    def pi(si: etree._Element) -> None:
        si[2].append(etree.ProcessingInstruction("x", "y"))

    def rebind(si: etree._Element) -> None:
        ref = si[2]
        new = etree.SubElement(si, "{urn:other}Reference", nsmap={"ds": "urn:other"})
        new.set("URI", "")
        for c in list(ref):
            new.append(c)
        si.remove(ref)

    def inclusive(si: etree._Element) -> None:
        si[0].set("Algorithm", alg.C14N10)

    def prefixes(si: etree._Element) -> None:
        etree.SubElement(si[0], v._EXC_NS, PrefixList="edXML")

    def uri(si: etree._Element) -> None:
        si[2].set("URI", "#x")

    def third_transform(si: etree._Element) -> None:
        si[2][0].append(copy.deepcopy(si[2][0][1]))

    def one_transform(si: etree._Element) -> None:
        si[2][0].remove(si[2][0][1])

    def refused_c14n(si: etree._Element) -> None:
        si[2][0][1].set("Algorithm", alg.EXC_C14N + "WithComments")

    def unknown_method(si: etree._Element) -> None:
        si[1].set("Algorithm", "urn:x&amp;y")

    def digest_sha512(si: etree._Element) -> None:
        si[2][1].set("Algorithm", alg.SHA512)

    def ws_digest(si: etree._Element) -> None:
        si[2][2].text = "\n" + (si[2][2].text or "") + "\n"

    return [(f.__name__, f) for f in (attr, space, pi, rebind, inclusive, prefixes, uri,
            third_transform, one_transform, refused_c14n, unknown_method, digest_sha512,
            ws_digest)]


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.lists(st.sampled_from(_edits()), max_size=3), ecdsa=st.booleans(),
       sha1=st.booleans())
def test_fast_path_never_accepts_what_the_walk_refuses(
    pki_env: Pki, edits: list[tuple[str, object]], ecdsa: bool, sha1: bool
) -> None:
    key = pki_env.sender_ecdsa if ecdsa else pki_env.sender
    si = _signed_info(sign_bytes(make_doc(), key))
    for _, edit in edits:
        try:
            edit(si)  # type: ignore[operator]
        except IndexError:  # an earlier edit removed what this one changes
            pass
    policy = pki_env.policy(allow_sha1=sha1)
    try:
        fast = v._profile_signed_info(si, policy)
    except Exception as exc:  # pragma: no cover - the fast path never raises
        raise AssertionError(f"fast path raised {exc!r}") from None
    if fast is None:
        return
    _same_reading(si, policy)  # the walk accepts too, and reads the same


def test_relative_namespace_uri_is_a_typed_refusal(pki_env: Pki) -> None:
    data = sign_bytes(make_doc(), pki_env.sender)
    bad = data.replace(b'<edXML:ContentTransferEncoded xmlns:edXML="http://',
                       b'<edXML:ContentTransferEncoded xmlns:edXML="htM//', 1)
    assert bad != data
    with pytest.raises(errors.SignatureStructureError, match="canonicalized"):
        verify_document(bad, pki_env.policy())


def test_certificate_with_unparsable_issuer_is_a_typed_refusal(pki_env: Pki) -> None:
    """The signature verifies with the certificate's key, but its issuer name is not valid
    DER: refused as a certificate error once the path is built (cryptography parses names
    lazily), not as a ValueError."""
    from cryptography.hazmat.primitives import serialization

    key = pki_env.sender
    der = key.certificate.public_bytes(serialization.Encoding.DER)
    issuer = key.certificate.issuer.public_bytes()
    at = der.index(issuer)
    name = b"interchange test PKI"
    i = der.index(name, at, at + len(issuer))
    broken = der[:i] + b"\xff" + der[i + 1:]
    data = sign_bytes(make_doc(), key)
    root = etree.fromstring(data)
    cert_el = root.find(f".//{DS}X509Certificate")
    assert cert_el is not None
    cert_el.text = base64.b64encode(broken).decode()
    tampered = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    with pytest.raises(errors.CertificateError):
        verify_document(tampered, pki_env.policy())


def _b64_reference(text: str | None) -> bytes | type[Exception]:
    try:
        return base64.b64decode("".join((text or "").split()), validate=True)
    except ValueError:
        return errors.SignatureStructureError


@settings(max_examples=300, deadline=None)
@given(st.one_of(
    st.binary(max_size=40).map(lambda b: base64.b64encode(b).decode()),
    st.text(alphabet="ABCDabcd0123+/= \n\t-_*", max_size=24),
    st.none(),
))
def test_b64_decides_as_the_standard_library(text: str | None) -> None:
    try:
        ours: bytes | type[Exception] = v._b64(text, "DigestValue")
    except errors.SignatureStructureError:
        ours = errors.SignatureStructureError
    assert ours == _b64_reference(text)
    if isinstance(text, str) and len(text) > 4:  # line-wrapped values from other signers
        wrapped = text[:4] + "\n" + text[4:]
        try:
            ours = v._b64(wrapped, "DigestValue")
        except errors.SignatureStructureError:
            ours = errors.SignatureStructureError
        assert ours == _b64_reference(wrapped)
