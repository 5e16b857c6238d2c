"""A drop folder whose files cannot be moved stops nothing else and is logged once, in a line.

The real condition (it holds for root too, unlike permission bits): ``done`` (or ``failed``)
exists as a regular file, so no file could be moved out of the folder after its submission.
The node then submits none of them, logs one line naming the folder and the reason (no
traceback), not again on every pass, and its other steps (the inbox, the dead-letter sweep)
keep running.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from sqlalchemy import func, select

from adapters.base import Axis
from adapters.memory import MemoryAxis, MemoryHub
from interchange.delivery import queries
from interchange.node.config import AxisConfig, parse_config
from interchange.node.node import Node
from interchange.payloads import load_payload
from interchange.signing.pki import init_ca, issue
from interchange.store.tables import documents

from .test_cli import serve, unreachable_node_config

REPO = Path(__file__).resolve().parents[2]
DEPT = "000.00.13.H53"
INSPECTORATE = "000.00.02.G14"
LOGGER = "interchange.node.node"


@pytest.fixture
def hub() -> MemoryHub:
    hub = MemoryHub()
    MemoryAxis(hub, "ministry", [INSPECTORATE])  # a known recipient that never polls
    return hub


@pytest.fixture
def node(tmp_path: Path, hub: MemoryHub) -> Iterator[Node]:
    ca = init_ca(tmp_path / "ca")
    key, cert = issue(ca.dir, DEPT, out_dir=tmp_path / "keys")

    def axis(cfg: AxisConfig, organs: Sequence[str]) -> Axis:
        return MemoryAxis(hub, cfg.systemid, organs)

    cfg = parse_config(
        {
            "data_dir": str(tmp_path / "data"),
            "axis": {"kind": "memory", "systemid": "dept"},
            "tenants": [{"organ": DEPT, "key": str(key), "cert": str(cert), "drop_folder": "drop"}],
            "trust": {"anchors": [str(ca.cert_path)]},
            "poll_interval": 0.05,
            "max_age": 0.5,
        },
        base_dir=tmp_path,
    )
    n = Node(cfg, axis_factory=axis)
    yield n
    n.close()


def _stored(node: Node) -> int:
    with node.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(documents)).scalar_one())


def _signed(node: Node, number: str) -> bytes:
    payload = load_payload("conclusion", REPO / "examples" / "conclusion.yaml")
    payload = payload.model_copy(update={"number": number})
    return node.codec.package(DEPT, payload, [INSPECTORATE]).data


def _drop_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == LOGGER and "drop folder" in r.getMessage()]


def test_unusable_drop_folder_is_logged_once_and_the_loop_goes_on(
    node: Node, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "done").write_text("not a folder\n")
    waiting = _signed(node, "41")
    (drop / "kl41.edxml").write_bytes(waiting)
    # a document sent long enough ago that the dead-letter sweep must expire it
    node.submit_payload(
        DEPT,
        load_payload("conclusion", REPO / "examples" / "conclusion.yaml"),
        recipients=[INSPECTORATE],
    )
    assert node.outbox_once() == 1
    [row] = queries.delivery_table(node.engine)
    assert row.state == "sent"
    time.sleep(0.6)  # past max_age

    caplog.set_level(logging.WARNING)
    stop = threading.Event()
    runner = threading.Thread(target=node.run, args=(stop,), daemon=True)
    runner.start()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if [r.state for r in queries.delivery_table(node.engine)] == ["dead"]:
                break
            time.sleep(0.05)
        time.sleep(1.0)  # about twenty more passes of the loop (poll_interval 0.05)
    finally:
        stop.set()
        runner.join(timeout=30)
    assert not runner.is_alive()

    # the sweep after the drop step ran
    assert [r.state for r in queries.delivery_table(node.engine)] == ["dead"]
    # one line, once, naming the folder and the reason; no traceback anywhere
    [record] = _drop_records(caplog)
    message = record.getMessage()
    assert record.levelno == logging.ERROR and record.exc_info is None
    assert "\n" not in message
    assert str(drop) in message and f"{drop / 'done'}: exists but is not a directory" in message
    assert not [r for r in caplog.records if r.exc_info], [r.getMessage() for r in caplog.records]
    # nothing was submitted while its file could not be moved
    assert (drop / "kl41.edxml").read_bytes() == waiting
    assert _stored(node) == 1

    # another failure is logged (once); the same one again is not
    caplog.clear()
    (drop / "done").unlink()
    (drop / "failed").write_text("not a folder either\n")
    assert node.drop_once() == [] and node.drop_once() == []
    [record] = _drop_records(caplog)
    assert f"{drop / 'failed'}: exists but is not a directory" in record.getMessage()
    assert _stored(node) == 1

    # repaired: the file goes through, and the log says so once
    caplog.clear()
    (drop / "failed").unlink()
    [res] = node.drop_once()
    assert res.ok and res.path == drop / "done" / "kl41.edxml"
    assert node.drop_once() == []
    [record] = _drop_records(caplog)
    assert record.getMessage() == f"drop folder {drop} is usable again"
    assert _stored(node) == 2


def test_serve_logs_an_unusable_drop_folder_in_one_line(tmp_path: Path) -> None:
    """The command as operators run it: no traceback on stderr, one line for the folder."""
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "done").write_text("not a folder\n")
    (drop / "kl.edxml").write_bytes(b"<waiting/>")
    cfg = unreachable_node_config(tmp_path, DEPT, poll_interval=0.1, drop_folder="drop")
    proc = serve(cfg)
    try:
        deadline = time.monotonic() + 30
        db = tmp_path / "data" / "node.db"
        while time.monotonic() < deadline and not db.exists():
            time.sleep(0.1)
        assert db.exists(), "node did not start"
        time.sleep(3)  # about thirty passes of the loop
        assert proc.poll() is None
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=40)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if "drop folder" in ln]
    assert len(lines) == 1, err
    assert f"drop folder {drop} is not usable" in lines[0]
    assert f"{drop / 'done'}: exists but is not a directory" in lines[0]
    assert (drop / "kl.edxml").exists()
