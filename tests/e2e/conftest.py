"""End-to-end fixtures: a throw-away network of real processes on loopback, torn down for sure.

PostgreSQL: tests marked ``postgres`` get a fresh database on the server named by
``INTERCHANGE_TEST_PG_URL``; they FAIL when ``CI`` is set and that server is missing or
unreachable (CI must not go green by skipping them), and skip otherwise.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from interchange.demo.network import Network, prepare
from interchange.demo.spec import NetworkSpec
from interchange.store.db import normalise_url


def _pg_unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"PostgreSQL needed in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A URL to a brand-new, empty PostgreSQL database, dropped afterwards."""
    base = os.environ.get("INTERCHANGE_TEST_PG_URL")
    if not base:
        _pg_unavailable("INTERCHANGE_TEST_PG_URL is not set")
        raise AssertionError("unreachable")
    url = make_url(normalise_url(base))
    name = f"ic_e2e_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        _pg_unavailable(f"cannot create a database on {url.host}:{url.port}: {exc}")
        raise AssertionError("unreachable") from exc
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# --- networks of real processes -----------------------------------------------------------


@pytest.fixture
def network_factory(tmp_path: Path) -> Iterator[Callable[..., Network]]:
    """``start(spec, name=...)``: prepare and start a network under ``tmp_path``; always stopped.

    On failure the processes' logs are printed (pytest shows them with the failure).
    """
    started: list[Network] = []

    def start(spec: NetworkSpec, name: str = "net") -> Network:
        net = Network(prepare(spec, tmp_path / name))
        started.append(net)
        return net.start()

    try:
        yield start
    finally:
        for net in started:
            net.stop()
            for proc in net.processes():
                print(f"--- {proc.name} ({proc.log_path})\n{proc.log_tail(15)}")
