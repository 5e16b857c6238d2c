"""``interchange api serve``: the operator API in processes of its own, sharing one port and
one session secret; refusals on one line."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from interchange.api.database import open_database
from interchange.store import auth_tables as auth

from .test_serve_mount import REPO, _free_port

pytestmark = pytest.mark.timeout(120)


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "interchange", "api", "serve", *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
        start_new_session=True,  # a failing test can end the workers with their supervisor
    )


def _up(proc: subprocess.Popen[str], port: int) -> None:
    deadline = time.monotonic() + 60
    while True:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
            return
        except httpx.TransportError:
            assert time.monotonic() < deadline, "the API never came up"
            time.sleep(0.2)


def _server_pids(port: int) -> Counter[int]:
    """The processes holding established connections on ``port``, with how many each holds
    (from /proc)."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            f = line.split()
            if int(f[1].rsplit(":", 1)[1], 16) == port and f[3] == "01":  # ESTABLISHED
                inodes.add(f[9])
    pids: Counter[int] = Counter()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            for fd in (proc / "fd").iterdir():
                link = os.readlink(fd)
                if link.startswith("socket:[") and link[8:-1] in inodes:
                    pids[int(proc.name)] += 1
        except OSError:
            continue
    return pids


def test_workers_share_the_port_and_the_sessions(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'node.db'}"
    engine = open_database(url)
    with engine.begin() as conn:
        token = auth.add_user(conn, "lan", "viewer", ["*"]).token
    engine.dispose()
    port = _free_port()
    proc = _cli("--db", url, "--port", str(port), "--workers", "2")
    try:
        _up(proc, port)
        headers = {"Authorization": f"Bearer {token}"}
        clients = [httpx.Client(base_url=f"http://127.0.0.1:{port}") for _ in range(16)]
        for c in clients:  # 16 kept-alive connections, dealt in turn: 8 to each process
            r = c.get("/api/v1/documents", headers=headers)
            assert r.status_code == 200 and r.json() == {"items": [], "next_cursor": None}
        held = _server_pids(port)
        del held[os.getpid()]  # our own ends of the connections
        assert sorted(held.values()) == [8, 8], held
        # A dashboard session made by one process is honoured by the other: sign in on one
        # connection, then read on fresh connections, whichever process takes them.
        browser = httpx.Client(base_url=f"http://127.0.0.1:{port}")
        form = browser.get("/ui/login")
        nonce = form.text.split('name="nonce" value="', 1)[1].split('"', 1)[0]
        r = browser.post(
            "/ui/login",
            data={"token": token, "nonce": nonce, "next": "/ui/"},
            follow_redirects=True,
        )
        assert r.status_code == 200 and "lan" in r.text
        cookies = dict(browser.cookies)
        for _ in range(12):
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", cookies=cookies) as fresh:
                page = fresh.get("/ui/documents", follow_redirects=False)
                assert page.status_code == 200, page.headers.get("location")
        for c in (*clients, browser):
            c.close()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", port)) != 0, "a process was left serving"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "error: give exactly one of --config and --db"),
        (("--db", "x.db", "--config", "pyproject.toml"), "error: give exactly one of"),
        (("--db", "{db}", "--host", "0.0.0.0"), "error: settings: Value error, a public"),
        (("--db", "{db}", "--port", "{busy}"), "error: cannot listen on 127.0.0.1:{busy}"),
    ],
)
def test_refusals_are_one_line(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    db = f"sqlite:///{tmp_path / 'node.db'}"
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        filled = [a.format(db=db, busy=port) for a in args]
        proc = _cli(*filled)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(message.format(busy=port)), err


def test_workers_end_with_their_supervisor_even_when_it_is_killed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'node.db'}"
    open_database(url).dispose()  # api serve opens a node's database, never makes one
    port = _free_port()
    proc = _cli("--db", url, "--port", str(port), "--workers", "2")
    try:
        _up(proc, port)
        proc.kill()  # SIGKILL: no chance to terminate its workers itself
        proc.wait(timeout=10)
        deadline = time.monotonic() + 20
        while True:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) != 0:
                    break
            assert time.monotonic() < deadline, "a worker outlived its supervisor"
            time.sleep(0.2)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
