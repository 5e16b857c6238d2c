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

import binascii
import datetime as dt
import hmac
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from lxml import etree

from ..edxml.model import DSIG_NS, EDXML_NS
from ..edxml.read import b64decode_strict
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
from .policy import VerifyPolicy
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


class _SignedInfo(NamedTuple):
    """What SignedInfo says, after the structural and algorithm checks."""

    c14n_uri: str
    si_exclusive: bool
    si_prefixes: tuple[str, ...]
    method: alg.SignatureMethod
    doc_exclusive: bool
    doc_prefixes: tuple[str, ...]
    digest_uri: str
    digest_text: str | bytes | None  # DigestValue, still base64
    octets: bytes | None  # canonical SignedInfo, when the profile fast path made it


class _Parsed(NamedTuple):
    """The Signature, after the structural and algorithm checks (a tuple: built per call)."""

    signed_info: etree._Element
    info: _SignedInfo
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
    info = parsed.info

    # SignatureValue over canonical SignedInfo. The leaf is the KeyInfo certificate whose
    # key verifies; a bare KeyValue was already refused (an attacker's own key proves nothing).
    si_bytes = info.octets
    if si_bytes is None:
        si_bytes = _canonical(parsed.signed_info, info.si_exclusive, info.si_prefixes)
    method = info.method
    for leaf in parsed.certs:
        if alg.verify_raw(method, leaf.public_key, parsed.signature_value, si_bytes):
            break
    else:
        raise SignatureValueError("the SignatureValue does not verify with a KeyInfo certificate")
    key_size = getattr(leaf.public_key, "key_size", 0)
    if method.family == "rsa" and key_size < alg.MIN_RSA_BITS:
        raise AlgorithmNotAllowedError(f"RSA key of {key_size} bits; at least 2048 required")

    # Certificate path to a configured anchor, validity, key usage, CRLs (cached per leaf).
    # KeyInfo's other certificates are only candidates for intermediates: an attacker's own
    # CA there never reaches an anchor. (The pool may include the leaf itself: path building
    # never revisits a certificate already in the path.)
    chain = policy.trust.validate(leaf, parsed.certs, policy.current_time())

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
        signature_algorithm=method.uri,
        signature_algorithm_name=method.name,
        digest_algorithm=info.digest_uri,
        c14n_algorithm=info.c14n_uri,
        stripped_hops=stripped,
    )
    return VerifiedDocument(result, root, sig)


# -- structure ---------------------------------------------------------------------------


_EXPECTED: dict[tuple[str, tuple[str, ...]], tuple[str, ...]] = {}


def _children(
    el: etree._Element, ns: str, names: tuple[str, ...], what: str
) -> list[etree._Element]:
    """Element children, which must be exactly ``names`` in order (``?`` suffix: optional)."""
    # Fast path: every child present, in order, nothing else (comments, PIs): one list of
    # tags compared at once. Anything else takes the general walk below (same verdicts).
    full = _EXPECTED.get((ns, names))
    if full is None:
        full = _EXPECTED[ns, names] = tuple(ns + n.rstrip("?") for n in names)
    kids = list(el)
    if len(kids) == len(full) and [c.tag for c in kids] == list(full):
        return kids
    kids = [c for c in kids if isinstance(c.tag, str)]
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


def _b64(text: str | bytes | None, what: str) -> bytes:
    """Strict base64 (``b64decode(validate=True)``), whitespace allowed between characters
    (line-wrapped values from other signers). The unwrapped form is tried first, unchanged."""
    if not text:
        return b""
    try:
        return b64decode_strict(text)
    except (binascii.Error, ValueError):
        pass
    joined = b"".join(text.split()) if isinstance(text, bytes) else "".join(text.split())
    try:
        return b64decode_strict(joined)
    except (binascii.Error, ValueError):
        raise SignatureStructureError(f"{what} is not base64") from None


def _canonical(
    node: etree._Element | etree._ElementTree, exclusive: bool, prefixes: Sequence[str] = ()
) -> bytes:
    """c14n, with libxml2's refusals (e.g. a relative namespace URI) as a typed error."""
    try:
        return c14n(node, exclusive, prefixes)
    except etree.C14NError:
        raise SignatureStructureError("the signed content cannot be canonicalized") from None


_SIGNATURE_NAMES = ("SignedInfo", "SignatureValue", "KeyInfo?")


def _parse_signature(sig: etree._Element, ns: str, policy: VerifyPolicy) -> _Parsed:
    # No Object: the profile signs the document, nothing inside the signature itself.
    signed_info, sig_value, key_info = _children(sig, ns, _SIGNATURE_NAMES, "Signature")
    info = _profile_signed_info(signed_info, policy) if ns == _DS else None
    if info is None:
        info = _signed_info(signed_info, ns, policy)

    if key_info is None:
        raise MissingCertificateError("the signature carries no KeyInfo certificate")
    # = findall("X509Data/X509Certificate") in document order, without ElementPath's
    # Python-level path machinery.
    cert_tag = ns + "X509Certificate"
    cert_els = [c for x in key_info.iterchildren(ns + "X509Data") for c in x.iterchildren(cert_tag)]
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
        info,
        _b64(info.digest_text, "DigestValue"),
        _b64(sig_value.text, "SignatureValue"),
        tuple(certs),
    )


def _signed_info(signed_info: etree._Element, ns: str, policy: VerifyPolicy) -> _SignedInfo:
    """SignedInfo, element by element: every check, every refusal with its own error."""
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
    return _SignedInfo(
        c14n_uri,
        si_exclusive,
        si_prefixes,
        method,
        doc_exclusive,
        doc_prefixes,
        digest_uri,
        digest_value.text,
        None,
    )


# -- the profile's SignedInfo in one comparison --------------------------------------------
#
# Walking SignedInfo element by element (above) is ~40 lxml calls. The profile's SignedInfo
# has one canonical form, so for it one regular-expression match over its exclusive c14n
# (which the signature check needs anyway) says the same thing. Accept-only: any difference
# (another prefix binding, an attribute more, whitespace, a PI, InclusiveNamespaces, inclusive
# c14n declared, a URI off the allow-list) returns None and the element walk decides, with
# its own error. Why a match implies everything the walk checks: exclusive c14n writes every
# element with its prefix and declares a prefix wherever its binding changes, writes every
# attribute (sorted) and every text and PI; comments were removed before verification. So the
# match pins: SignedInfo, CanonicalizationMethod (exclusive c14n, empty), SignatureMethod
# (empty), one Reference with URI="" holding Transforms (enveloped, then optionally one empty
# c14n), DigestMethod (empty) and DigestValue (base64 characters), all in the xmldsig
# namespace, nothing else. The captured URIs then pass the same allow-lists as the walk.

_DS = "{" + DSIG_NS + "}"
_METHODS_B = {uri.encode(): m for uri, m in alg.SIGNATURE_METHODS.items()}
_C14N_B = {uri.encode(): exclusive for uri, exclusive in alg.C14N_ALGORITHMS.items()}
_DIGESTS_B = {uri.encode(): uri for uri in alg.DIGEST_NAMES}


def _si_pattern() -> re.Pattern[bytes]:
    """One pattern for any prefix: group 1 is SignedInfo's prefix (absent: the default
    namespace), and every element after it carries the same one (a conditional
    backreference: no pattern per prefix, nothing a sender can make us compile)."""
    p = r"(?(1)\1:)"

    def empty(name: str, algorithm: str) -> str:
        return "<" + p + name + ' Algorithm="' + algorithm + '"></' + p + name + ">"

    uri = '([^"<>&]*)'  # captured, then looked up in the allow-lists
    source = (
        r"<(?:([^\s:<>=\"'/&]+):)?SignedInfo xmlns(?(1):\1)="
        + re.escape(f'"{DSIG_NS}">')
        + empty("CanonicalizationMethod", re.escape(alg.EXC_C14N))
        + empty("SignatureMethod", uri)
        + f'<{p}Reference URI=""><{p}Transforms>'
        + empty("Transform", re.escape(alg.ENVELOPED))
        + "(?:"
        + empty("Transform", uri)
        + ")?"
        + f"</{p}Transforms>"
        + empty("DigestMethod", uri)
        + f"<{p}DigestValue>([A-Za-z0-9+/=]*)</{p}DigestValue>"
        + f"</{p}Reference></{p}SignedInfo>"
    )
    return re.compile(source.encode())


_SI_PATTERN = _si_pattern()


def _profile_signed_info(signed_info: etree._Element, policy: VerifyPolicy) -> _SignedInfo | None:
    """The profile's SignedInfo, checked in one match (see above); None: walk it instead."""
    try:
        octets = c14n(signed_info, True)
    except etree.C14NError:
        return None
    m = _SI_PATTERN.fullmatch(octets)
    if m is None:
        return None
    _, method_b, transform_b, digest_b, digest_text = m.groups()
    method = _METHODS_B.get(method_b)
    digest_uri = _DIGESTS_B.get(digest_b)
    if method is None or digest_uri is None:
        return None
    if (method.legacy or digest_uri in alg.LEGACY_DIGESTS) and not policy.allow_sha1:
        return None
    doc_exclusive = False  # one transform: node-set to octets is inclusive c14n 1.0
    if transform_b is not None:
        exclusive = _C14N_B.get(transform_b)
        if exclusive is None:
            return None
        doc_exclusive = exclusive
    return _SignedInfo(
        alg.EXC_C14N, True, (), method, doc_exclusive, (), digest_uri, digest_text, octets
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
    info = parsed.info

    def matches() -> bool:
        octets = _canonical(root.getroottree(), info.doc_exclusive, info.doc_prefixes)
        return hmac.compare_digest(alg.digest_of(info.digest_uri, octets), parsed.digest_value)

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
    a second envelope a reader might pick) must not escape the binding check. And in *any*
    namespace: the lenient reader (``schema_mode: lenient``) matches elements by local name,
    so an ``x:From`` placed before the real one would otherwise name the sender unbound."""
    root = header.getroottree().getroot()
    froms = list(root.iter("{*}From"))
    if len(froms) != 1 or froms[0].tag != _E + "From":
        return []
    mh = froms[0].getparent()
    if mh is None or mh.tag != _E + "MessageHeader" or mh.getparent() is not header:
        return []
    return list(froms[0].iterchildren("{*}OrganId"))


def _signer_organ(leaf: CertInfo, policy: VerifyPolicy) -> str:
    """The agency the certificate speaks for: an operator's explicit mapping wins (real CAs
    put other identifiers in UID), else the subject's single UID attribute."""
    if policy.organ_bindings:
        # CertInfo.fingerprint is already lowercase hex, the form the policy's keys are in.
        mapped = policy.organ_bindings.get(leaf.fingerprint)
        if mapped:
            return mapped
    uids = leaf.uids
    if len(uids) != 1 or not uids[0].strip():
        raise SignerBindingError("the certificate carries no single UID agency code and no mapping")
    return uids[0].strip()
