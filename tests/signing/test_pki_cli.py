"""``interchange pki`` end to end through the typer app, and the key loader."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from interchange import errors
from interchange.cli import pki as pki_cli
from interchange.signing import VerifyPolicy, load_signing_key, pki, sign_bytes, verify_document

from .conftest import SENDER, make_doc


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        pass

    pki_cli.register(app)
    return app


def test_pki_commands(app: typer.Typer, tmp_path: Path) -> None:
    run = CliRunner().invoke
    d = tmp_path / "ca"
    res = run(app, ["pki", "--help"])
    assert res.exit_code == 0 and "NOT FOR PRODUCTION" in res.output
    assert run(app, ["pki", "init", "--dir", str(d), "--ecdsa"]).exit_code == 0
    with pytest.raises(errors.ConfigError):  # never overwrite a CA silently
        pki.init_ca(d)
    assert "NOT FOR PRODUCTION" in (d / "ca.key.pem").read_text()
    res = run(app, ["pki", "issue", SENDER, "--dir", str(d), "--name", "Thanh tra Tây Ninh"])
    assert res.exit_code == 0, res.output
    key = load_signing_key(d / f"{SENDER}.key.pem", d / f"{SENDER}.cert.pem")
    assert len(key.chain) == 1  # the cert file carries the CA after the leaf
    data = sign_bytes(make_doc(), key)
    policy = VerifyPolicy.from_files([d / "ca.cert.pem"], [d / "crl.pem"])
    assert verify_document(data, policy).result.signer_organ == SENDER
    assert run(app, ["pki", "revoke", SENDER, "--dir", str(d)]).exit_code == 0
    assert run(app, ["pki", "crl", "--dir", str(d)]).exit_code == 0
    policy = VerifyPolicy.from_files([d / "ca.cert.pem"], [d / "crl.pem"])
    with pytest.raises(errors.RevokedCertificateError):
        verify_document(data, policy)
    res = run(app, ["pki", "issue", "X1", "--dir", str(d), "--expired", "--ecdsa", "--no-uid"])
    assert res.exit_code == 0
    assert run(app, ["pki", "issue", "X2", "--dir", str(d), "--not-before", "nope"]).exit_code == 2


def test_issue_without_ca_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(errors.ConfigError):
        pki.issue(tmp_path, SENDER)


def test_load_signing_key_mismatch(tmp_path: Path) -> None:
    pki.init_ca(tmp_path)
    k1, _ = pki.issue(tmp_path, "A1", out_dir=tmp_path / "a")
    _, c2 = pki.issue(tmp_path, "B2", out_dir=tmp_path / "b")
    with pytest.raises(errors.ConfigError):
        load_signing_key(k1, c2)


def test_console_script(tmp_path: Path) -> None:
    import subprocess
    import sys

    exe = Path(sys.executable).with_name("interchange")
    if not exe.exists():
        pytest.skip("console script not installed")
    ok = subprocess.run([exe, "pki", "init", "--dir", tmp_path / "ca"], capture_output=True,
                        text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    bad = subprocess.run([exe, "pki", "issue", SENDER, "--dir", tmp_path / "none"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1 and len(bad.stderr.strip().splitlines()) == 1
    assert "Traceback" not in bad.stderr
