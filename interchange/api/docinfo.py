"""What the operator sees of a stored document's bytes: hops, signature and certificate.

Read-only and unverified: the inbox verified incoming documents when they arrived (its
report is stored); outgoing ones we signed ourselves. This only describes what is there, so
a clerk can see who signed, with which certificate, until when, and the path it took.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib

from cryptography import x509
from lxml import etree

from ..edxml.model import DSIG_NS, EDXML_NS, WIRE_TIMESTAMP
from ..errors import InterchangeError
from ..safexml import parse_bytes
from .schemas import CertificateInfo, Hop, SignatureReport

_DS = {"ds": DSIG_NS}


def _root(data: bytes) -> etree._Element | None:
    try:
        return parse_bytes(data).getroot()
    except InterchangeError:
        return None


_HOPS: dict[str, list[Hop]] = {}


def hops_of(data: bytes, sha256: str | None = None) -> list[Hop]:
    """The trace headers (each hop's agency and time); cached by content hash if given."""
    if sha256 is not None:
        cached = _HOPS.get(sha256)
        if cached is None:
            if len(_HOPS) >= _CACHE_MAX:
                _HOPS.clear()
            cached = _HOPS[sha256] = _hops(data)
        return list(cached)
    return _hops(data)


def _hops(data: bytes) -> list[Hop]:
    root = _root(data)
    if root is None:
        return []
    out: list[Hop] = []
    for th in root.iter(f"{{{EDXML_NS}}}TraceHeader"):
        organ = th.findtext(f"{{{EDXML_NS}}}OrganId")
        stamp = th.findtext(f"{{{EDXML_NS}}}Timestamp")
        when: dt.datetime | None = None
        if stamp:
            try:
                when = dt.datetime.strptime(stamp.strip(), WIRE_TIMESTAMP)
            except ValueError:
                when = None
        out.append(Hop(organ_id=organ.strip() if organ else None, timestamp=when))
    return out


def certificate_info(der: bytes, now: dt.datetime | None = None) -> CertificateInfo:
    cert = x509.load_der_x509_certificate(der)
    now = now or dt.datetime.now(dt.UTC)
    after = cert.not_valid_after_utc
    return CertificateInfo(
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        serial=format(cert.serial_number, "x"),
        not_before=cert.not_valid_before_utc,
        not_after=after,
        days_left=(after - now).days,
        sha256=hashlib.sha256(der).hexdigest(),
    )


_Parts = tuple[bool, str | None, str | None, bytes | None, str | None]
_CACHE: dict[str, _Parts] = {}
_CACHE_MAX = 4096


def _signature_parts(data: bytes) -> _Parts:
    root = _root(data)
    if root is None:
        return (False, None, None, None, "not readable as XML")
    sig = root.find(".//ds:Signature", _DS)
    if sig is None:
        return (False, None, None, None, None)
    method = sig.find("ds:SignedInfo/ds:SignatureMethod", _DS)
    digest = sig.find("ds:SignedInfo/ds:Reference/ds:DigestMethod", _DS)
    cert_text = sig.findtext(".//ds:X509Certificate", namespaces=_DS)
    der: bytes | None = None
    error: str | None = None
    if cert_text:
        try:
            der = base64.b64decode("".join(cert_text.split()), validate=True)
        except ValueError:
            error = "unreadable certificate"
    return (
        True,
        None if method is None else method.get("Algorithm"),
        None if digest is None else digest.get("Algorithm"),
        der,
        error,
    )


def signature_of(sha256: str, data: bytes, *, valid: bool | None = None) -> SignatureReport:
    """Describe the document's signature; parsing is cached by content hash (stored
    documents never change), the certificate's days left are computed on each call."""
    parts = _CACHE.get(sha256)
    if parts is None:
        parts = _signature_parts(data)
        if len(_CACHE) >= _CACHE_MAX:
            _CACHE.clear()
        _CACHE[sha256] = parts
    signed, method, digest, der, error = parts
    cert: CertificateInfo | None = None
    if der is not None:
        try:
            cert = certificate_info(der)
        except ValueError:
            error = "unreadable certificate"
    return SignatureReport(
        signed=signed,
        valid=valid,
        signature_method=method,
        digest_method=digest,
        certificate=cert,
        error=error,
    )
