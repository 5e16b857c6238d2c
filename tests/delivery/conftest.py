"""Fixtures for the delivery tests: a migrated database (SQLite, or PostgreSQL by URL)."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from interchange.store.db import make_engine
from interchange.store.migrate import upgrade_database


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated node database: SQLite always, PostgreSQL when INTERCHANGE_TEST_PG_URL is set
    (in CI a missing URL fails the PostgreSQL variant instead of skipping it)."""
    if request.param == "postgres":
        yield from _pg_engine()
        return
    url = f"sqlite:///{tmp_path / 'node.db'}"
    upgrade_database(url)
    eng = make_engine(url)
    yield eng
    eng.dispose()


def pg_url_or_skip() -> str:
    url = os.environ.get("INTERCHANGE_TEST_PG_URL")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("INTERCHANGE_TEST_PG_URL is not set in CI: PostgreSQL tests must run")
        pytest.skip("INTERCHANGE_TEST_PG_URL not set")
    return url


@pytest.fixture
def pg_engine() -> Iterator[Engine]:
    yield from _pg_engine()


def _pg_engine() -> Iterator[Engine]:
    """A fresh schema in the test PostgreSQL database, migrated, dropped afterwards."""
    with pg_schema_engine() as eng:
        upgrade_database(pg_url_or_skip(), engine=eng)
        yield eng


@contextlib.contextmanager
def pg_schema_engine() -> Iterator[Engine]:
    """An engine on a fresh, empty schema of the test PostgreSQL database, dropped
    afterwards (the caller migrates it as far as it needs)."""
    base = pg_url_or_skip()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    eng = make_engine(base, connect_args={"options": f"-csearch_path={schema}"})
    try:
        yield eng
    finally:
        eng.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
