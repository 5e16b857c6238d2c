"""Fixtures of the operator API tests: a node database with real signed data, the app."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from interchange.api import ApiSettings, create_api_app

from .world import World, build_world


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    w = build_world(tmp_path_factory.mktemp("world"))
    yield w
    w.engine.dispose()


def make_client(world: World, tmp: Path | None = None) -> TestClient:
    settings = ApiSettings(database_url=world.url)
    app = create_api_app(
        settings, engine=world.engine, codec=world.codec, directory=world.directory
    )
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture(scope="module")
def client(world: World) -> Iterator[TestClient]:
    with make_client(world) as c:
        yield c
