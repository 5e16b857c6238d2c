"""Enveloped XML signatures of edXML documents: sign, verify, trust, and a test PKI.

- ``load_signing_key(key_pem, cert_pem, chain_paths=())`` -> ``SigningKey``;
  ``sign_tree(root, key)`` / ``sign_bytes(data, key)`` / ``sign_document(x, key)`` -> bytes.
- ``VerifyPolicy.from_files(trust_paths, crl_paths, allow_sha1=...)``; build it once, its
  trust store caches certificate paths.
- ``verify_document(data, policy)`` -> ``VerifiedDocument(result, root, signature)``: read
  only from ``.root``.
- ``pki``: the throw-away test PKI (NOT FOR PRODUCTION).
"""

from . import pki
from .policy import VerifyPolicy
from .sign import SigningKey, load_signing_key, sign_bytes, sign_document, sign_tree
from .trust import TrustStore
from .verify import VerificationResult, VerifiedDocument, verify_document, verify_tree

__all__ = [
    "SigningKey",
    "TrustStore",
    "VerificationResult",
    "VerifiedDocument",
    "VerifyPolicy",
    "load_signing_key",
    "pki",
    "sign_bytes",
    "sign_document",
    "sign_tree",
    "verify_document",
    "verify_tree",
]
