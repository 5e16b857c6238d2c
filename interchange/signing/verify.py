"""Verification of the strict profile: one enveloped signature over the whole document.

Each check below says which attack it stops. The order is chosen so that an unauthenticated
sender costs us at most one public-key operation: structure and algorithms first, then the
SignatureValue, then the (cached) certificate path, and only then the digest over the whole
document, which may be recomputed when hub-appended trace headers have to be removed.

What the caller reads is ``VerifiedDocument.root``: the tree parsed with comments dropped
(so ``12<!--x-->/KL`` reads ``12/KL``, the text the digest covered), with the Signature
element taken out and any stripped hops removed: exactly the content the digest covered.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hmac
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from lxml import etree

from ..edxml.model import DSIG_NS, EDXML_NS
from ..errors import (
    AlgorithmNotAllowedError,
    CertificateError,
    DigestMismatchError,
    MissingCertificateError,
    NotEdXMLError,
    SignatureStructureError,
    SignatureValueError,
    SignerBindingError,
    TraceHeaderError,
    UnsignedError,
)
from ..safexml import XmlLimits, parse_bytes
from . import algorithms as alg
from .policy import VerifyPolicy, normalize_fingerprint
from .sign import SIGNATURE_TAGS, c14n
from .trust import CertInfo, cert_info_b64

_E = "{" + EDXML_NS + "}"
_ROOT, _ENVELOPE, _HEADER = _E + "edXML", _E + "edXMLEnvelope", _E + "edXMLHeader"
_EXC_NS = "{" + alg.EXC_C14N + "}InclusiveNamespaces"
MAX_KEYINFO_CERTS = 8  # each one may cost a public-key operation on a forged document


@dataclass(frozen=True, slots=True)
class VerificationResult:
    signer_subject: str
    signer_organ: str
    certificate_fingerprint: str  # SHA-256 hex of the signer's certificate
    not_after: dt.datetime
    signature_algorithm: str  # URI
    signature_algorithm_name: str  # e.g. "rsa-sha256"
    digest_algorithm: str  # URI
    c14n_algorithm: str  # URI of CanonicalizationMethod
    stripped_hops: tuple[tuple[str, str], ...] = ()  # (OrganId, Timestamp text) removed


@dataclass(frozen=True, slots=True)
class VerifiedDocument:
    result: VerificationResult
    root: etree._Element  # the verified content only: read from here, never from the input
    signature: etree._Element  # the Signature element, detached


@dataclass(frozen=True, slots=True)
class _Parsed:
    """SignedInfo and friends, after the structural and algorithm checks."""

    signed_info: etree._Element
    c14n_uri: str
    si_exclusive: bool
    si_prefixes: tuple[str, ...]
    method: alg.SignatureMethod
    doc_exclusive: bool
    doc_prefixes: tuple[str, ...]
    digest_uri: str
    digest_value: bytes
    signature_value: bytes
    certs: tuple[CertInfo, ...]


def verify_document(
    data: bytes, policy: VerifyPolicy, limits: XmlLimits | None = None
) -> VerifiedDocument:
    """Parse untrusted bytes and verify them, or raise a typed SignatureError/FormatError."""
    # Safe parser: a DTD, entity or over-deep document is refused before anything else
    # (XXE, billion laughs, attribute defaults that would change what was signed).
    tree = parse_bytes(data, limits or policy.xml_limits, remove_comments=True)
    return _verify(tree.getroot(), policy)


def verify_tree(root: etree._Element, policy: VerifyPolicy) -> VerifiedDocument:
    """Verify an already parsed document root. The tree is modified (comments, Signature
    and stripped hops removed) and becomes ``VerifiedDocument.root``."""
    if next(root.iter(etree.Comment), None) is not None:
        etree.strip_tags(root, etree.Comment)  # merges the text around each comment
    return _verify(root, policy)


def _verify(root: etree._Element, policy: VerifyPolicy) -> VerifiedDocument:
    if root.tag != _ROOT:
        raise NotEdXMLError(f"root element is {root.tag!r}, not edXML in the QCVN 102 namespace")
    if root.getparent() is not None:
        raise SignatureStructureError("verify the document root, not an element inside another")
    # Exactly one signature in the whole document, of either namespace: a second signature
    # is how wrapping attacks smuggle a genuine signature next to forged content.
    sigs = list(root.iter(*SIGNATURE_TAGS))
    if not sigs:
        raise UnsignedError("the document carries no signature")
    if len(sigs) > 1:
        raise SignatureStructureError(f"{len(sigs)} signatures; exactly one is allowed")
    sig = sigs[0]
    ns = DSIG_NS if sig.tag == SIGNATURE_TAGS[0] else EDXML_NS  # iter() matched one of two
    if ns != DSIG_NS and not policy.accept_edxml_ns_signature:
        raise SignatureStructureError(
            "Signature is in the edXML namespace (accepted only as a policy interop option)"
        )
    # Place: a child of edXMLHeader, child of edXMLEnvelope, child of the root. A signature
    # anywhere else (e.g. inside a nested copy of a signed document) is refused.
    header = sig.getparent()
    envelope = header.getparent() if header is not None else None
    if (
        header is None
        or header.tag != _HEADER
        or envelope is None
        or envelope.tag != _ENVELOPE
        or envelope.getparent() is not root
    ):
        raise SignatureStructureError(
            "the Signature is not a child of edXML/edXMLEnvelope/edXMLHeader"
        )
    parsed = _parse_signature(sig, "{" + ns + "}", policy)

    # SignatureValue over canonical SignedInfo. The leaf is the KeyInfo certificate whose
    # key verifies; a bare KeyValue was already refused (an attacker's own key proves nothing).
    si_bytes = c14n(parsed.signed_info, parsed.si_exclusive, parsed.si_prefixes)
    leaf = next(
        (
            c
            for c in parsed.certs
            if alg.verify_raw(parsed.method, c.public_key, parsed.signature_value, si_bytes)
        ),
        None,
    )
    if leaf is None:
        raise SignatureValueError("the SignatureValue does not verify with a KeyInfo certificate")
    key_size = getattr(leaf.public_key, "key_size", 0)
    if parsed.method.family == "rsa" and key_size < alg.MIN_RSA_BITS:
        raise AlgorithmNotAllowedError(f"RSA key of {key_size} bits; at least 2048 required")

    # Certificate path to a configured anchor, validity, key usage, CRLs (cached per leaf).
    # KeyInfo's other certificates are only candidates for intermediates: an attacker's own
    # CA there never reaches an anchor.
    pool = tuple(c for c in parsed.certs if c is not leaf)
    chain = policy.trust.validate(leaf, pool, policy.current_time())

    # Digest over the whole document minus the Signature element (URI="" + enveloped).
    _detach(sig)
    stripped = _check_digest(root, header, parsed, policy)

    # Binding: the signer's agency code must be the sender named in the verified content.
    organ = _signer_organ(leaf, policy)
    from_ids = _from_organ_ids(header)
    if len(from_ids) != 1:
        raise SignerBindingError("the document does not name exactly one From/OrganId")
    sender = (from_ids[0].text or "").strip()
    if sender != organ:
        raise SignerBindingError(
            f"signed by a certificate of {organ}, but From/OrganId is {sender}"
        )

    result = VerificationResult(
        signer_subject=leaf.subject,
        signer_organ=organ,
        certificate_fingerprint=leaf.fingerprint,
        not_after=chain.not_after,
        signature_algorithm=parsed.method.uri,
        signature_algorithm_name=parsed.method.name,
        digest_algorithm=parsed.digest_uri,
        c14n_algorithm=parsed.c14n_uri,
        stripped_hops=stripped,
    )
    return VerifiedDocument(result, root, sig)


# -- structure ---------------------------------------------------------------------------


def _children(el: etree._Element, ns: str, names: Sequence[str], what: str) -> list[etree._Element]:
    """Element children, which must be exactly ``names`` in order (``?`` suffix: optional)."""
    kids = [c for c in el if isinstance(c.tag, str)]
    out: list[etree._Element] = []
    i = 0
    for name in names:
        optional = name.endswith("?")
        tag = ns + name.rstrip("?")
        if i < len(kids) and kids[i].tag == tag:
            out.append(kids[i])
            i += 1
        elif optional:
            out.append(None)  # type: ignore[arg-type]
        else:
            raise SignatureStructureError(f"{what}: expected {name.rstrip('?')}")
    if i != len(kids):
        name = etree.QName(kids[i]).localname
        raise SignatureStructureError(f"{what}: unexpected element {name}")
    return out


def _c14n_of(el: etree._Element, exc_ns: str) -> tuple[str, bool, tuple[str, ...]]:
    uri = el.get("Algorithm", "")
    if uri in alg.KNOWN_REFUSED_C14N:
        raise AlgorithmNotAllowedError(f"canonicalization {uri} is not allowed")
    if uri not in alg.C14N_ALGORITHMS:
        raise SignatureStructureError(f"{uri!r} is not an allowed canonicalization")
    exclusive = alg.C14N_ALGORITHMS[uri]
    prefixes: tuple[str, ...] = ()
    kids = [c for c in el if isinstance(c.tag, str)]
    if kids:
        if not exclusive or len(kids) != 1 or kids[0].tag != exc_ns:
            raise SignatureStructureError("unexpected content in a canonicalization method")
        prefixes = tuple((kids[0].get("PrefixList") or "").split())
        if "#default" in prefixes:
            raise SignatureStructureError("InclusiveNamespaces #default is not supported")
    return uri, exclusive, prefixes


def _b64(text: str | None, what: str) -> bytes:
    try:
        return base64.b64decode("".join((text or "").split()), validate=True)
    except (binascii.Error, ValueError):
        raise SignatureStructureError(f"{what} is not base64") from None


def _parse_signature(sig: etree._Element, ns: str, policy: VerifyPolicy) -> _Parsed:
    # No Object: the profile signs the document, nothing inside the signature itself.
    signed_info, sig_value, key_info = _children(
        sig, ns, ("SignedInfo", "SignatureValue", "KeyInfo?"), "Signature"
    )
    c14n_el, method_el, ref = _children(
        signed_info, ns, ("CanonicalizationMethod", "SignatureMethod", "Reference"), "SignedInfo"
    )
    c14n_uri, si_exclusive, si_prefixes = _c14n_of(c14n_el, _EXC_NS)

    method = alg.SIGNATURE_METHODS.get(method_el.get("Algorithm", ""))
    if method is None or len(method_el):
        raise AlgorithmNotAllowedError(
            f"signature method {method_el.get('Algorithm')!r} is not allowed"
        )
    if method.legacy and not policy.allow_sha1:
        raise AlgorithmNotAllowedError(f"{method.name} is allowed only for legacy peers")

    # One reference, to the whole document. A reference by Id is how a hidden signed copy
    # is made to vouch for attacker content at the root: refused.
    uri = ref.get("URI")
    if uri is None or uri != "":
        raise SignatureStructureError(f'Reference URI must be "" (whole document), got {uri!r}')
    transforms, digest_method, digest_value = _children(
        ref, ns, ("Transforms", "DigestMethod", "DigestValue"), "Reference"
    )
    steps = [t for t in transforms if isinstance(t.tag, str)]
    if (
        not 1 <= len(steps) <= 2
        or any(t.tag != ns + "Transform" for t in steps)
        or steps[0].get("Algorithm") != alg.ENVELOPED
        or len(steps[0])
    ):
        raise SignatureStructureError(
            "transforms must be enveloped-signature, then optionally one c14n"
        )
    if len(steps) == 2:
        _, doc_exclusive, doc_prefixes = _c14n_of(steps[1], _EXC_NS)
    else:  # node-set to octets: inclusive c14n 1.0 (XMLDSig §4.3.3.2)
        doc_exclusive, doc_prefixes = False, ()
    digest_uri = digest_method.get("Algorithm", "")
    if digest_uri not in alg.DIGEST_NAMES or len(digest_method):
        raise AlgorithmNotAllowedError(f"digest {digest_uri!r} is not allowed")
    if digest_uri in alg.LEGACY_DIGESTS and not policy.allow_sha1:
        raise AlgorithmNotAllowedError("sha1 digests are allowed only for legacy peers")

    if key_info is None:
        raise MissingCertificateError("the signature carries no KeyInfo certificate")
    # = findall("X509Data/X509Certificate") in document order, without ElementPath's
    # Python-level path machinery.
    cert_tag = ns + "X509Certificate"
    cert_els = [
        c for x in key_info.iterchildren(ns + "X509Data") for c in x.iterchildren(cert_tag)
    ]
    if not cert_els:
        raise MissingCertificateError("KeyInfo has no X509Certificate (a bare key proves nothing)")
    if len(cert_els) > MAX_KEYINFO_CERTS:
        raise SignatureStructureError(f"more than {MAX_KEYINFO_CERTS} certificates in KeyInfo")
    certs = []
    for el in cert_els:
        try:
            certs.append(cert_info_b64(el.text or ""))
        except ValueError:  # binascii.Error is a ValueError
            raise CertificateError("a KeyInfo certificate is not valid DER") from None
    return _Parsed(
        signed_info,
        c14n_uri,
        si_exclusive,
        si_prefixes,
        method,
        doc_exclusive,
        doc_prefixes,
        digest_uri,
        _b64(digest_value.text, "DigestValue"),
        _b64(sig_value.text, "SignatureValue"),
        tuple(certs),
    )


def _detach(el: etree._Element) -> None:
    """Remove ``el`` but keep the text after it: the enveloped transform removes the element
    node only, and lxml would otherwise drop its tail along with it."""
    parent = el.getparent()
    assert parent is not None
    tail, prev = el.tail, el.getprevious()
    parent.remove(el)
    el.tail = None
    if tail:
        if prev is not None:
            prev.tail = (prev.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail


# -- digest and hub-appended trace headers -----------------------------------------------


def _check_digest(
    root: etree._Element, header: etree._Element, parsed: _Parsed, policy: VerifyPolicy
) -> tuple[tuple[str, str], ...]:
    def matches() -> bool:
        octets = c14n(root.getroottree(), parsed.doc_exclusive, parsed.doc_prefixes)
        return hmac.compare_digest(alg.digest_of(parsed.digest_uri, octets), parsed.digest_value)

    if matches():
        return ()
    stripped = _strip_hops(root, header, policy.max_stripped_hops, matches)
    if stripped is None:
        # The digest cannot say where the change is; a changed sender's own TraceHeader lands
        # here as any other change to signed content (TraceHeaderError is kept for malformed
        # appended hops, below).
        raise DigestMismatchError("the signed content was changed after signing")
    return stripped


def _strip_hops(
    root: etree._Element, header: etree._Element, max_hops: int, matches: Callable[[], bool]
) -> tuple[tuple[str, str], ...] | None:
    """AXIS.md §3: a hub may have appended TraceHeaders after the sender's own. Remove the
    trailing ones, one more at a time, never the sender's own hop, and accept only when the
    rest is byte-for-byte what was signed. Whitespace around an appended hop is tried both
    ways (removed with the hop, or left in place)."""
    thl = header.find(_E + "TraceHeaderList")
    if thl is None or max_hops <= 0:
        return None
    hops = thl.findall(_E + "TraceHeader")
    from_ids = _from_organ_ids(header)
    sender = (from_ids[0].text or "").strip() if len(from_ids) == 1 else None
    saved_text = thl.text
    saved = [(c, c.tail) for c in thl]
    for k in range(1, min(max_hops, len(hops)) + 1):
        removed = hops[-k:]
        if (removed[0].findtext(_E + "OrganId") or "").strip() == sender:
            break  # the sender's own hop is signed content, never stripped
        for keep_space in (False, True):
            for el in removed:
                if keep_space:
                    _detach(el)
                else:
                    thl.remove(el)
            if matches():
                return tuple(_hop(el) for el in removed)
            for c in list(thl):
                thl.remove(c)
            thl.text = saved_text
            for c, tail in saved:
                thl.append(c)
                c.tail = tail
    return None


def _hop(el: etree._Element) -> tuple[str, str]:
    kids = [c for c in el if isinstance(c.tag, str)]
    if [c.tag for c in kids] != [_E + "OrganId", _E + "Timestamp"]:
        raise TraceHeaderError("a trace header appended after signing is malformed")
    return ((kids[0].text or "").strip(), (kids[1].text or "").strip())


# -- binding -----------------------------------------------------------------------------


def _from_organ_ids(header: etree._Element) -> list[etree._Element]:
    """The ``From/OrganId`` elements a reader could take as the sender. ``From`` is searched
    in the whole document, not just under the signed header: a second From anywhere (say in
    a second envelope a reader might pick) must not escape the binding check."""
    root = header.getroottree().getroot()
    froms = list(root.iter(_E + "From"))
    if len(froms) != 1:
        return []
    mh = froms[0].getparent()
    if mh is None or mh.tag != _E + "MessageHeader" or mh.getparent() is not header:
        return []
    return list(froms[0].iterchildren(_E + "OrganId"))


def _signer_organ(leaf: CertInfo, policy: VerifyPolicy) -> str:
    """The agency the certificate speaks for: an operator's explicit mapping wins (real CAs
    put other identifiers in UID), else the subject's single UID attribute."""
    mapped = policy.organ_bindings.get(normalize_fingerprint(leaf.fingerprint))
    if mapped:
        return mapped
    uids = leaf.uids
    if len(uids) != 1 or not uids[0].strip():
        raise SignerBindingError("the certificate carries no single UID agency code and no mapping")
    return uids[0].strip()
