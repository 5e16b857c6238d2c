"""A real server on loopback (uvicorn in a thread) over a real store, and Debian's Chromium.

When ``CI`` is set a missing Chromium is a failure, not a skip: the browser tests are part
of the contract (``.ci/setup.d/20-chromium.sh`` installs it). Screenshots go to
``test-artifacts/screenshots/`` (ignored by git); the README's three are copied to
``docs/screenshots/``.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from interchange.api import ApiSettings, create_api_app
from tests.api.world import World
from tests.web.conftest import new_world

CHROMIUM = Path(os.environ.get("INTERCHANGE_CHROMIUM", "/usr/bin/chromium"))
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "screenshots"
DOCS = REPO / "docs" / "screenshots"
#: The screenshots the README shows (small PNGs, committed).
FOR_README = ("directive-matrix", "directive-not-answered", "inbox-refused")
REFRESH = 30
UPDATE = "INTERCHANGE_UPDATE_SCREENSHOTS"


@dataclass
class Served:
    world: World
    base: str


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    world = new_world(tmp_path_factory.mktemp("browser"))
    app = create_api_app(
        ApiSettings(
            database_url=world.url, node_name="Sở TT&TT Tây Ninh · demo", refresh_seconds=REFRESH
        ),
        engine=world.engine,
        codec=world.codec,
        directory=world.directory,
    )
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the dashboard server did not start")
        time.sleep(0.05)
    yield Served(world, f"http://127.0.0.1:{port}")
    server.should_exit = True
    thread.join(timeout=10)
    world.engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        message = f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="vi-VN")
    pg = context.new_page()
    pg.set_default_timeout(15000)
    yield pg
    context.close()


def shot(page: Any, name: str) -> Path:
    """Save a screenshot; the README's ones are copied to docs/screenshots/ when missing or
    when ``INTERCHANGE_UPDATE_SCREENSHOTS`` is set (so that a test run leaves git clean)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False, scale="css")
    target = DOCS / path.name
    if name in FOR_README and (os.environ.get(UPDATE) or not target.exists()):
        DOCS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    return path
