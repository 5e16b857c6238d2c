"""Usage errors (a bad value, a missing option, an unknown command) are one line on stderr,
``error: ...``, exit code 2, not typer's box over several lines; ``--help`` is unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest

from .runner import one_line, run

STATES = "'queued', 'retrying', 'failed', 'dead', 'cancelled', 'sent', 'arrived', 'refused'"

CASES = [
    (
        ("status", "--state", "bogus"),
        f"Invalid value for '--state': 'bogus' is not one of {STATES}",
    ),
    (("inbox", "--state", "bogus"), f"Invalid value for '--state': 'bogus' is not one of {STATES}"),
    (("status", "--limit", "0"), "Invalid value for '--limit': Input should be greater than"),
    (("audit", "show", "--limit", "0"), "Invalid value for '--limit': Input should be greater"),
    (("inbox", "accept", "first"), "Invalid value for 'item': "),
    (("inbox", "refuse", "1"), "Missing option '--reason'."),
    (("users", "add"), "Missing argument 'name'."),
    (("pki", "issue"), "Missing argument"),
    (("status", "--lmit", "3"), "No such option: --lmit"),
    (("bogus",), "No such command 'bogus'."),
    (("users", "bogus"), "No such command 'bogus'."),
]


@pytest.mark.parametrize(("args", "start"), CASES, ids=[" ".join(a) for a, _ in CASES])
def test_a_usage_error_is_one_line_with_exit_code_2(
    tmp_path: Path, args: tuple[str, ...], start: str
) -> None:
    proc = run(*args, cwd=tmp_path, env={"INTERCHANGE_DB": str(tmp_path / "none.db")})
    assert proc.returncode == 2, proc.stderr
    line = one_line(proc)
    assert line.startswith(f"error: {start}"), line
    assert not any(c in line for c in "│╭╮╰╯"), line  # no box
    assert "Value error," not in line  # pydantic's prefix, noise to a user
    assert line.endswith(" --help')") and " (see '" in line, line  # where help is
    assert proc.stdout == ""
    assert list(tmp_path.iterdir()) == []  # nothing opened, nothing created


@pytest.mark.parametrize("args", [("--help",), ("status", "--help"), ("inbox", "refuse", "--help")])
def test_help_is_unchanged(args: tuple[str, ...]) -> None:
    proc = run(*args)
    assert proc.returncode == 0 and proc.stderr == ""
    assert "Usage:" in proc.stdout and "╭─ Options" in proc.stdout


@pytest.mark.parametrize("args", [(), ("users",)], ids=["interchange", "users"])
def test_a_group_without_a_command_still_shows_its_help(args: tuple[str, ...]) -> None:
    proc = run(*args)
    assert proc.returncode == 2
    assert "Usage:" in proc.stdout and "╭─ Commands" in proc.stdout
    assert proc.stderr == ""
