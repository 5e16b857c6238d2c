"""Fixtures of the dashboard page tests: the operator tests' world (a real SQLite store with
signed documents, deliveries in every state, inbox items, users of each role) and a browser-like
client that signs in through the login form."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from interchange.api import ApiSettings, create_api_app
from interchange.store import auth_tables as auth
from tests.api.world import DEPT, A, World, build_world

CSRF = re.compile(r'name="csrf" value="([0-9a-f]+)"')
NONCE = re.compile(r'name="nonce" value="([^"]+)"')


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
    """Sign in as a browser does: fetch the form (its nonce), post the token."""
    c = client(world)
    form = c.get("/ui/login")
    m = NONCE.search(form.text)
    assert m, "no nonce in the login form"
    r = c.post(
        "/ui/login",
        data={"token": world.tokens[who], "nonce": m.group(1), "next": "/ui/"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return c


def csrf_of(html: str) -> str:
    m = CSRF.search(html)
    assert m, "no CSRF token in the page"
    return m.group(1)
