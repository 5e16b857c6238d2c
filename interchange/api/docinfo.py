"""What the operator sees of a stored document's bytes: hops, signature and certificate.

Read-only and unverified: the inbox verified incoming documents when they arrived (its
report is stored); outgoing ones we signed ourselves. This only describes what is there, so
a clerk can see who signed, with which certificate, until when, and the path it took.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
from collections.abc import Callable
from typing import Any

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
        return _cached_hops(sha256, lambda: data)
    return _hops(data)


def _cached_hops(sha256: str, data: Callable[[], bytes]) -> list[Hop]:
    cached = _HOPS.get(sha256)
    if cached is None:
        cached = _remember(_HOPS, sha256, _hops(data()))
    return list(cached)


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
    subject, issuer, serial, before, after, digest = _certificate_fields(der)
    now = now or dt.datetime.now(dt.UTC)
    return CertificateInfo(
        subject=subject,
        issuer=issuer,
        serial=serial,
        not_before=before,
        not_after=after,
        days_left=(after - now).days,
        sha256=digest,
    )


@functools.lru_cache(maxsize=1024)
def _certificate_fields(der: bytes) -> tuple[str, str, str, dt.datetime, dt.datetime, str]:
    """What never changes in a certificate (parsing it costs more than the rest of a page)."""
    cert = x509.load_der_x509_certificate(der)
    return (
        cert.subject.rfc4514_string(),
        cert.issuer.rfc4514_string(),
        format(cert.serial_number, "x"),
        cert.not_valid_before_utc,
        cert.not_valid_after_utc,
        hashlib.sha256(der).hexdigest(),
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
    return _report(_parts_of(sha256, lambda: data), valid)


def describe(sha256: str, load: Callable[[], bytes]) -> tuple[list[Hop], SignatureReport]:
    """Hops and signature of a stored document, reading its bytes (``load``) only when the
    caches do not know its hash: a dashboard asks for the same documents over and over, and
    a document's bytes can be megabytes."""
    loaded: list[bytes] = []

    def data() -> bytes:
        if not loaded:
            loaded.append(load())
        return loaded[0]

    return _cached_hops(sha256, data), _report(_parts_of(sha256, data), None)


def _remember(cache: dict[str, Any], key: str, value: Any) -> Any:
    if len(cache) >= _CACHE_MAX:
        cache.clear()
    cache[key] = value
    return value


def _parts_of(sha256: str, data: Callable[[], bytes]) -> _Parts:
    parts = _CACHE.get(sha256)
    if parts is None:
        parts = _remember(_CACHE, sha256, _signature_parts(data()))
    return parts


def _report(parts: _Parts, valid: bool | None) -> SignatureReport:
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
