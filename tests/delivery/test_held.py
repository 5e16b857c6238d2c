"""``store.held``: a kept connection per thread on SQLite, the pool everywhere it would not
be safe (PostgreSQL, a nested use, too many threads); every use ends what it opened."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import event, func, insert, select, text
from sqlalchemy.engine import Connection, Engine

from interchange.store import held
from interchange.store.db import make_engine
from interchange.store.migrate import upgrade_database
from interchange.store.ops import utcnow
from interchange.store.tables import tenants


@pytest.fixture()
def sqlite(tmp_path: Path) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path / 'node.db'}"
    upgrade_database(url)
    eng = make_engine(url)
    yield eng
    held.release(eng)
    eng.dispose()


def _checkouts(engine: Engine) -> list[int]:
    taken = [0]

    @event.listens_for(engine, "checkout")
    def _count(*_args: object) -> None:
        taken[0] += 1

    return taken


def _add(conn: object, code: str) -> None:
    conn.execute(  # type: ignore[attr-defined]
        insert(tenants).values(organ_code=code, auto_accept=True, created_at=utcnow())
    )


def _codes(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return sorted(conn.execute(select(tenants.c.organ_code)).scalars())


def test_one_connection_per_thread_and_nothing_left_open(sqlite: Engine) -> None:
    with held.begin(sqlite) as conn:
        _add(conn, "000.00.00.A01")
    taken = _checkouts(sqlite)
    for i in range(20):
        with held.connect(sqlite) as again:
            assert again is conn
            again.execute(select(func.count()).select_from(tenants)).scalar_one()
        assert not conn.in_transaction()  # the read's transaction was ended
        with held.begin(sqlite) as again:
            _add(again, f"000.00.01.A{i:02d}")
    assert taken[0] == 0
    assert len(_codes(sqlite)) == 21


def test_a_failing_block_is_rolled_back(sqlite: Engine) -> None:
    with pytest.raises(RuntimeError), held.begin(sqlite) as conn:
        _add(conn, "000.00.00.A01")
        raise RuntimeError("boom")
    with held.connect(sqlite) as conn:  # an uncommitted write is rolled back at the end
        _add(conn, "000.00.00.A02")
    assert _codes(sqlite) == []
    with held.begin(sqlite) as conn:  # and the same connection goes on
        _add(conn, "000.00.00.A03")
    assert _codes(sqlite) == ["000.00.00.A03"]


def test_a_nested_use_gets_its_own_connection(sqlite: Engine) -> None:
    """The inner block must not end the outer one's transaction (its rollback at the end
    would undo the outer work). SQLite lets one writer at a time: the inner one reads."""
    with held.begin(sqlite) as outer:
        _add(outer, "000.00.00.A01")
        with held.connect(sqlite) as inner:
            assert inner is not outer
            assert inner.execute(select(func.count()).select_from(tenants)).scalar_one() == 0
        assert outer.in_transaction()
    assert _codes(sqlite) == ["000.00.00.A01"]
    with held.connect(sqlite) as conn:  # the kept one is free again afterwards
        assert conn is outer


def test_no_read_snapshot_is_kept_between_uses(sqlite: Engine) -> None:
    """A kept connection holding a read open would stop SQLite's checkpoints (the WAL file
    would grow for ever)."""
    with held.begin(sqlite) as conn:
        _add(conn, "000.00.00.A01")
    with held.connect(sqlite) as conn:
        list(conn.execute(select(tenants.c.id)))
    with sqlite.connect() as other:
        busy, _log, _done = other.execute(text("PRAGMA wal_checkpoint(TRUNCATE)")).one()
    assert busy == 0


def test_more_threads_than_kept_connections_use_the_pool(sqlite: Engine) -> None:
    n = held.HELD_THREADS + 3
    together = threading.Barrier(n)  # all alive at once: n distinct threads
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            with held.begin(sqlite) as conn:
                _add(conn, f"000.00.00.B{i:02d}")
            together.wait(10)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert errors == []
    assert len(_codes(sqlite)) == n
    kept = list(held._held_of(sqlite).conns.values())
    assert len(kept) == held.HELD_THREADS
    held.release(sqlite)
    assert all(conn.closed for conn in kept)


@pytest.mark.postgres
def test_postgres_uses_the_pool(pg_engine: Engine) -> None:
    taken = _checkouts(pg_engine)
    with held.begin(pg_engine) as conn:
        _add(conn, "000.00.00.A01")
    with held.connect(pg_engine) as again:
        assert again is not conn
    assert taken[0] == 2
    assert pg_engine not in held._engines
    assert _codes(pg_engine) == ["000.00.00.A01"]


@pytest.mark.postgres
def test_a_read_on_postgres_runs_outside_a_transaction_and_leaves_none(
    pg_engine: Engine,
) -> None:
    """``held.read``: each statement on its own (now() moves between two of them, where a
    transaction would keep its start), and the pooled connection is given back as it was
    (a transaction again keeps one now())."""

    def two_nows(conn: Connection) -> tuple[object, object]:
        first = conn.exec_driver_sql("SELECT now()").scalar_one()
        time.sleep(0.01)
        return first, conn.exec_driver_sql("SELECT now()").scalar_one()

    with held.read(pg_engine) as conn:
        a, b = two_nows(conn)
        assert a != b
    with held.begin(pg_engine) as conn:
        a, b = two_nows(conn)
        assert a == b
