"""Commands that read a node's database never invent one, and a database that cannot be
opened is one line naming it (never its password, never SQLAlchemy's statement or link)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import yaml

from interchange.signing import pki

from .runner import one_line, run, snapshot

TENANT = "000.00.13.H53"

#: Every command that only reads the node's database, and ``users add`` (which must not
#: create a database where the token would be the only thing in it).
READERS = [
    ("audit", "verify"),
    ("audit", "show"),
    ("users", "list"),
    ("users", "add", "carol", "--tenant", TENANT),
    ("users", "revoke", "carol"),
    ("status",),
    ("inbox",),
]


def _hint(url: str) -> str:
    return f"(run `interchange db upgrade --db {url}` or start the node first)"


@pytest.mark.parametrize("command", READERS, ids=lambda c: " ".join(c[:2]))
def test_a_missing_sqlite_file_is_refused_and_nothing_is_created(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    db = tmp_path / "x" / "none.db"
    proc = run(*command, "--db", db)
    assert proc.returncode == 1
    assert one_line(proc) == f"error: no database at {db} {_hint(f'sqlite:///{db}')}"
    assert proc.stdout == ""  # no token, no "intact", no empty table
    assert snapshot(tmp_path) == {}  # not the directory, not a lock file


#: Answering an inbox item: ``--config`` names the database (and the keys that sign).
ANSWERS = [
    ("accept",),
    ("refuse", "--reason", "not ours"),
    ("assign", "--to", "Phòng Văn hóa"),
]


@pytest.mark.parametrize("answer", ANSWERS, ids=lambda a: a[0])
def test_an_inbox_answer_refuses_a_missing_database_and_creates_nothing(
    tmp_path: Path, answer: tuple[str, ...]
) -> None:
    keys = tmp_path / "pki"
    pki.init_ca(keys, ecdsa=True)
    key, cert = pki.issue(keys, TENANT, ecdsa=True)
    config = tmp_path / "node.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "data_dir": str(tmp_path / "data"),
                "axis": {"kind": "memory", "systemid": "node"},
                "tenants": [{"organ": TENANT, "key": str(key), "cert": str(cert)}],
                "trust": {"anchors": [str(keys / "ca.cert.pem")]},
            }
        ),
        "utf-8",
    )
    before = snapshot(tmp_path)
    db = tmp_path / "data" / "node.db"
    proc = run("inbox", answer[0], "1", *answer[1:], "--config", config)
    assert proc.returncode == 1
    assert one_line(proc) == f"error: no database at {db} {_hint(f'sqlite:///{db}')}"
    assert proc.stdout == ""
    assert not db.exists()
    assert snapshot(tmp_path) == before  # not the data directory, not a lock file


def test_a_relative_path_typo_is_named_as_given(tmp_path: Path) -> None:
    proc = run("users", "add", "carol", "--tenant", TENANT, "--db", "typo.db", cwd=tmp_path)
    assert proc.returncode == 1
    assert one_line(proc) == f"error: no database at typo.db {_hint('sqlite:///typo.db')}"
    assert proc.stdout == "" and snapshot(tmp_path) == {}


def test_a_sqlite_url_to_a_missing_file_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "none.db"
    proc = run("audit", "verify", "--db", f"sqlite:///{db}")
    assert proc.returncode == 1
    assert one_line(proc) == f"error: no database at {db} {_hint(f'sqlite:///{db}')}"
    assert snapshot(tmp_path) == {}


def test_api_serve_refuses_a_missing_database(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = run("api", "serve", "--db", "typo.db", "--port", str(port), cwd=tmp_path)
    assert proc.returncode == 1
    assert one_line(proc) == f"error: no database at typo.db {_hint('sqlite:///typo.db')}"
    assert snapshot(tmp_path) == {}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not a database, just some text\n", "{p} is not a SQLite database"),
        (b"", "no database at {p} (an empty file) " + _hint("sqlite:///{p}")),
    ],
    ids=["text", "empty"],
)
def test_a_file_that_is_not_a_database_is_left_untouched(
    tmp_path: Path, content: bytes, message: str
) -> None:
    db = tmp_path / "notes.txt"
    db.write_bytes(content)
    before = snapshot(tmp_path)
    proc = run("users", "add", "bob", "--tenant", TENANT, "--db", db)
    assert proc.returncode == 1
    assert one_line(proc) == "error: " + message.format(p=db)
    assert proc.stdout == ""
    assert snapshot(tmp_path) == before  # no .migrate-lock, no -wal, same bytes


def test_a_directory_is_not_a_database(tmp_path: Path) -> None:
    proc = run("users", "list", "--db", tmp_path)
    assert proc.returncode == 1
    assert one_line(proc) == f"error: {tmp_path} is a directory, not a database file"
    assert snapshot(tmp_path) == {}


def test_a_sqlite_database_no_node_prepared_is_refused_unchanged(tmp_path: Path) -> None:
    db = tmp_path / "other.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE notes (x TEXT)")
    conn.commit()
    conn.close()
    before = snapshot(tmp_path)
    proc = run("users", "add", "bob", "--tenant", TENANT, "--db", db)
    assert proc.returncode == 1
    assert one_line(proc) == f"error: no node database at {db} {_hint(f'sqlite:///{db}')}"
    assert snapshot(tmp_path) == before  # no tables added, no journal mode changed


@pytest.mark.parametrize("as_path", [False, True], ids=["url", "plain-path"])
def test_db_upgrade_still_creates_and_then_the_readers_work(tmp_path: Path, as_path: bool) -> None:
    """``db upgrade`` takes a plain path as the reading commands do (it was refused as "not
    a database URL" while their hint told the operator to run it)."""
    db = tmp_path / "new" / "node.db"
    url = f"sqlite:///{db}"
    proc = run("db", "upgrade", "--db", str(db) if as_path else url)
    assert proc.returncode == 0, proc.stderr
    assert db.exists()
    added = run("users", "add", "carol", "--tenant", TENANT, "--db", db)
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip().startswith("ixt_")
    listed = run("users", "list", "--json", "--db", url)
    assert listed.returncode == 0 and '"carol"' in listed.stdout
    verified = run("audit", "verify", "--db", db)
    assert verified.returncode == 0 and "1 entries" in verified.stdout


# --- databases that cannot be opened ------------------------------------------------------

PASSWORD = "s3cr3t-pw"
REFUSED_PG = f"postgresql://u:{PASSWORD}@127.0.0.1:1/db"


def _no_noise(proc_stderr: str) -> None:
    assert PASSWORD not in proc_stderr
    assert "sqlalche.me" not in proc_stderr and "Background on this error" not in proc_stderr
    assert "unexpected" not in proc_stderr


@pytest.mark.parametrize(
    "command",
    [
        ("users", "list", "--db", REFUSED_PG),
        ("audit", "verify", "--db", REFUSED_PG),
        ("db", "upgrade", "--db", REFUSED_PG),
    ],
    ids=["users-list", "audit-verify", "db-upgrade"],
)
def test_an_unreachable_postgresql_is_one_line_without_the_password(
    command: tuple[str, ...],
) -> None:
    proc = run(*command)
    assert proc.returncode == 1
    line = one_line(proc)
    assert line.startswith("error: cannot open database postgresql://u:***@127.0.0.1:1/db: ")
    assert "refused" in line.lower() or "connection" in line.lower()
    _no_noise(proc.stderr)


def test_hub_serve_on_an_unreachable_postgresql_is_one_line(tmp_path: Path) -> None:
    systems = tmp_path / "systems.json"
    systems.write_text('{"systems": []}')
    proc = run("hub", "serve", "--systems", systems, "--db", REFUSED_PG)
    assert proc.returncode == 1
    assert one_line(proc).startswith(
        "error: cannot open database postgresql://u:***@127.0.0.1:1/db: "
    )
    _no_noise(proc.stderr)


@pytest.mark.parametrize(
    ("db", "message"),
    [
        (
            f"mysql://u:{PASSWORD}@db.example/node",
            "error: cannot open database mysql://u:***@db.example/node: mysql is not supported "
            "(supported: sqlite, postgresql)",
        ),
        (
            "oracle://scott@db.example/node",
            "error: cannot open database oracle://scott@db.example/node: oracle is not "
            "supported (supported: sqlite, postgresql)",
        ),
        (
            f"postgresql://u:{PASSWORD}@db.example:port/node",
            "error: cannot open database postgresql://u:***@db.example:port/node: not a "
            "database URL (supported: sqlite:///PATH, postgresql://USER@HOST/NAME)",
        ),
    ],
    ids=["mysql", "oracle", "bad-port"],
)
@pytest.mark.parametrize("command", [("users", "list"), ("db", "upgrade")], ids=" ".join)
def test_an_unsupported_database_names_the_supported_ones(
    command: tuple[str, ...], db: str, message: str, tmp_path: Path
) -> None:
    proc = run(*command, "--db", db, cwd=tmp_path)
    assert proc.returncode == 1
    assert one_line(proc) == message
    _no_noise(proc.stderr)
    assert snapshot(tmp_path) == {}


def test_hub_serve_refuses_what_is_not_a_url(tmp_path: Path) -> None:
    systems = tmp_path / "systems.json"
    systems.write_text('{"systems": []}')
    before = snapshot(tmp_path)
    proc = run("hub", "serve", "--systems", systems, "--db", "notaurl", cwd=tmp_path)
    assert proc.returncode == 1
    assert one_line(proc) == (
        "error: cannot open database notaurl: not a database URL "
        "(supported: sqlite:///PATH, postgresql://USER@HOST/NAME)"
    )
    assert snapshot(tmp_path) == before
