"""Alembic environment: the node's tables and every ``*_tables`` module of the store.

Run programmatically by ``interchange.store.migrate.upgrade_database`` (which hands over an
open connection in ``config.attributes["connection"]``), or by the ``alembic`` command with
``sqlalchemy.url`` set.

Every run is one transaction, whatever the revisions it crosses: a run that fails leaves
the database as it found it, and the next run starts again from there. Alembic gives that
on PostgreSQL (transactional DDL, ``transaction_per_migration`` off); on SQLite see
``_sqlite_atomic``. A caller that hands over a connection already in a transaction owns it.
"""

from __future__ import annotations

import contextlib
import importlib
import pkgutil
from collections.abc import Iterator

from alembic import context
from sqlalchemy.engine import Connection

import interchange.store as store_pkg
from interchange.errors import MigrationError
from interchange.store.db import make_engine, metadata


def _import_table_modules() -> None:
    """Import ``tables`` and every ``*_tables`` module so that their tables join ``metadata``."""
    for info in pkgutil.iter_modules(store_pkg.__path__):
        if info.name == "tables" or info.name.endswith("_tables"):
            importlib.import_module(f"{store_pkg.__name__}.{info.name}")


_import_table_modules()
target_metadata = metadata


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        transaction_per_migration=False,  # the default, relied upon: one for the whole run
    )


def _run(connection: Connection) -> None:
    if connection.dialect.name == "sqlite" and not connection.in_transaction():
        with _sqlite_atomic(connection):
            _configure(connection)  # sees the transaction: Alembic opens and commits none
            migration = context.get_context()
            before = migration.get_current_heads()
            context.run_migrations()
            if migration.get_current_heads() != before:
                _check_foreign_keys(connection)
        return
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()


@contextlib.contextmanager
def _sqlite_atomic(connection: Connection) -> Iterator[None]:
    """The block in one real SQLite transaction, DDL included; foreign keys off within it.

    Why by hand: Alembic runs SQLite migrations one transaction each (it takes SQLite's
    DDL for non-transactional), and pysqlite begins a transaction only before INSERT,
    UPDATE and DELETE, so CREATE, DROP and ALTER were committed one by one as they ran. A
    migration failing half-way (a full disk, an error in its code) left tables it had
    created while ``alembic_version`` still named the revision before: the next upgrade
    failed on them. SQLAlchemy's documented remedy: the driver's own transaction handling
    off (``isolation_level = None``), and BEGIN emitted here. IMMEDIATE takes the write
    lock at once: another process cannot slip a write in between.

    Foreign keys: batch mode rebuilds a table (copy, drop, rename), which other tables'
    keys must not follow, and ``PRAGMA foreign_keys`` is ignored inside a transaction; so
    they are off for the whole run, as SQLite's own procedure for altering tables does,
    and ``_run`` checks every key before the commit. Nothing here needs to run outside a
    transaction: no migration vacuums or changes the journal mode."""
    raw = connection.connection.driver_connection
    if raw is None:  # pragma: no cover - a pooled connection always has one
        raise RuntimeError("no driver connection")
    saved = raw.isolation_level
    raw.isolation_level = None  # commits nothing: the connection is in no transaction
    try:
        raw.execute("PRAGMA foreign_keys=OFF")
        with connection.begin():  # its end: the driver's commit or rollback of our BEGIN
            connection.exec_driver_sql("BEGIN IMMEDIATE")
            yield
    finally:
        try:
            raw.isolation_level = saved
            raw.execute("PRAGMA foreign_keys=ON")
        except Exception:  # a broken connection: never back to the pool with keys off
            connection.invalidate()


def _check_foreign_keys(connection: Connection) -> None:
    """Every key still points at a row (SQLite, keys off during the run): else the run fails."""
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").first()
    if broken is not None:
        table, rowid, parent, _ = tuple(broken)
        raise MigrationError(
            f"after the migrations, row {rowid} of {table} refers to a missing row of {parent}"
        )


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no sqlalchemy.url and no connection given")
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("offline migrations are not supported")
run_migrations_online()
