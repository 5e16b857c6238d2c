"""Open the node's database for the operator face (URL or a plain SQLite path), migrated."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from ..store.db import make_engine, normalise_url
from ..store.migrate import upgrade_database


def database_url(value: str) -> str:
    """``postgresql://…``/``sqlite:///…`` as given; a bare path means a SQLite file."""
    if "://" in value:
        return normalise_url(value)
    return f"sqlite:///{value}"


def open_database(value: str, *, migrate: bool = True) -> Engine:
    """The engine, with a pool sized for a web server's thread pool (40 threads by default):
    each request holds one connection for its duration."""
    url = database_url(value)
    engine = make_engine(url, pool_size=20, max_overflow=40, pool_timeout=10)
    if migrate:
        upgrade_database(url, engine=engine)
    return engine
