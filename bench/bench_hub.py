"""Embedded hub benchmarks: REST round trips per second on loopback (SQLite).

The hub runs as its own process (``interchange hub serve``), the client (``VxpAxis``, one
pooled keep-alive connection) in this one, as in production. Sequential round trips, so
the figure is the latency of one handler plus loopback HTTP; medians of 5 rounds.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from adapters.vxp import VxpAxis

SAMPLES = Path(__file__).resolve().parents[1].parent / "shared" / "samples" / "vxp"
ROUNDS, N = 5, 200
DISTRICTS = [f"000.{i // 100:02d}.{i % 100:02d}.H53" for i in range(705)]
PROVINCE = "000.00.00.H53"


def _directive() -> bytes:
    """A directive addressed to 705 districts (~80 KB), built with the project's builder."""
    from interchange.edxml.build import build_edoc, serialize
    from interchange.edxml.model import DocumentCode, EdocMessage, MessageHeader, Organ

    header = MessageHeader(
        from_=Organ(PROVINCE, organ_name="UBND tỉnh"),
        to=tuple(Organ(c, organ_name="UBND huyện") for c in DISTRICTS),
        document_id=f"{PROVINCE},2026/11/28,1/CT-UBND",
        code=DocumentCode("1", "CT-UBND"),
        subject="Chỉ thị",
    )
    return serialize(build_edoc(EdocMessage(header=header)))


def _start(tmp: Path, port: int) -> subprocess.Popen[bytes]:
    systems = tmp / "systems.json"
    systems.write_text(
        json.dumps(
            {
                "systems": [
                    {
                        "systemid": "s1",
                        "secret": "bench-secret-1",
                        "organs": ["vxp.saas.03", "000.00.00.H41"],
                    },
                    {"systemid": "s2", "secret": "bench-secret-2", "organs": ["000.00.00.G22"]},
                    {"systemid": "p", "secret": "bench-secret-p", "organs": [PROVINCE]},
                    {"systemid": "d", "secret": "bench-secret-d", "organs": DISTRICTS},
                ]
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
            "--port",
            str(port),
            "--db",
            f"sqlite:///{tmp / 'hub.db'}",
            "--systems",
            str(systems),
        ],
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("hub did not start")


def _rate(fn: object, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()  # type: ignore[operator]
    return n / (time.perf_counter() - start)


def main() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    data = (SAMPLES / "874e0f18-90dc-45fb-989a-65401470ba84.edxml").read_bytes()  # 18 KB
    status = (SAMPLES / "status_inbox_01.edxml").read_bytes()
    with tempfile.TemporaryDirectory() as tmp:
        proc = _start(Path(tmp), port)
        try:
            axis = VxpAxis(f"http://127.0.0.1:{port}", "s1", "bench-secret-1")
            g22 = VxpAxis(f"http://127.0.0.1:{port}", "s2", "bench-secret-2")
            send_rates, status_rates, get_rates, list_rates, ack_rates = [], [], [], [], []
            for _ in range(ROUNDS):
                send_rates.append(
                    _rate(lambda: axis.send(data, message_type="edoc", from_organ="vxp.saas.03"), N)
                )
                status_rates.append(
                    _rate(
                        lambda: axis.send(
                            status, message_type="status", from_organ="000.00.00.H41"
                        ),
                        N,
                    )
                )
                items = axis.list_pending("edoc")
                doc = items[0].doc_id
                get_rates.append(_rate(lambda d=doc: axis.fetch(d), N))  # type: ignore[misc]
                list_rates.append(_rate(lambda: g22.list_pending("status"), 50))
                ids = iter([i.doc_id for i in items])
                ack_rates.append(
                    _rate(lambda it=ids: axis.acknowledge(next(it)), min(N, len(items)))
                )  # type: ignore[misc]
                for item in g22.list_pending("status"):
                    g22.acknowledge(item.doc_id)
            print(f"hub_send_edoc_18k_per_s: {statistics.median(send_rates):.0f}")
            print(f"hub_send_status_per_s: {statistics.median(status_rates):.0f}")
            print(f"hub_get_edoc_18k_per_s: {statistics.median(get_rates):.0f}")
            print(f"hub_update_status_per_s: {statistics.median(ack_rates):.0f}")
            print(f"hub_list_200_pending_per_s: {statistics.median(list_rates):.0f}")
            _fanout(port)
            axis.close()
            g22.close()
        finally:
            proc.terminate()
            proc.wait(10)


def _fanout(port: int) -> None:
    """The hub's share of the 705 fan-out: one send per district, then each district's
    list → get → ack, all sequential from one client (no node work, no crypto)."""
    directive = _directive()
    url = f"http://127.0.0.1:{port}"
    with VxpAxis(url, "p", "bench-secret-p") as p, VxpAxis(url, "d", "bench-secret-d") as d:
        start = time.perf_counter()
        for code in DISTRICTS:
            p.send(directive, message_type="edoc", from_organ=PROVINCE, to_organ=code)
        sent = time.perf_counter()
        items = d.list_pending("edoc")
        for item in items:
            d.fetch(item.doc_id)
            d.acknowledge(item.doc_id)
        done = time.perf_counter()
    assert len(items) == len(DISTRICTS)
    print(f"hub_fanout_705_sends_s: {sent - start:.2f}")
    print(f"hub_fanout_705_receive_s: {done - sent:.2f}")


if __name__ == "__main__":
    main()
