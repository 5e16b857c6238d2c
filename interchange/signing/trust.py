"""Certificate path validation to configured trust anchors, with CRLs and a result cache.

Why our own path building (on ``cryptography``'s ``verify_directly_issued_by``) rather than
``cryptography.x509.verification`` or pyhanko-certvalidator: the former enforces the Web PKI
(CA/B Forum) profile, which government CAs and our throw-away PKI do not follow, and has no
CRLs; the latter is correct but costs milliseconds per path. Paths here are short (leaf,
maybe an intermediate, an anchor); the rules are RFC 5280's essentials, each spelled out below.
A validated path is cached per leaf until the earliest ``not_after`` in it or ``next_update``
of a CRL that applied, so many documents from one sender cost one dictionary lookup.
"""

from __future__ import annotations

import base64
import datetime as dt
import itertools
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import ExtensionOID, NameOID

from ..errors import (
    CertificateError,
    ConfigError,
    CrlError,
    ExpiredCertificateError,
    KeyUsageError,
    RevokedCertificateError,
    UntrustedCertificateError,
)

MAX_PATH = 6
_KNOWN_CRITICAL = frozenset(
    {
        ExtensionOID.BASIC_CONSTRAINTS,
        ExtensionOID.KEY_USAGE,
        ExtensionOID.EXTENDED_KEY_USAGE,
        ExtensionOID.SUBJECT_ALTERNATIVE_NAME,
        ExtensionOID.CERTIFICATE_POLICIES,
    }
)


@dataclass(frozen=True, slots=True)
class CertInfo:
    """A parsed certificate with what verification needs, computed once per distinct DER."""

    cert: x509.Certificate
    fingerprint: str  # SHA-256, lowercase hex
    public_key: object
    subject: str  # RFC 4514
    uids: tuple[str, ...]  # subject UID attributes (0.9.2342.19200300.100.1.1)


_CERTS: dict[str, CertInfo] = {}
_CERTS_LOCK = threading.Lock()


def cert_info_b64(text: str) -> CertInfo:
    """Parse an ``X509Certificate`` element's base64 text (cached by the text itself, so a
    sender's certificate is decoded and parsed once). ValueError if not a certificate."""
    info = _CERTS.get(text)
    if info is None:
        try:
            info = info_of(
                x509.load_der_x509_certificate(
                    base64.b64decode("".join(text.split()), validate=True)
                )
            )
        except UnsupportedAlgorithm as exc:  # e.g. a key type cryptography cannot load
            raise ValueError(str(exc)) from None
        with _CERTS_LOCK:
            if len(_CERTS) > 2048:
                _CERTS.clear()
            _CERTS[text] = info
    return info


def info_of(cert: x509.Certificate) -> CertInfo:
    uids = tuple(str(a.value) for a in cert.subject if a.oid == NameOID.USER_ID)
    return CertInfo(
        cert,
        cert.fingerprint(hashes.SHA256()).hex(),
        cert.public_key(),
        cert.subject.rfc4514_string(),
        uids,
    )


@dataclass(frozen=True, slots=True)
class ChainResult:
    """A validated path, leaf first, anchor last, and the window in which it stays valid."""

    path: tuple[x509.Certificate, ...]
    leaf_fingerprint: str
    valid_from: dt.datetime
    valid_until: dt.datetime
    not_after: dt.datetime  # earliest not_after in the path


class TrustStore:
    """Anchors and CRLs, parsed once; validated paths cached per leaf fingerprint."""

    def __init__(
        self,
        anchors: Iterable[x509.Certificate],
        crls: Iterable[x509.CertificateRevocationList] = (),
        *,
        allow_sha1: bool = False,
        max_cache: int = 4096,
    ) -> None:
        self.anchors = tuple(info_of(c) for c in anchors)
        self._anchor_fps = {a.fingerprint for a in self.anchors}
        self._by_subject: dict[bytes, list[CertInfo]] = {}
        for a in self.anchors:
            self._by_subject.setdefault(a.cert.subject.public_bytes(), []).append(a)
        self.crls = tuple(crls)
        self.allow_sha1 = allow_sha1
        self._cache: dict[str, ChainResult] = {}
        self._max_cache = max_cache

    @classmethod
    def from_files(
        cls,
        trust_paths: Sequence[str | Path],
        crl_paths: Sequence[str | Path] = (),
        *,
        allow_sha1: bool = False,
    ) -> TrustStore:
        return cls(load_certificates(trust_paths), load_crls(crl_paths), allow_sha1=allow_sha1)

    def validate(self, leaf: CertInfo, pool: Sequence[CertInfo], now: dt.datetime) -> ChainResult:
        """A path from ``leaf`` through ``pool`` (KeyInfo's other certs) to an anchor, or raise."""
        hit = self._cache.get(leaf.fingerprint)
        if hit is not None and hit.valid_from <= now < hit.valid_until:
            return hit
        try:
            result = self._validate(leaf, pool, now)
        except ValueError as exc:  # cryptography parses names and extensions lazily
            raise CertificateError(f"a certificate in the path cannot be parsed: {exc}") from None
        if len(self._cache) >= self._max_cache:
            self._cache.clear()
        self._cache[leaf.fingerprint] = result
        return result

    # -- the uncached path --------------------------------------------------------------

    def _validate(self, leaf: CertInfo, pool: Sequence[CertInfo], now: dt.datetime) -> ChainResult:
        path = self._build(leaf, pool)
        anchored = path[-1].fingerprint in self._anchor_fps
        assert anchored
        windows_from = [c.cert.not_valid_before_utc for c in path]
        windows_until = [c.cert.not_valid_after_utc for c in path]
        # Validity of every certificate, the anchor included: an expired CA proves nothing.
        for c in path:
            if now > c.cert.not_valid_after_utc:
                raise ExpiredCertificateError(
                    f"certificate {c.cert.subject.rfc4514_string()} expired on "
                    f"{c.cert.not_valid_after_utc:%Y-%m-%d}"
                )
            if now < c.cert.not_valid_before_utc:
                raise ExpiredCertificateError(
                    f"certificate {c.cert.subject.rfc4514_string()} is not valid before "
                    f"{c.cert.not_valid_before_utc:%Y-%m-%d}"
                )
        # The signer's key must be meant for signatures when the certificate says what for.
        ku = _ext(leaf.cert, x509.KeyUsage)
        if ku is not None and not ku.digital_signature:
            raise KeyUsageError("the signer's certificate does not allow digitalSignature")
        # Revocation: every configured CRL issued by a CA in the path (signature and dates
        # checked) must not list the certificate below that CA.
        for child, issuer in itertools.pairwise(path):
            for crl in self.crls:
                if crl.issuer != issuer.cert.subject:
                    continue
                if not crl.is_signature_valid(issuer.public_key):  # type: ignore[arg-type]
                    raise CrlError(f"the CRL of {crl.issuer.rfc4514_string()} has a bad signature")
                if now < crl.last_update_utc or (
                    crl.next_update_utc is not None and now > crl.next_update_utc
                ):
                    raise CrlError(f"the CRL of {crl.issuer.rfc4514_string()} is not current")
                windows_from.append(crl.last_update_utc)
                if crl.next_update_utc is not None:
                    windows_until.append(crl.next_update_utc)
                if crl.get_revoked_certificate_by_serial_number(child.cert.serial_number):
                    raise RevokedCertificateError(
                        f"certificate {child.cert.subject.rfc4514_string()} is revoked"
                    )
        return ChainResult(
            tuple(c.cert for c in path),
            leaf.fingerprint,
            max(windows_from),
            min(windows_until),
            min(c.cert.not_valid_after_utc for c in path),
        )

    def _build(self, leaf: CertInfo, pool: Sequence[CertInfo]) -> list[CertInfo]:
        # A certificate configured as an anchor is trusted as itself (pinned signer).
        path = [leaf]
        if leaf.fingerprint in self._anchor_fps:
            return path
        current = leaf
        for _ in range(MAX_PATH):
            self._check_critical(current)
            # Anchors first, by real signature check: a look-alike CA the attacker put in
            # KeyInfo (same name, own key) never verifies against the configured anchor key.
            for anchor in self._by_subject.get(current.cert.issuer.public_bytes(), ()):
                if self._issued_by(current, anchor):
                    self._check_ca(anchor, len(path) - 1, is_anchor=True)
                    path.append(anchor)
                    return path
            seen = {c.fingerprint for c in path}
            nxt = next(
                (
                    c
                    for c in pool
                    if c.fingerprint not in seen
                    and c.cert.subject == current.cert.issuer
                    and self._issued_by(current, c)
                ),
                None,
            )
            if nxt is None:
                raise UntrustedCertificateError(
                    f"no path from {leaf.cert.subject.rfc4514_string()} to a trusted CA"
                )
            # An intermediate from KeyInfo must be a CA allowed to sign certificates.
            self._check_ca(nxt, len(path) - 1, is_anchor=False)
            path.append(nxt)
            current = nxt
        raise UntrustedCertificateError("certificate path too long")

    def _issued_by(self, child: CertInfo, issuer: CertInfo) -> bool:
        algo = child.cert.signature_hash_algorithm
        if isinstance(algo, hashes.SHA1) and not self.allow_sha1:
            return False
        try:
            child.cert.verify_directly_issued_by(issuer.cert)
        except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
            return False
        return True

    @staticmethod
    def _check_ca(ca: CertInfo, below: int, *, is_anchor: bool) -> None:
        bc = _ext(ca.cert, x509.BasicConstraints)
        name = ca.cert.subject.rfc4514_string()
        if bc is None:
            if not is_anchor:  # anchors are trusted by configuration; intermediates must say
                raise UntrustedCertificateError(f"{name} is not a CA certificate")
        elif not bc.ca:
            raise UntrustedCertificateError(f"{name} is not a CA certificate")
        elif bc.path_length is not None and below > bc.path_length:
            raise UntrustedCertificateError(f"{name}: path length constraint exceeded")
        ku = _ext(ca.cert, x509.KeyUsage)
        if ku is not None and not ku.key_cert_sign:
            raise UntrustedCertificateError(f"{name} may not sign certificates")

    @staticmethod
    def _check_critical(c: CertInfo) -> None:
        for ext in c.cert.extensions:
            if ext.critical and ext.oid not in _KNOWN_CRITICAL:
                raise UntrustedCertificateError(
                    f"unsupported critical extension {ext.oid.dotted_string}"
                )


_E = TypeVar("_E", bound=x509.ExtensionType)


def _ext(cert: x509.Certificate, kind: type[_E]) -> _E | None:
    try:
        return cert.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None


def load_certificates(paths: Iterable[str | Path]) -> list[x509.Certificate]:
    out: list[x509.Certificate] = []
    for p in paths:
        try:
            data = Path(p).read_bytes()
            out.extend(
                x509.load_pem_x509_certificates(data)
                if b"-----BEGIN" in data
                else [x509.load_der_x509_certificate(data)]
            )
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot load certificate {p}: {exc}") from None
    return out


def load_crls(paths: Iterable[str | Path]) -> list[x509.CertificateRevocationList]:
    out = []
    for p in paths:
        try:
            data = Path(p).read_bytes()
            out.append(
                x509.load_pem_x509_crl(data)
                if b"-----BEGIN" in data
                else x509.load_der_x509_crl(data)
            )
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot load CRL {p}: {exc}") from None
    return out
