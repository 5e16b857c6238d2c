"""``interchange directory ...``: exit 0 ok, 1 refused with one line on stderr, 2 usage."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner, Result

from interchange.cli.directory import register
from interchange.organs import demo_directory_path, load_directory

DEMO = str(demo_directory_path())

Run = Callable[..., Result]


@pytest.fixture(scope="module")
def run() -> Run:
    app = typer.Typer()

    @app.callback()
    def _root() -> None:  # keep "directory" a sub-command, as in the real app
        pass

    register(app)
    runner = CliRunner()
    return lambda *args: runner.invoke(app, ["directory", *args])


def test_check_ok(run: Run) -> None:
    result = run("check", DEMO)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("ok:") and "52 agencies" in result.stdout


def test_check_bad_file_one_line(run: Run, tmp_path: Path) -> None:
    bad = tmp_path / "dup.yaml"
    bad.write_text(
        "version: 1\nagencies:\n"
        "- {code: 000.00.00.H53, name: A}\n- {code: 000.00.00.H53, name: B}\n",
        encoding="utf-8",
    )
    result = run("check", str(bad))
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "duplicate" in lines[0]
    missing = run("check", str(tmp_path / "absent.yaml"))
    assert missing.exit_code == 1 and "cannot read" in missing.stderr


def test_show_agency_json_with_old_code(run: Run) -> None:
    result = run("show", DEMO, "000.00.41.H41", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["agency"]["code"] == "000.00.40.H41"
    assert data["substituted_from"] == "000.00.41.H41"
    assert data["parent"]["code"] == "000.00.00.H41"
    assert data["children"] == []


def test_show_tables(run: Run) -> None:
    one = run("show", DEMO, "000.00.31.H53")
    assert one.exit_code == 0 and "000.20.31.H53" in one.stdout and "000.00.00.H53" in one.stdout
    every = run("show", DEMO, "--json")
    assert every.exit_code == 0 and len(json.loads(every.stdout)["agencies"]) == 52


def test_show_unknown_code(run: Run) -> None:
    result = run("show", DEMO, "000.00.99.H53")
    assert result.exit_code == 1 and "unknown agency" in result.stderr


def test_districts(run: Run) -> None:
    result = run("districts", DEMO, "000.00.00.H53", "--json")
    assert result.exit_code == 0, result.output
    codes = [a["code"] for a in json.loads(result.stdout)]
    assert len(codes) == 9 and "000.00.31.H53" in codes
    table = run("districts", DEMO, "000.00.00.H14")
    assert table.exit_code == 0 and "Quảng Hòa" in table.stdout
    refused = run("districts", DEMO, "000.00.13.H53")
    assert refused.exit_code == 1 and "not a Provincial People's Committee" in refused.stderr
    assert run("districts", DEMO, "000.00.00.H53", "--level", "ward").exit_code == 2


def test_generate(run: Run, tmp_path: Path) -> None:
    out = tmp_path / "national.json"
    result = run("generate", "--out", str(out))
    assert result.exit_code == 0, result.output
    d = load_directory(out)
    assert len(d.by_kind("province")) == 63 and len(d.by_kind("district")) == 705
    small = tmp_path / "small.yaml"
    assert (
        run("generate", "--out", str(small), "--provinces", "3", "--districts", "7").exit_code == 0
    )
    assert len(load_directory(small).by_kind("district")) == 7
    too_many = run("generate", "--out", str(small), "--provinces", "1", "--districts", "500")
    assert too_many.exit_code == 1 and "do not fit" in too_many.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("generate",),
        ("check",),
        ("show",),
        ("districts", DEMO),
        ("generate", "--out", "x", "--provinces", "0"),
        ("nosuch",),
    ],
)
def test_usage_errors(run: Run, args: tuple[str, ...]) -> None:
    assert run(*args).exit_code == 2


def test_installed_command_exit_codes(tmp_path: Path) -> None:
    """The real entry point (``python -m interchange``): 0, 1 with one line, 2; no traceback."""

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "interchange", "directory", *args],
            capture_output=True,
            text=True,
            timeout=60,
        )

    assert cli("check", DEMO).returncode == 0
    bad = tmp_path / "bad.json"
    bad.write_text('{"version": 1, "agencies": [{"code": "000.00.00.H5", "name": "x"}]}')
    refused = cli("check", str(bad))
    assert refused.returncode == 1
    assert refused.stderr.count("\n") == 1 and "Traceback" not in refused.stderr
    assert cli("districts", DEMO).returncode == 2
