"""The document commands' contract (issue 2): exit codes, one-line errors, JSON keys.

Run as real subprocesses (``python -m interchange``) so that what is tested is what a user or
another tool sees, including the absence of tracebacks.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from interchange.signing import pki

REPO = Path(__file__).resolve().parents[2]
SENDER = "000.00.13.H53"
INSPECTORATE = "000.00.02.G14"
VERIFY_KEYS = {
    "valid", "kind", "from", "to", "document_id", "subject", "status_code", "signer_organ",
    "signature_algorithm", "stripped_hops",
}


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "interchange", *map(str, args)],
        capture_output=True, text=True, timeout=120, cwd=REPO,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("pki")
    pki.init_ca(d)
    pki.issue(d, SENDER, name="Sở Thông tin và Truyền thông Tây Ninh")
    return d


@pytest.fixture(scope="module")
def signed(ca: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("doc") / "kl.edxml"
    proc = run(
        "package", "--kind", "conclusion", "--input", REPO / "examples/conclusion.yaml",
        "--from", SENDER, "--to", INSPECTORATE,
        "--key", ca / f"{SENDER}.key.pem", "--cert", ca / f"{SENDER}.cert.pem", "--out", out,
    )
    assert proc.returncode == 0, proc.stderr
    return out


def test_package_then_verify_prints_one_summary_line(signed: Path, ca: Path) -> None:
    proc = run("verify", signed, "--trust", ca / "ca.cert.pem", "--crl", ca / "crl.pem")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("valid:")
    assert SENDER in lines[0] and INSPECTORATE in lines[0]


def test_verify_json_has_the_contract_keys(signed: Path, ca: Path) -> None:
    proc = run("verify", signed, "--trust", ca / "ca.cert.pem", "--json")
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert VERIFY_KEYS <= info.keys()
    assert info["valid"] is True and info["kind"] == "edoc"
    assert info["from"] == SENDER and info["to"] == [INSPECTORATE]
    assert info["signer_organ"] == SENDER
    assert info["signature_algorithm"].endswith("rsa-sha256")
    assert info["stripped_hops"] == [] and info["status_code"] is None
    assert info["document_id"].startswith(SENDER + ",")


def test_tampered_document_is_refused_with_one_line(signed: Path, ca: Path, tmp_path: Path) -> None:
    data = signed.read_bytes()
    tampered = tmp_path / "tampered.edxml"
    tampered.write_bytes(data.replace(b"Ph\xc3\xba C\xc6\xb0\xe1\xbb\x9dng", b"Phu Cuong", 1))
    assert tampered.read_bytes() != data
    proc = run("verify", tampered, "--trust", ca / "ca.cert.pem")
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "changed" in proc.stderr or "digest" in proc.stderr.lower()

    proc = run("verify", tampered, "--trust", ca / "ca.cert.pem", "--json")
    assert proc.returncode == 1
    info = json.loads(proc.stdout)
    assert info["valid"] is False and info["reason"] and info["error"] == "digest-mismatch"


def test_untrusted_anchor_is_refused(signed: Path, tmp_path: Path) -> None:
    other = tmp_path / "other-ca"
    pki.init_ca(other)
    proc = run("verify", signed, "--trust", other / "ca.cert.pem", "--json")
    assert proc.returncode == 1
    assert json.loads(proc.stdout)["error"] == "untrusted"


def test_usage_errors_exit_2(signed: Path, tmp_path: Path) -> None:
    assert run("verify", signed).returncode == 2  # --trust is required
    assert run("verify", tmp_path / "missing.edxml", "--trust", signed).returncode == 2
    assert run("package", "--kind", "memo").returncode == 2


def test_not_xml_is_refused_not_crashed(ca: Path, tmp_path: Path) -> None:
    junk = tmp_path / "junk.edxml"
    junk.write_bytes(b"%PDF-1.7 not xml at all")
    commands = (("verify", junk, "--trust", ca / "ca.cert.pem"), ("show", junk), ("validate", junk))
    for cmd in commands:
        proc = run(*cmd)
        assert proc.returncode == 1, cmd
        assert len(proc.stderr.strip().splitlines()) == 1


def test_show_reports_each_status_sample(samples_dir: Path) -> None:
    for path in sorted(samples_dir.glob("status*.edxml")):
        proc = run("show", path, "--json")
        assert proc.returncode == 0, (path.name, proc.stderr)
        info = json.loads(proc.stdout)
        expected = "01" if path.stem == "status" else path.stem.rsplit("_", 1)[1]
        assert info["kind"] == "status" and info["status_code"] == expected, path.name
        assert VERIFY_KEYS <= info.keys() and info["attachments"] == []


def test_show_lists_attachments_and_refuses_broken_samples(samples_dir: Path) -> None:
    proc = run("show", samples_dir / "edoc_new.edxml", "--json")
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert info["kind"] == "edoc" and info["attachments"][0]["size"] > 0
    for broken in sorted(samples_dir.glob("broken_*.edxml")):
        proc = run("show", broken)
        assert proc.returncode == 1, broken.name
        assert len(proc.stderr.strip().splitlines()) == 1


def test_validate_checks_envelope_and_structured_part(signed: Path) -> None:
    proc = run("validate", signed, "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"valid": True, "kind": "edoc", "structured_parts": 1}


def test_bad_input_is_refused_and_nothing_written(ca: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"number": "1"}), encoding="utf-8")
    out = tmp_path / "out.edxml"
    proc = run(
        "package", "--kind", "conclusion", "--input", bad, "--from", SENDER, "--to", INSPECTORATE,
        "--key", ca / f"{SENDER}.key.pem", "--cert", ca / f"{SENDER}.cert.pem", "--out", out,
    )
    assert proc.returncode == 1
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not out.exists()
