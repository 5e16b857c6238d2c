"""Small validations: tenant codes, an empty assignee, known states, the hub's port, log
level, time zone and skew. Each bad value is refused before anything is written."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
import yaml

from interchange.organs import demo_directory_path
from interchange.signing import pki
from interchange.store.db import make_engine
from interchange.store.migrate import upgrade_database
from interchange.store.ops import ensure_tenant

from .runner import one_line, run, snapshot, usage_text

TENANT = "000.00.13.H53"
LEGACY = "vxp.saas.03"  # a legacy id some nodes host: accepted only when this one does


@pytest.fixture
def node_db(tmp_path: Path) -> Path:
    db = tmp_path / "node.db"
    url = f"sqlite:///{db}"
    upgrade_database(url)
    engine = make_engine(url)
    with engine.begin() as conn:
        ensure_tenant(conn, LEGACY)
    engine.dispose()
    return db


def _users(db: Path) -> list[tuple[str, str]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(
            "SELECT u.name, t.tenant FROM users u JOIN user_tenants t ON t.user_id = u.id "
            "ORDER BY u.name, t.tenant"
        ).fetchall()
    finally:
        conn.close()


def _audit_count(db: Path) -> int:
    conn = sqlite3.connect(db)
    try:
        return int(conn.execute("SELECT count(*) FROM audit_log").fetchone()[0])
    finally:
        conn.close()


# --- users add --tenant -------------------------------------------------------------------


@pytest.mark.parametrize(
    "tenant", ["NOT-A-CODE", "000.00.13.h53", "13.H53", "a b", "other.saas.04"]
)
def test_users_add_refuses_a_tenant_that_is_not_an_agency_code(node_db: Path, tenant: str) -> None:
    proc = run("users", "add", "bob", "--tenant", TENANT, "--tenant", tenant, "--db", node_db)
    assert proc.returncode == 1
    assert one_line(proc) == (
        f"error: tenant {tenant!r} is not an agency code (L4.L3.L2.L1 like 000.00.13.H53) "
        "nor an agency this node hosts; '*' means every agency"
    )
    assert proc.stdout == ""  # no token
    assert _users(node_db) == [] and _audit_count(node_db) == 0


def test_users_add_role_is_checked_before_the_tenants(node_db: Path) -> None:
    proc = run("users", "add", "bob", "--role", "god", "--tenant", "NOT-A-CODE", "--db", node_db)
    assert proc.returncode == 1
    assert one_line(proc) == "error: unknown role 'god': use one of viewer, operator, admin"
    assert _users(node_db) == []


@pytest.mark.parametrize(
    ("tenants", "stored"),
    [
        (["*"], ["*"]),
        ([TENANT, "000.00.02.G14"], ["000.00.02.G14", TENANT]),
        ([LEGACY], [LEGACY]),
    ],
    ids=["all", "codes", "hosted-legacy"],
)
def test_users_add_accepts_codes_star_and_hosted_ids(
    node_db: Path, tenants: list[str], stored: list[str]
) -> None:
    args = [a for t in tenants for a in ("--tenant", t)]
    proc = run("users", "add", "bob", *args, "--db", node_db)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().startswith("ixt_")
    assert _users(node_db) == [("bob", t) for t in stored]


# --- inbox assign --to ''; --state ----------------------------------------------------------


@pytest.fixture
def node_config(tmp_path: Path) -> Path:
    """A node configuration whose database does not exist yet: a refusal must not make it."""
    keys = tmp_path / "pki"
    pki.init_ca(keys, ecdsa=True)
    key, cert = pki.issue(keys, TENANT, ecdsa=True)
    cfg = {
        "data_dir": str(tmp_path / "data"),
        "axis": {"kind": "memory", "systemid": "node"},
        "tenants": [{"organ": TENANT, "key": str(key), "cert": str(cert)}],
        "trust": {"anchors": [str(keys / "ca.cert.pem")]},
        "directory": str(demo_directory_path()),
    }
    path = tmp_path / "node.yaml"
    path.write_text(yaml.safe_dump(cfg), "utf-8")
    return path


@pytest.mark.parametrize("to", ["", "   "], ids=["empty", "blank"])
def test_inbox_assign_refuses_an_empty_assignee(tmp_path: Path, node_config: Path, to: str) -> None:
    before = snapshot(tmp_path)
    proc = run("inbox", "assign", "1", "--to", to, "--config", node_config)
    assert proc.returncode == 1
    assert one_line(proc) == (
        "error: an assignment (04) needs someone to assign it to: --to is empty"
    )
    assert snapshot(tmp_path) == before  # the node was not even opened


@pytest.mark.parametrize("command", [("status",), ("inbox",)], ids=["status", "inbox"])
def test_an_unknown_state_is_a_usage_error_listing_the_states(
    node_db: Path, command: tuple[str, ...]
) -> None:
    before = snapshot(node_db.parent)
    proc = run(*command, "--state", "bogus", "--db", node_db)
    assert proc.returncode == 2
    text = usage_text(proc)
    assert "Invalid value for '--state'" in text and "'bogus' is not one of" in text
    for state in ("'queued'", "'arrived'", "'accepted'", "'refused'", "'completed'"):
        assert state in text
    assert proc.stdout == ""  # no empty table
    assert snapshot(node_db.parent) == before


@pytest.mark.parametrize("command", [("status",), ("inbox",)], ids=["status", "inbox"])
def test_a_known_state_still_filters(node_db: Path, command: tuple[str, ...]) -> None:
    proc = run(*command, "--state", "arrived", "--json", "--db", node_db)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["items"] == []


# --- hub serve ------------------------------------------------------------------------------


@pytest.fixture
def systems(tmp_path: Path) -> Path:
    path = tmp_path / "conf" / "systems.json"
    path.parent.mkdir()
    path.write_text(
        json.dumps({"systems": [{"systemid": "s1", "secret": "x" * 16, "organs": [TENANT]}]})
    )
    return path


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--port", "70000"), "Invalid value for '--port': Input should be less than or equal"),
        (("--port", "0"), "Invalid value for '--port': Input should be greater than or equal"),
        (("--port", "-1"), "Invalid value for '--port'"),
        (("--log-level", "loud"), "Invalid value for '--log-level'"),
        (("--skew", "-5"), "Invalid value for '--skew': Input should be greater than or equal"),
        (("--skew", "0"), "Invalid value for '--skew': Input should be greater than or equal"),
    ],
    ids=["port-high", "port-zero", "port-negative", "log-level", "skew-negative", "skew-zero"],
)
def test_hub_serve_usage_errors_come_before_the_database(
    tmp_path: Path, systems: Path, args: tuple[str, ...], words: str
) -> None:
    before = snapshot(tmp_path)
    db = tmp_path / "hub" / "hub.db"
    proc = run("hub", "serve", "--systems", systems, "--db", f"sqlite:///{db}", *args)
    assert proc.returncode == 2
    text = usage_text(proc)
    assert words in text
    if args[0] == "--log-level":
        assert "'loud' is not one of" in text and "'warning'" in text and "'debug'" in text
    assert snapshot(tmp_path) == before  # no hub database, no directory


@pytest.mark.parametrize("tz", ["Mars/Olympus", "America", "../etc/passwd", ""])
def test_hub_serve_refuses_an_unknown_time_zone_in_one_line(
    tmp_path: Path, systems: Path, tz: str
) -> None:
    before = snapshot(tmp_path)
    db = tmp_path / "hub" / "hub.db"
    proc = run("hub", "serve", "--systems", systems, "--db", f"sqlite:///{db}", "--tz", tz)
    assert proc.returncode == 1
    assert one_line(proc) == (
        f"error: unknown time zone {tz!r} for --tz: give an IANA name like Asia/Ho_Chi_Minh"
    )
    assert snapshot(tmp_path) == before


def test_hub_serve_refuses_a_bad_directory_before_making_its_database(
    tmp_path: Path, systems: Path
) -> None:
    directory = systems.parent / "directory.json"
    directory.write_text('{"version": 1, "agencies": "none"}')
    before = snapshot(tmp_path)
    db = tmp_path / "hub" / "hub.db"
    proc = run(
        "hub", "serve", "--systems", systems, "--db", f"sqlite:///{db}", "--directory", directory
    )
    assert proc.returncode == 1
    assert "'agencies' must be a list" in one_line(proc)
    assert snapshot(tmp_path) == before
