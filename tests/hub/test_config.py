"""The systems file and the hub's routing table."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from interchange.errors import ConfigError, UnknownOrganError
from interchange.hub.config import Routing, load_systems, parse_systems
from interchange.hub.service import parse_to

from .live import OLD_CODE, SUCCESSOR, SYSTEMS, directory


def test_parse_systems_ok(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text(
        json.dumps(
            {"systems": [{"systemid": "x", "secret": "12345678", "organs": [" 000.00.00.G22 "]}]}
        )
    )
    (system,) = load_systems(path)
    assert system.organs == ("000.00.00.G22",)


@pytest.mark.parametrize(
    "data",
    [
        [],
        {"systems": [{"systemid": "", "secret": "12345678", "organs": []}]},
        {"systems": [{"systemid": "x", "secret": "short", "organs": []}]},
        {"systems": [{"systemid": "x", "secret": "12345678", "organs": "000.00.00.G22"}]},
        {"systems": [{"systemid": "x", "secret": "12345678", "organs": ["bad code!"]}]},
        {"systems": [{"systemid": "x", "secret": "12345678", "organs": []}] * 2},
    ],
)
def test_parse_systems_refused(data: object) -> None:
    with pytest.raises(ConfigError):
        parse_systems(data)


def test_routing_resolves_old_codes_and_owners() -> None:
    routing = Routing(SYSTEMS, directory())
    res = routing.resolve(OLD_CODE)
    assert (res.code, res.substituted_from) == (SUCCESSOR, OLD_CODE)
    assert routing.resolve("002.00.20.H13").substituted_from is None
    assert routing.owner[SUCCESSOR] == "sys-b"
    with pytest.raises(UnknownOrganError):
        routing.resolve("999.99.99.H99")


def test_parse_to_forms() -> None:
    assert parse_to('"000.00.00.G22"') == ("000.00.00.G22",)
    assert parse_to('["a.b", "c.d"]') == ("a.b", "c.d")
    assert parse_to("a.b, c.d") == ("a.b", "c.d")
    assert parse_to(None) == () and parse_to(" ") == ()


def test_cli_bad_systems_file_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "s.json"
    bad.write_text("{not json")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "interchange",
            "hub",
            "serve",
            "--db",
            "sqlite://",
            "--systems",
            str(bad),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert proc.stderr.strip().count("\n") == 0 and "systems file" in proc.stderr
