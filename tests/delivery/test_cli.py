"""``interchange db upgrade`` and ``interchange serve``: migrations, clean stop on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml
from sqlalchemy import inspect

from interchange.signing.pki import init_ca, issue
from interchange.store.db import make_engine
from interchange.store.migrate import current_revision, head_revision

REPO = Path(__file__).resolve().parents[2]


def unreachable_node_config(
    tmp_path: Path,
    organ: str = "000.00.13.H53",
    *,
    poll_interval: float | None = None,
    drop_folder: str | None = None,
) -> Path:
    """A one-tenant node config (with a throw-away CA) whose axis nobody listens on: the node
    keeps running and retries quietly."""
    ca = init_ca(tmp_path / "ca")
    key, cert = issue(ca.dir, organ, out_dir=tmp_path / "keys")
    (tmp_path / "secret").write_text("s3cret-s3cret\n")
    tenant: dict[str, str] = {"organ": organ, "key": str(key), "cert": str(cert)}
    if drop_folder is not None:
        tenant["drop_folder"] = drop_folder
    config: dict[str, object] = {
        "data_dir": "data",
        "axis": {
            "kind": "vxp",
            "url": "http://127.0.0.1:9",
            "systemid": "h53",
            "secret_file": "secret",
            "timeout": 1,
        },
        "tenants": [tenant],
        "trust": {"anchors": [str(ca.cert_path)]},
    }
    if poll_interval is not None:
        config["poll_interval"] = poll_interval
    cfg = tmp_path / "node.yaml"
    cfg.write_text(yaml.safe_dump(config))
    return cfg


def serve(cfg: Path, *args: str) -> subprocess.Popen[str]:
    """``interchange serve --config cfg ARGS`` as operators run it, output captured."""
    return subprocess.Popen(
        [sys.executable, "-m", "interchange", "serve", "--config", str(cfg), *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "interchange", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
    )


def test_db_upgrade_creates_every_table_and_is_idempotent(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    for _ in range(2):
        res = run("db", "upgrade", "--db", url)
        assert res.returncode == 0, res.stderr
    engine = make_engine(url)
    assert current_revision(engine) == head_revision()
    names = set(inspect(engine).get_table_names())
    assert {
        "tenants",
        "documents",
        "deliveries",
        "events",
        "inbox_items",
        "status_messages",
    } <= names
    engine.dispose()


def test_db_upgrade_needs_a_target() -> None:
    res = run("db", "upgrade")
    assert res.returncode == 1 and res.stderr.startswith("error:")
    assert "Traceback" not in res.stderr


def test_serve_refuses_a_bad_config(tmp_path: Path) -> None:
    cfg = tmp_path / "node.yaml"
    cfg.write_text("data_dir: ./d\ntenants: []\n")
    res = run("serve", "--config", str(cfg))
    assert res.returncode == 1 and "tenants" in res.stderr and "Traceback" not in res.stderr


def test_serve_migrates_runs_and_stops_on_sigterm(tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    cfg = unreachable_node_config(tmp_path, poll_interval=0.2, drop_folder="drop")
    proc = serve(cfg, "--workers", "2")
    try:
        deadline = time.monotonic() + 30
        db = tmp_path / "data" / "node.db"
        while time.monotonic() < deadline and not (db.exists() and drop.is_dir()):
            time.sleep(0.1)
        assert db.exists() and drop.is_dir(), "node did not start"
        time.sleep(0.5)
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=40)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    engine = make_engine(f"sqlite:///{db}")
    assert current_revision(engine) == head_revision()
    engine.dispose()
