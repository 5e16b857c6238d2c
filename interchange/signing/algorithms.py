"""Algorithm URIs of the strict signing profile, and the raw crypto behind each.

Why an allow-list of URIs rather than "whatever the library supports": every algorithm we
accept is one more way for a forged signature to verify. SHA-1 (digest or RSA-SHA1) is only
accepted when a policy opts in for legacy peers (the SDK samples still use it).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

DSIG = "http://www.w3.org/2000/09/xmldsig#"

# Canonicalization
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
C14N10 = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
C14N_ALGORITHMS = {EXC_C14N: True, C14N10: False}  # URI -> exclusive?
# c14n URIs we recognise as canonicalization but refuse (comments, 1.1): AlgorithmNotAllowed.
KNOWN_REFUSED_C14N = frozenset(
    {
        "http://www.w3.org/2001/10/xml-exc-c14n#WithComments",
        "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments",
        "http://www.w3.org/2006/12/xml-c14n11",
        "http://www.w3.org/2006/12/xml-c14n11#WithComments",
    }
)

ENVELOPED = DSIG + "enveloped-signature"

# Digests
SHA1 = DSIG + "sha1"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
SHA384 = "http://www.w3.org/2001/04/xmldsig-more#sha384"
SHA512 = "http://www.w3.org/2001/04/xmlenc#sha512"

DIGEST_NAMES = {SHA256: "sha256", SHA384: "sha384", SHA512: "sha512", SHA1: "sha1"}
LEGACY_DIGESTS = frozenset({SHA1})

# Signature methods
RSA_SHA1 = DSIG + "rsa-sha1"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
RSA_SHA384 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384"
RSA_SHA512 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512"
ECDSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
ECDSA_SHA384 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384"
ECDSA_SHA512 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512"

MIN_RSA_BITS = 2048


@dataclass(frozen=True, slots=True)
class SignatureMethod:
    uri: str
    name: str  # short name, e.g. "rsa-sha256"
    family: str  # "rsa" | "ecdsa"
    hash: type[hashes.HashAlgorithm]
    legacy: bool = False


SIGNATURE_METHODS: dict[str, SignatureMethod] = {
    m.uri: m
    for m in (
        SignatureMethod(RSA_SHA256, "rsa-sha256", "rsa", hashes.SHA256),
        SignatureMethod(RSA_SHA384, "rsa-sha384", "rsa", hashes.SHA384),
        SignatureMethod(RSA_SHA512, "rsa-sha512", "rsa", hashes.SHA512),
        SignatureMethod(ECDSA_SHA256, "ecdsa-sha256", "ecdsa", hashes.SHA256),
        SignatureMethod(ECDSA_SHA384, "ecdsa-sha384", "ecdsa", hashes.SHA384),
        SignatureMethod(ECDSA_SHA512, "ecdsa-sha512", "ecdsa", hashes.SHA512),
        SignatureMethod(RSA_SHA1, "rsa-sha1", "rsa", hashes.SHA1, legacy=True),
    )
}
BY_NAME = {m.name: m for m in SIGNATURE_METHODS.values()}
# Stateless parameter objects, made once instead of per verification.
_PKCS1V15 = padding.PKCS1v15()
_HASHES: dict[type[hashes.HashAlgorithm], hashes.HashAlgorithm] = {
    m.hash: m.hash() for m in SIGNATURE_METHODS.values()
}


_HASHLIB = {
    SHA256: hashlib.sha256,
    SHA384: hashlib.sha384,
    SHA512: hashlib.sha512,
    SHA1: hashlib.sha1,
}


def digest_of(uri: str, data: bytes) -> bytes:
    # hashlib (OpenSSL underneath too) has less per-call overhead than cryptography's Hash;
    # its named constructors less than hashlib.new(name).
    return _HASHLIB[uri](data).digest()


def _ec_size(key: ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey) -> int:
    return (key.curve.key_size + 7) // 8


def sign_raw(
    method: SignatureMethod, key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, data: bytes
) -> bytes:
    """Sign ``data``; ECDSA values are the XMLDSig raw ``r || s``, not DER."""
    if method.family == "rsa":
        assert isinstance(key, rsa.RSAPrivateKey)
        return key.sign(data, padding.PKCS1v15(), method.hash())
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    r, s = decode_dss_signature(key.sign(data, ec.ECDSA(method.hash())))
    size = _ec_size(key)
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


def verify_raw(method: SignatureMethod, key: object, value: bytes, data: bytes) -> bool:
    """True when ``value`` is a signature of ``data`` by ``key``; a key of the wrong type fails."""
    try:
        if method.family == "rsa":
            if not isinstance(key, rsa.RSAPublicKey):
                return False
            key.verify(value, data, _PKCS1V15, _HASHES[method.hash])
            return True
        if not isinstance(key, ec.EllipticCurvePublicKey):
            return False
        size = _ec_size(key)
        if len(value) != 2 * size:
            return False
        r = int.from_bytes(value[:size], "big")
        s = int.from_bytes(value[size:], "big")
        key.verify(encode_dss_signature(r, s), data, ec.ECDSA(_HASHES[method.hash]))
        return True
    except (InvalidSignature, ValueError):
        return False
