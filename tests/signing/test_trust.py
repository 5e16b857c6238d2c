"""Certificate paths, CRLs and the chain cache."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree

from interchange import errors
from interchange.signing import SigningKey, TrustStore, VerifyPolicy, sign_bytes, verify_document
from interchange.signing.trust import info_of

from .conftest import DS, SENDER, Pki, make_doc


def test_chain_through_intermediate(pki_env: Pki) -> None:
    data = sign_bytes(make_doc(), pki_env.via_intermediate)
    assert len(etree.fromstring(data).findall(f".//{DS}X509Certificate")) == 3
    assert verify_document(data, pki_env.policy()).result.signer_organ == SENDER


def test_missing_intermediate_is_untrusted(pki_env: Pki) -> None:
    key = pki_env.via_intermediate
    bare = SigningKey(key.private_key, key.certificate)
    with pytest.raises(errors.UntrustedCertificateError):
        verify_document(sign_bytes(make_doc(), bare), pki_env.policy())


def test_no_anchors_trusts_nothing(pki_env: Pki) -> None:
    with pytest.raises(errors.UntrustedCertificateError):
        verify_document(sign_bytes(make_doc(), pki_env.sender), VerifyPolicy())


def test_pinned_leaf_as_anchor(pki_env: Pki) -> None:
    policy = VerifyPolicy(anchors=(pki_env.sender.certificate,))
    assert verify_document(sign_bytes(make_doc(), pki_env.sender), policy).result.signer_organ


def test_chain_cache_hit_and_window(pki_env: Pki) -> None:
    store = TrustStore([pki_env.ca.cert])
    leaf = info_of(pki_env.sender.certificate)
    now = dt.datetime.now(dt.UTC)
    first = store.validate(leaf, (), now)
    assert store.validate(leaf, (), now + dt.timedelta(minutes=1)) is first  # cached
    assert first.valid_until == pki_env.sender.certificate.not_valid_after_utc
    with pytest.raises(errors.ExpiredCertificateError):  # outside the cached window
        store.validate(leaf, (), now + dt.timedelta(days=800))


def test_cache_window_bounded_by_crl_next_update(pki_env: Pki) -> None:
    policy = pki_env.policy()
    leaf = info_of(pki_env.sender.certificate)
    res = policy.trust.validate(leaf, (), dt.datetime.now(dt.UTC))
    assert res.valid_until <= min(c.next_update_utc for c in policy.crls)  # type: ignore[type-var,operator]


def test_stale_crl(pki_env: Pki) -> None:
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=60)
    with pytest.raises(errors.CrlError):
        verify_document(sign_bytes(make_doc(), pki_env.sender), pki_env.policy(now=later))


def test_crl_with_bad_signature(pki_env: Pki, tmp_path: Path) -> None:
    from interchange.signing import pki

    evil = pki.init_ca(tmp_path / "same-name")  # same issuer name as the real CA
    crl = x509.load_pem_x509_crl(evil.crl_path.read_bytes())
    policy = VerifyPolicy(anchors=(pki_env.ca.cert,), crls=(crl,))
    with pytest.raises(errors.CrlError):
        verify_document(sign_bytes(make_doc(), pki_env.sender), policy)


def _leaf(pki_env: Pki, usage: x509.KeyUsage) -> SigningKey:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.USER_ID, SENDER)]))
        .issuer_name(pki_env.ca.cert.subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=9))
        .add_extension(usage, critical=True)
        .sign(pki_env.ca.key, hashes.SHA256())
    )
    return SigningKey(key, cert)


def test_key_usage_without_digital_signature(pki_env: Pki) -> None:
    usage = x509.KeyUsage(False, False, True, False, False, False, False, False, False)
    key = _leaf(pki_env, usage)
    with pytest.raises(errors.KeyUsageError):
        verify_document(sign_bytes(make_doc(), key), pki_env.policy())


def test_policy_from_files(pki_env: Pki) -> None:
    policy = VerifyPolicy.from_files([pki_env.ca.cert_path], [pki_env.ca.crl_path])
    assert verify_document(sign_bytes(make_doc(), pki_env.sender), policy).result
    with pytest.raises(errors.ConfigError):
        VerifyPolicy.from_files([pki_env.ca.dir / "missing.pem"])
