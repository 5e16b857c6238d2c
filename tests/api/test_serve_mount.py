"""``interchange serve --api-port``: the node process serves its operator API and dashboard."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from interchange.signing import pki

REPO = Path(__file__).resolve().parents[2]
ORGAN = "000.00.13.H53"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def node_config(tmp_path: Path) -> Path:
    """A one-tenant node whose hub is a port nothing listens on: the node keeps retrying
    its axis calls, the API answers."""
    pki.init_ca(tmp_path / "pki")
    key, cert = pki.issue(tmp_path / "pki", ORGAN)
    config = tmp_path / "node.yaml"
    config.write_text(
        f"""
data_dir: {tmp_path / "data"}
axis: {{kind: vxp, url: "http://127.0.0.1:{_free_port()}", systemid: node-1, secret: s3cret-s3cret}}
tenants:
  - organ: "{ORGAN}"
    key: {key}
    cert: {cert}
trust: {{anchors: ["{tmp_path / "pki" / "ca.cert.pem"}"]}}
poll_interval: 0.2
""",
        encoding="utf-8",
    )
    return config


def test_serve_mounts_api_and_dashboard(tmp_path: Path) -> None:
    config = node_config(tmp_path)
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "interchange", "serve", "--config", str(config),
         "--api-port", str(port)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=os.environ.copy(),
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "API never came up"
                time.sleep(0.2)
        assert health.status_code == 200
        login = httpx.get(f"http://127.0.0.1:{port}/ui/login", timeout=5)
        assert login.status_code == 200 and "<form" in login.text
        anonymous = httpx.get(f"http://127.0.0.1:{port}/api/v1/documents", timeout=5)
        assert anonymous.status_code == 401
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
    assert proc.returncode == 0
