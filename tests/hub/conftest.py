from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .live import LiveHub, live_hub


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveHub]:
    with live_hub(tmp_path_factory.mktemp("hub") / "hub.db") as h:
        yield h


@pytest.fixture()
def fresh_hub(tmp_path: Path) -> Iterator[LiveHub]:
    with live_hub(tmp_path / "hub.db") as h:
        yield h
