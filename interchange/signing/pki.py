"""A throw-away PKI for tests and the demo. NOT FOR PRODUCTION.

Keys are written unencrypted, the CA lives in a plain directory, nothing is audited. Real
agencies get certificates from the government's specialised CA or a licensed public CA.

Layout of a CA directory: ``ca.key.pem``, ``ca.cert.pem`` (the CA's chain, CA first),
``crl.pem``; each issued agency certificate as ``CODE.key.pem`` and ``CODE.cert.pem``
(leaf, then the CA chain).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from ..errors import ConfigError

WARNING = "NOT FOR PRODUCTION: throw-away test PKI of the interchange project"
_HEADER = f"# {WARNING}\n".encode()
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
_CODE_RE = re.compile(r"^[A-Za-z0-9.\-_]{1,64}$")


@dataclass(frozen=True)
class Ca:
    dir: Path
    key: PrivateKey
    cert: x509.Certificate
    chain: tuple[x509.Certificate, ...]  # the CA's own issuers (empty for a root)

    @property
    def cert_path(self) -> Path:
        return self.dir / "ca.cert.pem"

    @property
    def crl_path(self) -> Path:
        return self.dir / "crl.pem"

    @property
    def key_path(self) -> Path:
        return self.dir / "ca.key.pem"


def _new_key(ecdsa: bool) -> PrivateKey:
    if ecdsa:
        return ec.generate_private_key(ec.SECP256R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _write_all(files: list[tuple[Path, bytes, bool]]) -> None:
    """Write ``(path, data, private)`` files all or nothing: each to a temporary file beside
    it, flushed to disk, then renamed into place. A full disk leaves no half-written file and
    keeps what was there before; a private file is never readable by others, even briefly."""
    temps: list[tuple[Path, Path]] = []
    path = files[0][0] if files else Path()
    try:
        for path, data, private in files:
            tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600 if private else 0o666)
            temps.append((tmp, path))
            with os.fdopen(fd, "wb") as fh:
                fh.write(_HEADER + data)
                fh.flush()
                os.fsync(fh.fileno())
        for tmp, path in temps:
            os.replace(tmp, path)
    except OSError as exc:
        for tmp, _ in temps:
            with contextlib.suppress(OSError):
                tmp.unlink()
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from None


def _make_dirs(directory: Path) -> list[Path]:
    """``mkdir -p``; returns the directories it created, outermost first (to undo)."""
    missing = [p for p in (directory, *directory.parents) if not p.exists()][::-1]
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        _remove_dirs(missing)
        raise ConfigError(f"cannot create {directory}: {exc.strerror or exc}") from None
    return missing


def _remove_dirs(created: list[Path]) -> None:
    for d in reversed(created):
        with contextlib.suppress(OSError):
            d.rmdir()  # only if still empty


def _key_pem(key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _cert_pem(*certs: x509.Certificate) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def init_ca(
    directory: str | Path,
    *,
    ecdsa: bool = False,
    name: str = "Interchange TEST CA",
    days: int = 3650,
    parent: Ca | None = None,
) -> Ca:
    """Create a CA (self-signed, or an intermediate under ``parent``) and an empty CRL."""
    d = Path(directory)
    if (d / "ca.key.pem").exists():
        raise ConfigError(f"a test CA already exists in {d}")
    if d.exists() and not d.is_dir():
        raise ConfigError(f"{d} is not a directory")
    key = _new_key(ecdsa)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, f"{name} (NOT FOR PRODUCTION)"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "interchange test PKI"),
        ]
    )
    issuer_name, issuer_key = (parent.cert.subject, parent.key) if parent else (subject, key)
    now = _now()
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(
            x509.BasicConstraints(ca=True, path_length=None if parent is None else 0), critical=True
        )
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(ski, critical=False)
    )
    if parent is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(parent.key.public_key()),
            critical=False,
        )
    cert = builder.sign(issuer_key, hashes.SHA256())
    chain = (parent.cert, *parent.chain) if parent else ()
    ca = Ca(d, key, cert, chain)
    created = _make_dirs(d)
    try:
        _write_all(
            [
                (ca.key_path, _key_pem(key), True),
                (ca.cert_path, _cert_pem(cert, *chain), False),
                (ca.crl_path, _crl_pem(ca, [], 30), False),
            ]
        )
    except ConfigError:
        _remove_dirs(created)
        raise
    return ca


def load_ca(directory: str | Path) -> Ca:
    d = Path(directory)
    try:
        key = serialization.load_pem_private_key((d / "ca.key.pem").read_bytes(), None)
        certs = x509.load_pem_x509_certificates((d / "ca.cert.pem").read_bytes())
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"no test CA in {d}: run `interchange pki init --dir {d}` ({exc})"
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise ConfigError("unsupported CA key type")
    return Ca(d, key, certs[0], tuple(certs[1:]))


def issue(
    ca_dir: str | Path,
    code: str,
    *,
    name: str | None = None,
    days: int = 365,
    not_before: dt.datetime | None = None,
    expired: bool = False,
    ecdsa: bool = False,
    uid: bool = True,
    out_dir: str | Path | None = None,
    overwrite: bool = True,
) -> tuple[Path, Path]:
    """Issue an agency signing certificate (subject UID = ``code``); returns (key, cert) paths.
    ``expired`` makes one that ended yesterday; ``not_before`` one that starts later (tests).
    ``overwrite=False`` refuses to replace a key and certificate already issued there."""
    if not _CODE_RE.match(code):
        raise ConfigError(f"agency code {code!r} cannot name a file")
    ca = load_ca(ca_dir)
    out = Path(out_dir) if out_dir else ca.dir
    key_path, cert_path = out / f"{code}.key.pem", out / f"{code}.cert.pem"
    if not overwrite and (key_path.exists() or cert_path.exists()):
        raise ConfigError(
            f"{code} already has a key or certificate in {out}: give --force to replace them "
            "(the old certificate stays valid until it is revoked)"
        )
    key = _new_key(ecdsa)
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, name or code)]
    if uid:
        attrs.insert(0, x509.NameAttribute(NameOID.USER_ID, code))
    now = _now()
    if expired:
        start, end = now - dt.timedelta(days=days + 1), now - dt.timedelta(days=1)
    else:
        start = not_before or now - dt.timedelta(hours=1)
        if start.tzinfo is None:
            start = start.replace(tzinfo=dt.UTC)
        end = start + dt.timedelta(days=days)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name(attrs))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, True, False, False, False, False, False, False, False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False
        )
        .sign(ca.key, hashes.SHA256())
    )
    created = _make_dirs(out)
    try:
        _write_all(
            [
                (key_path, _key_pem(key), True),
                (cert_path, _cert_pem(cert, ca.cert, *ca.chain), False),
            ]
        )
    except ConfigError:
        _remove_dirs(created)
        raise
    return key_path, cert_path


def _read_crl(ca: Ca) -> list[x509.RevokedCertificate]:
    """What the CRL lists; none when there is no ``crl.pem``. A damaged one is refused, not
    replaced: starting afresh would silently un-revoke every certificate it listed."""
    path = ca.crl_path
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    advice = "restore it or remove it to start an empty list"
    try:
        crl = x509.load_pem_x509_crl(data)
    except ValueError:
        raise ConfigError(f"{path} is damaged: not a readable PEM CRL; {advice}") from None
    if crl.issuer != ca.cert.subject or not crl.is_signature_valid(ca.key.public_key()):
        raise ConfigError(f"{path} is damaged: not signed by this CA; {advice}")
    return list(crl)


def _crl_pem(ca: Ca, entries: list[x509.RevokedCertificate], days: int) -> bytes:
    now = _now()
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca.cert.subject)
        .last_update(now - dt.timedelta(minutes=5))
        .next_update(now + dt.timedelta(days=days))
    )
    for entry in entries:
        builder = builder.add_revoked_certificate(entry)
    return builder.sign(ca.key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def write_crl(
    ca_dir: str | Path, *, days: int = 30, revoked: list[x509.RevokedCertificate] | None = None
) -> Path:
    """(Re)issue the CRL, keeping what it already lists; valid from now for ``days``."""
    ca = load_ca(ca_dir)
    entries = _read_crl(ca) if revoked is None else revoked
    _write_all([(ca.crl_path, _crl_pem(ca, entries, days), False)])
    return ca.crl_path


def revoke(ca_dir: str | Path, code: str, *, cert_path: str | Path | None = None) -> Path:
    """Add the agency's certificate (``DIR/CODE.cert.pem`` by default) to the CRL."""
    if cert_path is None and not _CODE_RE.match(code):
        raise ConfigError(f"agency code {code!r} cannot name a file")
    ca = load_ca(ca_dir)
    entries = _read_crl(ca)  # a damaged CRL is refused before anything else
    path = Path(cert_path) if cert_path else ca.dir / f"{code}.cert.pem"
    try:
        cert = x509.load_pem_x509_certificates(path.read_bytes())[0]
    except (OSError, ValueError) as exc:
        raise ConfigError(f"no certificate for {code} at {path}: {exc}") from None
    if all(e.serial_number != cert.serial_number for e in entries):
        entries.append(
            x509.RevokedCertificateBuilder()
            .serial_number(cert.serial_number)
            .revocation_date(_now() - dt.timedelta(minutes=1))
            .build()
        )
    return write_crl(ca.dir, revoked=entries)
