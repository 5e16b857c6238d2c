"""Alembic environment: the node's tables and every ``*_tables`` module of the store.

Run programmatically by ``interchange.store.migrate.upgrade_database`` (which hands over an
open connection in ``config.attributes["connection"]``), or by the ``alembic`` command with
``sqlalchemy.url`` set.
"""

from __future__ import annotations

import importlib
import pkgutil

from alembic import context
from sqlalchemy.engine import Connection

import interchange.store as store_pkg
from interchange.store.db import make_engine, metadata


def _import_table_modules() -> None:
    """Import ``tables`` and every ``*_tables`` module so that their tables join ``metadata``."""
    for info in pkgutil.iter_modules(store_pkg.__path__):
        if info.name == "tables" or info.name.endswith("_tables"):
            importlib.import_module(f"{store_pkg.__name__}.{info.name}")


_import_table_modules()
target_metadata = metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


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
