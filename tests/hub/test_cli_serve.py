"""``interchange hub serve`` as a real process; a replayed send refused after a restart."""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from adapters.hmac import sdk_hash_file, sign_headers
from adapters.vxp import VxpAxis

from .live import OLD_CODE, SUCCESSOR, SYSTEMS, A, B, free_port, sample


@contextlib.contextmanager
def hub_process(tmp: Path, port: int) -> Iterator[str]:
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
    directory = tmp / "directory.json"
    directory.write_text(
        json.dumps(
            {
                "version": 1,
                "agencies": [
                    {"code": SUCCESSOR, "name": "Successor", "old_codes": [OLD_CODE]},
                ],
            }
        )
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "interchange",
            "hub",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--db",
            f"sqlite:///{tmp / 'hub.db'}",
            "--systems",
            str(systems),
            "--directory",
            str(directory),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(url + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"hub did not start: {proc.communicate()[1].decode()[-2000:]}")
            time.sleep(0.05)
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_serve_route_and_durable_replay_refusal(tmp_path: Path) -> None:
    port = free_port()
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
    with hub_process(tmp_path, port) as url:
        first = httpx.post(url + "/sendEdoc", headers=headers, content=data + b"\r\n").json()
        assert first["status"] == "OK", first
        with VxpAxis(url, B.systemid, B.secret) as b:
            items = b.list_pending("edoc")
            assert [i.to_organ for i in items] == [SUCCESSOR]
    with hub_process(tmp_path, port) as url:  # restarted: the in-memory replay cache is gone
        again = httpx.post(url + "/sendEdoc", headers=headers, content=data + b"\r\n").json()
        assert again["status"] == "FAIL" and again["ErrorCode"] == "401" and again["DocId"] == ""
        with VxpAxis(url, B.systemid, B.secret) as b:
            assert len(b.list_pending("edoc")) == 1  # stored before, still offered, not doubled
