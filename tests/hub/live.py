"""A real uvicorn server on loopback in a thread, and the test world it serves.

The world: three calling systems and a small directory in which ``28.22.H17`` (the To of
the operator's ``edoc_new.edxml`` sample) is the old code of ``000.00.41.H53``.
"""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from adapters.hmac import sdk_hash_file, sign_headers
from interchange.hub import HubConfig, SystemConfig, create_hub_app
from interchange.organs import Agency, Directory
from interchange.serving import server_config
from interchange.store.hub_tables import hub_blobs, hub_messages, hub_queue

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "samples" / "vxp"

A = SystemConfig("sys-a", "secret-of-a-0001", ("002.00.20.H13", "000.00.00.G22"))
B = SystemConfig("sys-b", "secret-of-b-0002", ("000.00.41.H53", "000.00.00.H41"))
C = SystemConfig("sys-c", "secret-of-c-0003", ("000.00.00.G14",))
SYSTEMS = (A, B, C)

OLD_CODE, SUCCESSOR = "28.22.H17", "000.00.41.H53"


def directory() -> Directory:
    return Directory(
        [
            Agency(code=SUCCESSOR, name="Sở TT&TT (successor)", old_codes=(OLD_CODE,)),
            Agency(code="000.00.00.H41", name="UBND tỉnh Nghệ An"),
            Agency(code="000.00.00.G22", name="Văn phòng Chính phủ", email="vpcp@gov.vn"),
            Agency(code="002.00.20.H13", name="UBND xã Hòa Tiến"),
            Agency(code="000.00.00.G14", name="Bộ TT&TT"),
            Agency(code="000.00.00.H14", name="UBND tỉnh (directory only, no system)"),
            Agency(code="000.00.00.G17", name="Bộ (directory only, no system)"),
        ]
    )


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveHub:
    app: FastAPI
    url: str

    @property
    def engine(self) -> Engine:
        return self.app.state.hub.engine  # type: ignore[no-any-return]

    def counts(self) -> tuple[int, int]:
        """(messages, queue rows) stored: the 'nothing stored' assertions read this."""
        with self.engine.connect() as conn:
            m = conn.execute(select(func.count()).select_from(hub_messages)).scalar_one()
            q = conn.execute(select(func.count()).select_from(hub_queue)).scalar_one()
        return int(m), int(q)

    def blobs(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(hub_blobs)).scalar_one())


@contextlib.contextmanager
def serve(app: FastAPI, port: int | None = None) -> Iterator[str]:
    port = port or free_port()
    server = uvicorn.Server(
        server_config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("hub did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@contextlib.contextmanager
def live_hub(db_path: Path | str, **overrides: object) -> Iterator[LiveHub]:
    """A hub on a SQLite file (a Path) or on a database URL (a str); its WSDL names the
    address it is served at, as ``hub serve`` does by default."""
    port = free_port()
    values: dict[str, object] = {
        "systems": SYSTEMS,
        "directory": directory(),
        "public_url": f"http://127.0.0.1:{port}",
        **overrides,
    }
    config = HubConfig(
        db_url=db_path if isinstance(db_path, str) else f"sqlite:///{db_path}",
        **values,  # type: ignore[arg-type]
    )
    app = create_hub_app(config)
    try:
        with serve(app, port) as url:
            yield LiveHub(app, url)
    finally:
        app.state.hub.close()


# --- ``interchange hub serve`` as a real process ---------------------------------------------


def start_hub_process(
    tmp: Path, port: int, *, preexec_fn: Callable[[], None] | None = None
) -> subprocess.Popen[bytes]:
    """``hub serve`` on ``tmp/hub.db`` with ``SYSTEMS`` and a directory where ``OLD_CODE``
    (the samples' To) became ``SUCCESSOR``; not yet answering (``wait_until_up``)."""
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
            {"version": 1, "agencies": [{"code": SUCCESSOR, "name": "S", "old_codes": [OLD_CODE]}]}
        )
    )
    argv = [sys.executable, "-m", "interchange", "hub", "serve", "--host", "127.0.0.1"]
    argv += ["--port", str(port), "--db", f"sqlite:///{tmp / 'hub.db'}"]
    argv += ["--systems", str(systems), "--directory", str(directory)]
    return subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=preexec_fn
    )


def wait_until_up(proc: subprocess.Popen[bytes], url: str, timeout: float = 30) -> None:
    """Until the hub answers ``/health``; its stderr in the error if it ended or timed out."""
    deadline = time.monotonic() + timeout
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


def sample_send_headers(data: bytes) -> dict[str, str]:
    """``A``'s signed ``sendEdoc`` headers for a sample sent from its agency 002.00.20.H13."""
    return sign_headers(
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
