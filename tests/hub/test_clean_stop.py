"""``interchange hub serve`` stopped by SIGTERM or Ctrl-C closes its database cleanly.

A clean stop closes every SQLite connection, so SQLite checkpoints the write-ahead log into
the database and removes the ``-wal`` and ``-shm`` files: the database is one file again,
safe to copy, and holds what was written.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from adapters.hmac import sdk_hash_file, sign_headers

from .live import OLD_CODE, SUCCESSOR, SYSTEMS, A, free_port, sample


def _start(tmp: Path, port: int) -> subprocess.Popen[bytes]:
    systems = tmp / "systems.json"
    systems.write_text(
        json.dumps(
            {
                "systems": [
                    {"systemid": s.systemid, "secret": s.secret, "organs": list(s.organs)}
                    for s in SYSTEMS
                ]
            }
        )
    )
    directory = tmp / "directory.json"  # the sample's To is an old code of SUCCESSOR
    directory.write_text(
        json.dumps(
            {"version": 1, "agencies": [{"code": SUCCESSOR, "name": "S", "old_codes": [OLD_CODE]}]}
        )
    )
    argv = [sys.executable, "-m", "interchange", "hub", "serve", "--port", str(port)]
    argv += ["--db", f"sqlite:///{tmp / 'hub.db'}", "--systems", str(systems)]
    argv += ["--directory", str(directory)]
    return subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=_default_sigint
    )


def _default_sigint() -> None:
    """SIGINT as in a terminal, even when the test runs with it ignored (a background job):
    an ignored SIGINT is inherited, and Python then installs no KeyboardInterrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _wait_until_up(proc: subprocess.Popen[bytes], url: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"hub did not start: {proc.communicate()[1].decode()[-2000:]}")
        time.sleep(0.05)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_stop_checkpoints_and_removes_the_wal(tmp_path: Path, sig: signal.Signals) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    data = sample("edoc_new.edxml")
    headers = sign_headers(
        {
            "from": "002.00.20.H13",
            "servicetype": "eDoc",
            "messagetype": "edoc",
            "hash-file": sdk_hash_file(data),
        },
        A.systemid,
        A.secret,
        content_type="application/octet-stream",
    )
    proc = _start(tmp_path, port)
    try:
        _wait_until_up(proc, url)
        sent = httpx.post(url + "/sendEdoc", headers=headers, content=data).json()
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
