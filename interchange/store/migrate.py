"""Programmatic Alembic upgrade: applied on node start and by ``interchange db upgrade``.

Several worker processes may start at once against one database, so the upgrade runs under
a lock: a PostgreSQL advisory lock, or an exclusive file lock beside a SQLite file.
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
    cfg = alembic_config()
    cfg.attributes["connection"] = conn
    command.upgrade(cfg, "head")


def upgrade_database(url: str, *, engine: Engine | None = None) -> None:
    """Bring the database at ``url`` to the newest revision (idempotent, safe concurrently)."""
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
                    conn.commit()
                finally:
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_LOCK_KEY})
                    conn.commit()
        else:
            with _sqlite_file_lock(url), eng.connect() as conn:
                _upgrade_on(conn)
                conn.commit()
                # a migration that rebuilds a table turns foreign keys off, and SQLite ignores
                # turning them back on inside its transaction: do it now that it is committed
                conn.exec_driver_sql("PRAGMA foreign_keys=ON")
                conn.commit()
    finally:
        if own:
            eng.dispose()
