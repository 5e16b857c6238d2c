"""``interchange status --watch --json``: one JSON document per refresh and per line (NDJSON),
written as each refresh happens, so that a pipe (``| jq -c``) sees it before Ctrl-C."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from interchange.store.migrate import upgrade_database

from .runner import REPO, run


@pytest.fixture
def node_db(tmp_path: Path) -> Path:
    db = tmp_path / "node.db"
    upgrade_database(f"sqlite:///{db}")
    return db


def test_watch_json_prints_each_refresh_as_it_happens(node_db: Path) -> None:
    args = ["status", "--watch", "--json", "--interval", "0.2", "--db", str(node_db)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "interchange", *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "INTERCHANGE_DB"},
    )
    watchdog = threading.Timer(30, proc.kill)  # a run that prints nothing must not hang here
    watchdog.start()
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(2)]
        assert proc.poll() is None, "the watch stopped by itself"
    finally:
        watchdog.cancel()
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert all(line.endswith("\n") for line in lines), (lines, err)
    for line in lines:
        page = json.loads(line)
        assert page == {"items": [], "next_cursor": None}
    assert "Traceback" not in err


def test_watch_json_rounds_are_one_document_per_line(node_db: Path) -> None:
    proc = run("status", "--watch", "--json", "--interval", "0.2", "--rounds", "2", "--db", node_db)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 3  # the first refresh, then two more
    assert all(json.loads(line)["items"] == [] for line in lines)
