"""``interchange serve`` refuses tenants whose settings are well-formed but wrong: an agency the
directory does not list, a certificate naming another agency, a key that is not the
certificate's. One line naming the tenant, exit 1, nothing started, no database created."""

from __future__ import annotations

import datetime as dt
import signal
import time
from pathlib import Path

import pytest
import yaml

from interchange.errors import ConfigError
from interchange.node.config import check_tenants, load_config
from interchange.organs import demo_directory_path, load_demo_directory
from interchange.signing.pki import issue

from .test_cli import serve, unreachable_node_config

DEPT = "000.00.13.H53"  # in the demo directory
OTHER = "000.00.30.H53"  # another agency of the demo directory


def _edit(cfg: Path, **tenant: str) -> None:
    """Change the config's one tenant (and give the node the demo directory)."""
    data = yaml.safe_load(cfg.read_text())
    data["tenants"][0].update(tenant)
    data["directory"] = str(demo_directory_path())
    cfg.write_text(yaml.safe_dump(data))


def _refused(tmp_path: Path, cfg: Path) -> str:
    """Run ``serve``; it must exit 1 with one line on stderr, having made nothing."""
    proc = serve(cfg)
    try:
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert out == "" and "node serving" not in err
    assert not (tmp_path / "data").exists()  # no data directory, no database
    return lines[0]


@pytest.mark.parametrize(
    ("organ", "reason"),
    [
        ("000.00.99.H53", "not an agency in the directory {d}"),
        ("000.00.41.H41", "the directory {d} says this code became 000.00.40.H41"),
    ],
    ids=["unknown", "renamed"],
)
def test_serve_refuses_a_tenant_the_directory_does_not_list(
    tmp_path: Path, organ: str, reason: str
) -> None:
    cfg = unreachable_node_config(tmp_path, organ)
    _edit(cfg)
    line = _refused(tmp_path, cfg)
    assert line == f"error: tenant {organ}: " + reason.format(d=demo_directory_path())


def test_serve_refuses_a_certificate_for_another_agency(tmp_path: Path) -> None:
    cfg = unreachable_node_config(tmp_path, DEPT)
    key, cert = issue(tmp_path / "ca", OTHER, out_dir=tmp_path / "other")
    _edit(cfg, key=str(key), cert=str(cert))
    assert _refused(tmp_path, cfg) == (
        f"error: tenant {DEPT}: its certificate {cert} is for agency {OTHER} (subject UID), "
        f"not {DEPT}: recipients would refuse what it signs"
    )


def test_a_certificate_naming_the_tenant_and_another_agency_is_refused(tmp_path: Path) -> None:
    """Two agency UIDs bind to no single agency: recipients refuse what it signs."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import NameOID

    from interchange.signing.pki import load_ca

    cfg = unreachable_node_config(tmp_path, DEPT)
    own_key = tmp_path / "keys" / f"{DEPT}.key.pem"
    private = serialization.load_pem_private_key(own_key.read_bytes(), password=None)
    ca = load_ca(tmp_path / "ca")
    now = dt.datetime.now(dt.UTC)
    both = (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.USER_ID, DEPT),
                    x509.NameAttribute(NameOID.USER_ID, OTHER),
                    x509.NameAttribute(NameOID.COMMON_NAME, "two agencies"),
                ]
            )
        )
        .issuer_name(ca.cert.subject)
        .public_key(private.public_key())  # type: ignore[arg-type]
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(ca.key, hashes.SHA256())
    )
    cert = tmp_path / "both.cert.pem"
    cert.write_bytes(both.public_bytes(serialization.Encoding.PEM))
    _edit(cfg, cert=str(cert))
    with pytest.raises(ConfigError, match=f"its certificate {cert} is for agency {OTHER}"):
        check_tenants(load_config(cfg), load_demo_directory())


def test_serve_refuses_a_key_that_is_not_the_certificates(tmp_path: Path) -> None:
    cfg = unreachable_node_config(tmp_path, DEPT)
    own_cert = tmp_path / "keys" / f"{DEPT}.cert.pem"
    other_key, _ = issue(tmp_path / "ca", OTHER, out_dir=tmp_path / "other")
    _edit(cfg, key=str(other_key))
    assert _refused(tmp_path, cfg) == (
        f"error: tenant {DEPT}: no certificate in the file matches the private key "
        f"(key {other_key}, cert {own_cert})"
    )


def test_serve_starts_a_tenant_the_directory_lists_with_its_own_certificate(
    tmp_path: Path,
) -> None:
    cfg = unreachable_node_config(tmp_path, DEPT)
    _edit(cfg)
    ready = tmp_path / "ready"
    proc = serve(cfg, "--ready-file", str(ready))
    try:
        deadline = time.monotonic() + 60
        while not ready.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert ready.exists(), proc.stderr.read() if proc.stderr else ""
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=40)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert (tmp_path / "data" / "node.db").exists()


def test_a_uid_that_is_not_an_agency_code_is_left_to_the_operators_mapping(
    tmp_path: Path,
) -> None:
    """Some CAs put another identifier in UID; recipients then bind it by fingerprint."""
    cfg = unreachable_node_config(tmp_path, DEPT)
    key, cert = issue(tmp_path / "ca", "MST-0312345678", out_dir=tmp_path / "other")
    _edit(cfg, key=str(key), cert=str(cert))
    keys = check_tenants(load_config(cfg), load_demo_directory())
    assert list(keys) == [DEPT]


def test_check_tenants_is_a_config_error(tmp_path: Path) -> None:
    cfg = unreachable_node_config(tmp_path, "000.00.99.H53")
    with pytest.raises(ConfigError, match=r"^tenant 000\.00\.99\.H53: not an agency in"):
        check_tenants(load_config(cfg), load_demo_directory())
