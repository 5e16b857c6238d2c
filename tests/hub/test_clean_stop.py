"""``interchange hub serve`` stopped by SIGTERM or Ctrl-C closes its database cleanly.

A clean stop closes every SQLite connection, so SQLite checkpoints the write-ahead log into
the database and removes the ``-wal`` and ``-shm`` files: the database is one file again,
safe to copy, and holds what was written.
"""

from __future__ import annotations

import signal
import sqlite3
from pathlib import Path

import httpx
import pytest

from .live import free_port, sample, sample_send_headers, start_hub_process, wait_until_up


def _default_sigint() -> None:
    """SIGINT as in a terminal, even when the test runs with it ignored (a background job):
    an ignored SIGINT is inherited, and Python then installs no KeyboardInterrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_stop_checkpoints_and_removes_the_wal(tmp_path: Path, sig: signal.Signals) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    data = sample("edoc_new.edxml")
    proc = start_hub_process(tmp_path, port, preexec_fn=_default_sigint)
    try:
        wait_until_up(proc, url)
        sent = httpx.post(url + "/sendEdoc", headers=sample_send_headers(data), content=data).json()
        assert sent["status"] == "OK", sent
        db = tmp_path / "hub.db"
        assert Path(f"{db}-wal").exists()  # written in WAL mode: the log is there while up
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err.decode()[-2000:]
    assert "Traceback" not in err.decode()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("hub.db")) == [
        "hub.db",
        "hub.db.migrate-lock",
    ]
    with sqlite3.connect(db) as conn:  # the row is in the database file itself
        assert conn.execute("SELECT count(*) FROM hub_messages").fetchone() == (1,)
        assert conn.execute("SELECT count(*) FROM hub_queue").fetchone() == (1,)
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
