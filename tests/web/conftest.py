"""Fixtures of the dashboard page tests: the operator tests' world (a real SQLite store with
signed documents, deliveries in every state, inbox items, users of each role) and a browser-like
client that signs in through the login form."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from interchange.api import ApiSettings, create_api_app
from interchange.store import auth_tables as auth
from tests.api.world import DEPT, A, World, build_world, sign_in


def new_world(tmp: Path) -> World:
    world = build_world(tmp)
    with world.engine.begin() as conn:  # a clerk of the department who also serves district A
        world.tokens["clerk"] = auth.add_user(conn, "clerk", "operator", [DEPT, A]).token
    return world


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    w = new_world(tmp_path_factory.mktemp("web"))
    yield w
    w.engine.dispose()


def client(world: World) -> TestClient:
    app = create_api_app(
        ApiSettings(database_url=world.url),
        engine=world.engine,
        codec=world.codec,
        directory=world.directory,
    )
    return TestClient(app, raise_server_exceptions=False)


def login(world: World, who: str) -> TestClient:
    """A new browser signed in as ``who``."""
    return sign_in(client(world), world, who)
