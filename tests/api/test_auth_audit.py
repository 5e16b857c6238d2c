"""Users, tokens and the hash-chained audit log: tokens never stored in clear, tampering found."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.engine import Engine

from interchange.api.database import open_database
from interchange.errors import AuditChainError, ConfigError, NotFoundError
from interchange.store import auth_tables as auth


@pytest.fixture
def db(tmp_path: Path) -> tuple[str, Engine]:
    url = f"sqlite:///{tmp_path / 'node.db'}"
    engine = open_database(url)
    yield url, engine
    engine.dispose()


def _fill(engine: Engine, n: int = 5) -> None:
    with engine.begin() as conn:
        for i in range(n):
            auth.append_audit(
                conn,
                actor=f"op{i}",
                action="delivery.retry",
                target=f"doc-{i}",
                tenant="000.00.13.H53",
                result="ok",
                detail={"i": i, "reason": "tiếng Việt"},
            )


def test_token_is_shown_once_and_stored_only_as_hash(
    db: tuple[str, Engine], tmp_path: Path
) -> None:
    _url, engine = db
    with engine.begin() as conn:
        created = auth.add_user(conn, "lan", "operator", ["000.00.31.H53", "000.00.32.H53"])
    assert created.token.startswith(auth.TOKEN_PREFIX) and len(created.token) > 40
    with engine.connect() as conn:
        assert auth.find_user_by_token(conn, created.token) == created.user
        assert auth.find_user_by_token(conn, created.token + "x") is None
        stored = conn.execute(select(auth.users.c.token_hash)).scalar_one()
    assert stored == auth.hash_token(created.token) and created.token not in stored
    engine.dispose()
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("node.db"))
    assert created.token.encode() not in raw
    assert auth.hash_token(created.token).encode() in raw


def test_roles_and_scopes(db: tuple[str, Engine]) -> None:
    _, engine = db
    with engine.begin() as conn:
        op = auth.add_user(conn, "op", "operator", ["A"]).user
        admin = auth.add_user(conn, "root", "admin", ["*"]).user
        with pytest.raises(ConfigError):
            auth.add_user(conn, "x", "superuser", ["A"])
        with pytest.raises(ConfigError):
            auth.add_user(conn, "y", "viewer", [])
        with pytest.raises(ConfigError):
            auth.add_user(conn, "op", "viewer", ["A"])
        assert [u.name for u in auth.list_users(conn)] == ["op", "root"]
    assert op.has_role("viewer") and op.has_role("operator") and not op.has_role("admin")
    assert op.sees("A") and not op.sees("B") and not op.sees(None)
    assert admin.sees("B") and admin.all_tenants


def test_revoked_token_stops_working(db: tuple[str, Engine]) -> None:
    _, engine = db
    with engine.begin() as conn:
        token = auth.add_user(conn, "lan", "viewer", ["A"]).token
        auth.revoke_user(conn, "lan")
        assert auth.find_user_by_token(conn, token) is None
        with pytest.raises(NotFoundError):
            auth.revoke_user(conn, "nobody")


def test_intact_chain_verifies(db: tuple[str, Engine]) -> None:
    _, engine = db
    with engine.connect() as conn:
        assert auth.verify_audit(conn).ok  # empty log
    _fill(engine)
    with engine.connect() as conn:
        report = auth.check_audit(conn)
    assert report.ok and report.count == 5


@pytest.mark.parametrize(
    ("tamper", "broken"),
    [
        ("alter-result", 3),
        ("alter-detail", 2),
        ("alter-actor", 1),
        ("delete-middle", 3),
        ("delete-first", 1),
        ("delete-last", 5),
        ("reorder", 2),
        ("rehash-one", 4),
    ],
)
def test_tampering_is_detected(db: tuple[str, Engine], tamper: str, broken: int) -> None:
    _, engine = db
    _fill(engine)
    log = auth.audit_log
    with engine.begin() as conn:
        if tamper == "alter-result":
            conn.execute(update(log).where(log.c.seq == 3).values(result="refused"))
        elif tamper == "alter-detail":
            conn.execute(update(log).where(log.c.seq == 2).values(detail='{"i":9}'))
        elif tamper == "alter-actor":
            conn.execute(update(log).where(log.c.seq == 1).values(actor="someone-else"))
        elif tamper == "delete-middle":
            conn.execute(delete(log).where(log.c.seq == 3))
        elif tamper == "delete-first":
            conn.execute(delete(log).where(log.c.seq == 1))
        elif tamper == "delete-last":
            conn.execute(delete(log).where(log.c.seq == 5))
        elif tamper == "reorder":  # swap entries 2 and 3 (their seq numbers)
            conn.execute(update(log).where(log.c.seq == 2).values(seq=-2))
            conn.execute(update(log).where(log.c.seq == 3).values(seq=2))
            conn.execute(update(log).where(log.c.seq == -2).values(seq=3))
        elif tamper == "rehash-one":  # alter and recompute the entry's own hash: next one breaks
            row = conn.execute(select(log).where(log.c.seq == 3)).one()
            new = auth.entry_hash(
                row.prev_hash,
                3,
                row.at,
                row.actor,
                row.action,
                row.target,
                row.tenant,
                "refused",
                row.detail,
            )
            conn.execute(update(log).where(log.c.seq == 3).values(result="refused", hash=new))
    with engine.connect() as conn:
        report = auth.verify_audit(conn)
        assert not report.ok and report.broken_seq == broken, report
        with pytest.raises(AuditChainError, match=f"audit entry {broken} broken"):
            auth.check_audit(conn)


def _cli(args: list[str]) -> subprocess.CompletedProcess[str]:
    """The real command, as a user runs it (exit code, stdout, stderr)."""
    return subprocess.run(
        [sys.executable, "-m", "interchange", *args], capture_output=True, text=True, timeout=120
    )


def _main(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """The same entry point in-process (faster than a subprocess)."""
    from interchange.cli.main import main

    old = sys.argv
    sys.argv = ["interchange", *args]
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    finally:
        sys.argv = old
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_users_and_audit_verify(
    db: tuple[str, Engine], capsys: pytest.CaptureFixture[str]
) -> None:
    url, engine = db
    res = _cli(
        [
            "users",
            "add",
            "lan",
            "--role",
            "operator",
            "--tenant",
            "000.00.31.H53",
            "--tenant",
            "000.00.32.H53",
            "--db",
            url,
        ]
    )
    assert res.returncode == 0, res.stderr
    token = res.stdout.strip()
    assert token.startswith(auth.TOKEN_PREFIX) and token not in res.stderr
    code, out, err = _main(["users", "list", "--json", "--db", url], capsys)
    assert code == 0 and "000.00.32.H53" in out and token not in out + err
    code, out, err = _main(
        ["users", "add", "x", "--role", "god", "--tenant", "A", "--db", url], capsys
    )
    assert code == 1 and err.startswith("error: unknown role")
    assert _main(["users", "revoke", "lan", "--db", url], capsys)[0] == 0
    code, out, err = _main(["audit", "verify", "--db", url], capsys)
    assert code == 0 and "2 entries" in out, err
    code, out, err = _main(["audit", "show", "--json", "--db", url], capsys)
    assert '"users.add"' in out and token not in out
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET target = 'mallory' WHERE seq = 1"))
    broken = _cli(["audit", "verify", "--db", url])
    assert broken.returncode == 1
    assert (
        broken.stderr.strip() == "error: audit entry 1 broken: its content does not match its hash"
    )


def test_every_action_leaves_a_trace_even_when_interrupted(
    db: tuple[str, Engine], capsys: pytest.CaptureFixture[str]
) -> None:
    """An action is announced ("started") before it runs and closed by its outcome; one that
    never got an outcome (the process died mid-way) is reported, the chain stays intact."""
    from interchange.api.actions import Actions
    from interchange.delivery.outbox import Submitted
    from interchange.errors import DeliveryError

    url, engine = db
    tenant = "000.00.13.H53"
    with engine.begin() as conn:
        user = auth.add_user(conn, "lan", "operator", [tenant]).user
    actions = Actions(engine)

    def done() -> Submitted:
        return Submitted(document_pk=1, document_id="d-1", delivery_ids=(1, 2))

    def refused() -> Submitted:
        raise DeliveryError("nothing to send")

    def power_cut() -> Submitted:
        raise RuntimeError("the process stops here")

    actions.submit(user, tenant, done, {"file": "a.pdf"})
    with pytest.raises(DeliveryError):
        actions.submit(user, tenant, refused, {"file": "b.pdf"})
    with pytest.raises(RuntimeError):
        actions.submit(user, tenant, power_cut, {"file": "c.pdf"})
    with engine.connect() as conn:
        entries = auth.list_audit(conn, 10)[::-1]
        report = auth.check_audit(conn)
    assert [(e.seq, e.result) for e in entries] == [
        (1, "started"),
        (2, "ok"),
        (3, "started"),
        (4, "refused: delivery"),
        (5, "started"),
    ]
    assert '"started":1' in entries[1].detail and '"started":3' in entries[3].detail
    assert report.ok and report.count == 5
    assert report.unfinished == (5,)
    code, out, _ = _main(["audit", "verify", "--db", url], capsys)
    assert code == 0
    assert "1 action(s) started without a recorded outcome" in out and "entries 5" in out
