"""``interchange hub serve`` as a real process; a replayed send refused after a restart."""

from __future__ import annotations

import contextlib
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx

from adapters.vxp import VxpAxis

from .live import (
    SUCCESSOR,
    B,
    free_port,
    sample,
    sample_send_headers,
    start_hub_process,
    wait_until_up,
)


@contextlib.contextmanager
def hub_process(tmp: Path, port: int) -> Iterator[str]:
    proc = start_hub_process(tmp, port)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(proc, url)
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
    headers = sample_send_headers(data)
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
