"""Programmatic Alembic upgrade: applied on node start and by ``interchange db upgrade``.

Several worker processes may start at once against one database, so the upgrade runs under
a lock: a PostgreSQL advisory lock, or an exclusive file lock beside a SQLite file.

An upgrade is one transaction from the revision it finds to the newest (``migrations/env.py``
on SQLite, PostgreSQL's transactional DDL): if any step fails, nothing of it is kept, the
database stays at the revision it was at, and ``MigrationError`` says so in one line.
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine, make_url

from ..errors import InterchangeError, MigrationError
from .db import check_url, make_engine, normalise_url

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_PG_LOCK_KEY = 0x1E7C4A9  # any constant shared by every node process


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


@contextlib.contextmanager
def _sqlite_file_lock(url: str) -> Iterator[None]:
    database = make_url(url).database
    if not database or database == ":memory:":
        yield
        return
    lock_path = Path(database).with_name(Path(database).name + ".migrate-lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+b") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _upgrade_on(conn: Connection) -> None:
    """Upgrade to head in one transaction, or raise ``MigrationError`` having changed nothing.

    ``conn`` must be in no transaction: on PostgreSQL this one is begun here (Alembic sees
    it and opens none of its own), on SQLite by ``env.py``, which needs to set the driver
    up before BEGIN."""
    cfg = alembic_config()
    cfg.attributes["connection"] = conn
    before = MigrationContext.configure(conn).get_current_revision()
    conn.rollback()  # the read's transaction ended: the upgrade's own begins from nothing
    try:
        if conn.dialect.name == "sqlite":
            command.upgrade(cfg, "head")
        else:
            with conn.begin():
                command.upgrade(cfg, "head")
    except Exception as exc:
        reason = str(exc) if isinstance(exc, InterchangeError) else _reason(exc)
        raise _failed(cfg, before, reason) from exc


def _failed(cfg: Config, before: str | None, reason: str) -> MigrationError:
    head = ScriptDirectory.from_config(cfg).get_current_head()
    return MigrationError(
        f"the database upgrade from revision {before or '(empty)'} to {head} failed and "
        f"was undone, the database is unchanged: {reason}"
    )


def _reason(exc: Exception) -> str:
    """The driver's own message when there is one (not SQLAlchemy's statement and link)."""
    orig = getattr(exc, "orig", None)
    message = str(orig if orig is not None else exc).strip()
    first = message.splitlines()[0] if message else ""
    return f"{type(orig or exc).__name__}: {first}" if first else type(orig or exc).__name__


def upgrade_database(url: str, *, engine: Engine | None = None) -> None:
    """Bring the database at ``url`` to the newest revision (idempotent, safe concurrently).

    All or nothing: ``MigrationError`` when a migration fails, the database unchanged."""
    check_url(url)  # an unsupported URL refused as given, before any lock file is made
    url = normalise_url(url)
    own = engine is None
    eng = engine if engine is not None else make_engine(url)
    try:
        if eng.dialect.name == "postgresql":
            with eng.connect() as conn:
                conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_LOCK_KEY})
                conn.commit()
                try:
                    _upgrade_on(conn)
                finally:
                    conn.rollback()  # a failed statement may have left one open
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_LOCK_KEY})
                    conn.commit()
        else:
            with _sqlite_file_lock(url), eng.connect() as conn:
                _upgrade_on(conn)
    finally:
        if own:
            eng.dispose()
