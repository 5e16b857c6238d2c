"""``interchange pki``: a damaged CRL is refused, not reset; an issued key is not replaced
without ``--force``; only agency codes are issued; a full disk leaves no half-written file."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509

from interchange.signing import pki

from .runner import REPO, one_line, run, snapshot

CODE = "000.00.13.H53"
ADVICE = "restore it or remove it to start an empty list"


@pytest.fixture
def ca(tmp_path: Path) -> Path:
    d = tmp_path / "pki"
    pki.init_ca(d, ecdsa=True)
    pki.issue(d, CODE, ecdsa=True)
    pki.revoke(d, CODE)
    return d


def _revoked_serials(crl: Path) -> set[int]:
    return {e.serial_number for e in x509.load_pem_x509_crl(crl.read_bytes())}


@pytest.mark.parametrize("command", [("crl",), ("revoke", CODE)], ids=["crl", "revoke"])
@pytest.mark.parametrize(
    ("damage", "why"),
    [
        (lambda crl, _ca: crl.write_bytes(b"garbage\n"), "not a readable PEM CRL"),
        (lambda crl, _ca: crl.write_bytes(crl.read_bytes()[:200]), "not a readable PEM CRL"),
        (
            lambda crl, ca: crl.write_bytes((ca / "ca.cert.pem").read_bytes()),
            "not a readable PEM CRL",
        ),
    ],
    ids=["garbage", "truncated", "a-certificate"],
)
def test_a_damaged_crl_is_refused_and_left_as_it_is(
    ca: Path, command: tuple[str, ...], damage: object, why: str
) -> None:
    crl = ca / "crl.pem"
    damage(crl, ca)  # type: ignore[operator]
    before = snapshot(ca)
    proc = run("pki", *command, "--dir", ca)
    assert proc.returncode == 1
    assert one_line(proc) == f"error: {crl} is damaged: {why}; {ADVICE}"
    assert snapshot(ca) == before


def test_a_crl_of_another_ca_is_refused(ca: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    pki.init_ca(other, ecdsa=True)
    crl = ca / "crl.pem"
    crl.write_bytes((other / "crl.pem").read_bytes())
    before = snapshot(ca)
    proc = run("pki", "crl", "--dir", ca)
    assert proc.returncode == 1
    assert one_line(proc) == f"error: {crl} is damaged: not signed by this CA; {ADVICE}"
    assert snapshot(ca) == before


def test_reissuing_the_crl_keeps_what_it_revoked_and_a_removed_one_starts_empty(
    ca: Path,
) -> None:
    crl = ca / "crl.pem"
    revoked = _revoked_serials(crl)
    assert len(revoked) == 1
    assert run("pki", "crl", "--dir", ca).returncode == 0
    assert _revoked_serials(crl) == revoked
    crl.unlink()  # what the refusal tells the user to do to start afresh
    proc = run("pki", "crl", "--dir", ca)
    assert proc.returncode == 0, proc.stderr
    assert _revoked_serials(crl) == set()


def test_issuing_again_needs_force(ca: Path) -> None:
    before = snapshot(ca)
    proc = run("pki", "issue", CODE, "--dir", ca, "--ecdsa")
    assert proc.returncode == 1
    assert one_line(proc) == (
        f"error: {CODE} already has a key or certificate in {ca}: give --force to replace "
        "them (the old certificate stays valid until it is revoked)"
    )
    assert snapshot(ca) == before
    proc = run("pki", "issue", CODE, "--dir", ca, "--ecdsa", "--force")
    assert proc.returncode == 0, proc.stderr
    after = snapshot(ca)
    assert after[f"{CODE}.key.pem"] != before[f"{CODE}.key.pem"]
    assert after[f"{CODE}.cert.pem"] != before[f"{CODE}.cert.pem"]


@pytest.mark.parametrize(
    ("code", "extra", "message"),
    [
        (
            "NOT-A-CODE",
            (),
            "error: malformed agency code 'NOT-A-CODE': expected L4.L3.L2.L1 like 000.00.13.H53",
        ),
        (
            "000.00.13.h53",
            (),
            "error: malformed agency code '000.00.13.h53': expected L4.L3.L2.L1 like 000.00.13.H53",
        ),
        ("../escape", ("--no-uid",), "error: agency code '../escape' cannot name a file"),
    ],
    ids=["not-a-code", "lower-case", "path-with-no-uid"],
)
def test_issue_refuses_what_is_not_an_agency_code(
    ca: Path, code: str, extra: tuple[str, ...], message: str
) -> None:
    before = snapshot(ca.parent)
    proc = run("pki", "issue", code, "--dir", ca, "--ecdsa", *extra)
    assert proc.returncode == 1
    assert one_line(proc) == message
    assert snapshot(ca.parent) == before


def test_revoke_refuses_a_code_that_cannot_name_a_file(ca: Path) -> None:
    before = snapshot(ca.parent)
    proc = run("pki", "revoke", "../ca", "--dir", ca)
    assert proc.returncode == 1
    assert one_line(proc) == "error: agency code '../ca' cannot name a file"
    assert snapshot(ca.parent) == before


# --- a full disk --------------------------------------------------------------------------


@pytest.mark.parametrize("ecdsa", [True, False], ids=["ecdsa", "rsa"])
def test_init_on_a_full_disk_leaves_nothing(tmp_path: Path, ecdsa: bool) -> None:
    """RLIMIT_FSIZE makes each write past the limit fail as ENOSPC would: whichever of the
    three files hits it, none is left (nor the directory the command made)."""
    flag = ("--ecdsa",) if ecdsa else ()
    sample = tmp_path / "sample"
    pki.init_ca(sample, ecdsa=ecdsa)
    sizes = sorted(p.stat().st_size for p in sample.iterdir())
    partial = 0  # runs where some file would have fitted and another did not
    for limit in (0, sizes[0] + 40, (sizes[0] + sizes[-1]) // 2, sizes[-1] - 40):
        d = tmp_path / f"full-{limit}" / "ca"
        proc = run("pki", "init", "--dir", d, *flag, max_file_size=limit)
        if proc.returncode == 0:  # every file fitted: all three are whole
            assert sorted(p.name for p in d.iterdir()) == ["ca.cert.pem", "ca.key.pem", "crl.pem"]
            continue
        assert proc.returncode == 1
        line = one_line(proc)
        assert line.startswith(f"error: cannot write {d}/") and "File too large" in line
        assert not d.parent.exists()  # neither the files nor the directories it made
        partial += limit >= sizes[0]
    assert partial >= 1


def test_issue_and_crl_on_a_full_disk_change_nothing(ca: Path) -> None:
    before = snapshot(ca)
    proc = run("pki", "issue", "000.00.14.H53", "--dir", ca, max_file_size=100)
    assert proc.returncode == 1
    assert one_line(proc).startswith(f"error: cannot write {ca}/000.00.14.H53.")
    assert snapshot(ca) == before  # no key without its certificate, no temporary file
    proc = run("pki", "issue", CODE, "--dir", ca, "--force", max_file_size=100)
    assert proc.returncode == 1
    assert snapshot(ca) == before  # the old pair is still there, whole
    for command in (("crl",), ("revoke", CODE)):
        proc = run("pki", *command, "--dir", ca, max_file_size=100)
        assert proc.returncode == 1
        assert one_line(proc) == f"error: cannot write {ca / 'crl.pem'}: File too large"
        assert snapshot(ca) == before


def test_outputs_on_a_full_disk_leave_nothing(ca: Path, tmp_path: Path) -> None:
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    proc = run(
        "directory", "generate", "--out", out_dir / "national.json", "--provinces", "3",
        "--districts", "10", max_file_size=500,
    )  # fmt: skip
    assert proc.returncode == 1
    assert one_line(proc) == f"error: cannot write {out_dir / 'national.json'}: File too large"
    assert snapshot(out_dir) == {}
    proc = run(
        "package", "--kind", "conclusion", "--input", REPO / "examples/conclusion.yaml",
        "--from", CODE, "--to", "000.00.02.G14",
        "--key", ca / f"{CODE}.key.pem", "--cert", ca / f"{CODE}.cert.pem",
        "--out", out_dir / "kl.edxml", max_file_size=500,
    )  # fmt: skip
    assert proc.returncode == 1
    assert one_line(proc) == f"error: cannot write {out_dir / 'kl.edxml'}: File too large"
    assert snapshot(out_dir) == {}
    proc = run(
        "package", "--kind", "conclusion", "--input", REPO / "examples/conclusion.yaml",
        "--from", CODE, "--to", "000.00.02.G14",
        "--key", ca / f"{CODE}.key.pem", "--cert", ca / f"{CODE}.cert.pem",
        "--out", out_dir / "missing" / "kl.edxml",
    )  # fmt: skip
    assert proc.returncode == 1
    assert one_line(proc) == (
        f"error: cannot write {out_dir / 'missing' / 'kl.edxml'}: No such file or directory"
    )
    assert snapshot(out_dir) == {}
