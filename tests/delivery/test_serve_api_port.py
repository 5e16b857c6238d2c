"""``interchange serve --workers N --api-port P`` with P taken: one line, and no orphans.

The port is held by a real listening socket of the test. The command must refuse in one
line before it starts any worker process (or touches the database), so that nothing of the
run is left behind.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .test_cli import unreachable_node_config

REPO = Path(__file__).resolve().parents[2]
DEPT = "000.00.13.H53"


def _processes_naming(needle: str) -> list[int]:
    """Pids of live processes whose command line names ``needle`` (the run's config path)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            state = next(
                (
                    ln
                    for ln in (entry / "status").read_text().splitlines()
                    if ln.startswith("State:")
                ),
                "",
            )
        except OSError:  # gone meanwhile
            continue
        if needle.encode() in argv and "zombie" not in state:
            found.append(int(entry.name))
    return found


@pytest.fixture
def busy_port() -> Iterator[int]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    yield int(sock.getsockname()[1])
    sock.close()


def test_busy_api_port_exits_in_one_line_and_leaves_no_worker(
    tmp_path: Path, busy_port: int
) -> None:
    cfg = unreachable_node_config(tmp_path, DEPT)
    argv = [sys.executable, "-m", "interchange", "serve", "--config", str(cfg)]
    try:
        res = subprocess.run(
            [*argv, "--workers", "3", "--api-port", str(busy_port)],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=REPO,
        )
        assert res.returncode == 1, res.stderr
        assert res.stderr.splitlines() == [
            f"error: cannot listen on 127.0.0.1:{busy_port}: Address already in use"
        ]
        # a worker left behind would still be running now (it runs until signalled)
        time.sleep(1.0)
        assert _processes_naming(str(cfg)) == []
        assert not (tmp_path / "data" / "node.db").exists()  # refused before the database
    finally:
        for pid in _processes_naming(str(cfg)):  # only this run's processes, by pid
            os.kill(pid, signal.SIGKILL)
