"""Connections kept per thread for SQLite engines: ``held.connect`` / ``held.begin``
(and ``held.read``; ``held.autocommit`` for PostgreSQL's one-statement paths).

Why: taking a connection from SQLAlchemy's pool and giving it back (a checkout, a reset
on return, the ``Connection`` object's set-up) cost the hub about 40 µs of CPU per request
under load, as much as the query it ran; the nodes pay it for every transaction. SQLite
connections are cheap to keep and a thread uses one at a time, so each thread keeps its
own and every use ends what it opened: a rollback, unless the caller committed.

Used in place of ``engine.connect()`` / ``engine.begin()`` on hot paths. The pool is used
instead when keeping one would not be safe or useful:
- PostgreSQL (its pool pings idle connections, and there a held connection would be a
  server process per thread);
- a nested use on the same thread (the outer one is still open: it must not see the inner
  commit or roll back the inner work);
- more than ``HELD_THREADS`` threads (held connections are the pool's own, and must not
  starve it).
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from collections.abc import Iterator

from sqlalchemy.engine import Connection, Engine

#: Threads per engine that may each keep a connection.
HELD_THREADS = 4


class _Held:
    """One engine's kept connections, by thread, and which of them are in use."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.conns: dict[int, Connection] = {}
        self.busy: set[int] = set()


_engines: weakref.WeakKeyDictionary[Engine, _Held] = weakref.WeakKeyDictionary()
_engines_lock = threading.Lock()


def _held_of(engine: Engine) -> _Held:
    found = _engines.get(engine)
    if found is None:
        with _engines_lock:
            found = _engines.setdefault(engine, _Held())
    return found


def _take(held: _Held, engine: Engine, ident: int) -> Connection | None:
    """This thread's connection, marked busy; None when the pool must serve instead."""
    with held.lock:
        if ident in held.busy:
            return None  # nested
        conn = held.conns.get(ident)
        if conn is None or conn.invalidated or conn.closed:
            if conn is not None:
                del held.conns[ident]
                conn.close()
            if len(held.conns) >= HELD_THREADS:
                return None
            conn = held.conns[ident] = engine.connect()
        held.busy.add(ident)
        return conn


@contextlib.contextmanager
def connect(engine: Engine) -> Iterator[Connection]:
    """Like ``engine.connect()``; whatever the block leaves open is rolled back."""
    if engine.dialect.name != "sqlite":
        with engine.connect() as pooled:
            yield pooled
        return
    held, ident = _held_of(engine), threading.get_ident()
    conn = _take(held, engine, ident)
    if conn is None:
        with engine.connect() as pooled:
            yield pooled
        return
    try:
        yield conn
    finally:
        try:
            if conn.in_transaction():  # a read, or a write that failed before its commit
                conn.rollback()
        finally:
            with held.lock:
                held.busy.discard(ident)


@contextlib.contextmanager
def read(engine: Engine) -> Iterator[Connection]:
    """Like ``connect``, for a block that only reads, one statement at a time.

    On PostgreSQL the connection runs outside a transaction: BEGIN and the ROLLBACK that
    ends a read were two round trips more than the read itself (the outbox reads the
    bytes of every batch it claims). Do not write in such a block, nor rely on two of
    its statements seeing one snapshot.
    """
    if engine.dialect.name == "sqlite":
        with connect(engine) as conn:
            yield conn
        return
    with autocommit(engine) as conn:
        yield conn


@contextlib.contextmanager
def autocommit(engine: Engine) -> Iterator[Connection]:
    """A pooled connection outside any transaction, for statements each atomic by itself
    (PostgreSQL's one-statement claim and submit): no BEGIN and COMMIT round trips. The
    pool gives it back transactional, as every other checkout expects."""
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT")
        yield conn


@contextlib.contextmanager
def begin(engine: Engine) -> Iterator[Connection]:
    """Like ``engine.begin()``: committed if the block ends normally, else rolled back."""
    with connect(engine) as conn, conn.begin():
        yield conn


def release(engine: Engine) -> None:
    """Close the connections kept for ``engine`` (before it is disposed)."""
    held = _engines.pop(engine, None)
    if held is None:
        return
    with held.lock:
        conns, held.conns = list(held.conns.values()), {}
    for conn in conns:
        conn.close()
