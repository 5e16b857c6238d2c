"""PostgreSQL connections are pinged back from the pool only after being idle a while
(``store.db._ping_when_idle``): a dead one is replaced, never handed to the caller."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from interchange.store import db

pytestmark = pytest.mark.postgres


def _kill_pooled_backends(engine: Engine, admin: Engine) -> None:
    with engine.connect() as conn:
        pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
    with admin.connect() as conn:
        assert conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar_one()


def test_a_connection_used_a_moment_ago_is_not_pinged(
    pg_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[object] = []
    original = pg_engine.dialect.do_ping

    def counted(c: Any) -> bool:
        calls.append(c)
        return original(c)

    monkeypatch.setattr(pg_engine.dialect, "do_ping", counted)
    with pg_engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    with pg_engine.connect() as conn:  # back from the pool at once: no round trip spent
        assert conn.execute(text("SELECT 2")).scalar_one() == 2
    assert calls == []
    monkeypatch.setattr(db, "PING_AFTER_IDLE_S", 0.0)
    with pg_engine.connect() as conn:  # idle "a while": pinged first
        assert conn.execute(text("SELECT 3")).scalar_one() == 3
    assert len(calls) == 1


def test_an_idle_dead_connection_is_replaced_not_returned(
    pg_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = db.make_engine(pg_engine.url.render_as_string(hide_password=False))
    try:
        with pg_engine.connect() as conn:  # one pooled connection, then its server side dies
            conn.execute(text("SELECT 1"))
        _kill_pooled_backends(pg_engine, admin)
        monkeypatch.setattr(db, "PING_AFTER_IDLE_S", 0.0)  # "idle a while": at once
        with pg_engine.connect() as conn:
            assert conn.execute(text("SELECT 3")).scalar_one() == 3
    finally:
        admin.dispose()


def test_without_the_idle_ping_the_dead_connection_would_have_failed(
    pg_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The control for the test above: the same death, reused at once, is an error (what
    the ping protects against once a connection has been idle)."""
    from sqlalchemy.exc import DBAPIError

    admin = db.make_engine(pg_engine.url.render_as_string(hide_password=False))
    try:
        with pg_engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        _kill_pooled_backends(pg_engine, admin)
        monkeypatch.setattr(db, "PING_AFTER_IDLE_S", 3600.0)
        with pytest.raises(DBAPIError) as caught, pg_engine.connect() as conn:
            conn.execute(text("SELECT 4"))
        assert caught.value.connection_invalidated
        with pg_engine.connect() as conn:  # the pool dropped it: the next one works
            assert conn.execute(text("SELECT 5")).scalar_one() == 5
    finally:
        admin.dispose()
