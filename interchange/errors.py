"""One tree of typed errors.

Every error carries a short machine ``code`` and a message a clerk can act on. Faces turn
them into exit codes (CLI), HTTP statuses (API, hub) and the reason of a status-02 refusal.
``str(err)`` is always one line.
"""

from __future__ import annotations


class InterchangeError(Exception):
    """Base of every error this project raises on purpose."""

    code = "error"

    def __init__(self, message: str) -> None:
        # One line, always: a reason goes into a status message and a terminal.
        super().__init__(" ".join(str(message).split()))

    @property
    def message(self) -> str:
        return str(self)


# --- configuration and usage -------------------------------------------------------------


class ConfigError(InterchangeError):
    """A setting, file or argument is missing or unsafe."""

    code = "config"


# --- format: XML, edXML, schemas, payloads -----------------------------------------------


class FormatError(InterchangeError):
    """The bytes are not a document we can read."""

    code = "format"


class NotXMLError(FormatError):
    """Not well-formed XML (or stray bytes before the declaration)."""

    code = "not-xml"


class UnsafeXMLError(FormatError):
    """A DTD, an entity declaration, or a document over the size/depth limits."""

    code = "unsafe-xml"


class NotEdXMLError(FormatError):
    """Well-formed XML, but not an edXML document or status message."""

    code = "not-edxml"


class AttachmentError(FormatError):
    """An attachment that cannot be decoded (not base64) or has no manifest entry."""

    code = "attachment"

    def __init__(self, message: str, *, content_id: str | None = None) -> None:
        super().__init__(message)
        self.content_id = content_id


class SchemaError(FormatError):
    """The document breaks an XSD. Names the element path and line."""

    code = "schema"

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None) -> None:
        where = []
        if path:
            where.append(path)
        if line:
            where.append(f"line {line}")
        super().__init__(f"{message} ({', '.join(where)})" if where else message)
        self.path = path
        self.line = line


class PayloadError(FormatError):
    """A structured part (conclusion, report, directive, follow-up) is invalid."""

    code = "payload"


# --- signatures and certificates ---------------------------------------------------------


class SignatureError(InterchangeError):
    """Base of every verification failure: the document must be refused."""

    code = "signature"


class UnsignedError(SignatureError):
    code = "unsigned"


class SignatureStructureError(SignatureError):
    """Not the one enveloped signature of our profile: count, place, reference, transforms."""

    code = "signature-structure"


class AlgorithmNotAllowedError(SignatureError):
    code = "algorithm"


class DigestMismatchError(SignatureError):
    """The signed content was changed after signing."""

    code = "digest-mismatch"


class SignatureValueError(SignatureError):
    """The SignatureValue does not verify with the certificate's key."""

    code = "signature-value"


class CertificateError(SignatureError):
    code = "certificate"


class MissingCertificateError(CertificateError):
    """KeyInfo has no X.509 certificate (a bare key proves nothing)."""

    code = "no-certificate"


class UntrustedCertificateError(CertificateError):
    code = "untrusted"


class ExpiredCertificateError(CertificateError):
    code = "expired"


class RevokedCertificateError(CertificateError):
    code = "revoked"


class KeyUsageError(CertificateError):
    code = "key-usage"


class CrlError(CertificateError):
    """A configured CRL for a CA in the path is not current or not signed by that CA."""

    code = "crl"


class SignerBindingError(SignatureError):
    """The certificate does not belong to the agency in From/OrganId."""

    code = "wrong-signer"


class TraceHeaderError(SignatureError):
    """Something other than hub-appended trace headers changed under the signature."""

    code = "trace-changed"


# --- agencies ----------------------------------------------------------------------------


class OrganError(InterchangeError):
    code = "organ"


class OrganCodeError(OrganError):
    """An agency code that is not in a form we accept."""

    code = "organ-code"


class UnknownOrganError(OrganError):
    code = "unknown-organ"


class DirectoryError(OrganError):
    """A directory file that cannot be loaded (cycle, duplicate, bad parent)."""

    code = "directory"


# --- transport and delivery --------------------------------------------------------------


class AxisError(InterchangeError):
    code = "axis"


class TransportError(AxisError):
    """The axis could not be reached or answered garbage: retry later."""

    code = "transport"


class RefusedError(AxisError):
    """The axis understood and refused (bad HMAC, unknown recipient, ...): do not retry."""

    code = "refused"

    def __init__(self, message: str, *, error_code: str = "1") -> None:
        super().__init__(message)
        self.error_code = error_code


class AuthenticationError(RefusedError):
    code = "auth"


class DeliveryError(InterchangeError):
    code = "delivery"


class NotFoundError(InterchangeError):
    code = "not-found"


class PermissionDeniedError(InterchangeError):
    code = "forbidden"


# --- operators -----------------------------------------------------------------------------


class AuditChainError(InterchangeError):
    """The audit log's hash chain is broken: an entry was altered, removed or moved."""

    code = "audit-chain"


# --- storage -----------------------------------------------------------------------------


class MigrationError(InterchangeError):
    """A database upgrade failed; it was rolled back, so the database is as it was."""

    code = "migration"
