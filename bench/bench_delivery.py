"""Delivery benchmarks on a whole network of real processes on loopback.

- ``fanout_705_s``: a directive from one province's department to the 705 districts of a
  synthetic national directory, all hosted by one node (SQLite, embedded hub): seconds from
  the submit call until all 705 acceptances (03) are back in the sender's store. Median of
  rounds on one running network (5 after a warm-up; 2 when a round takes over 20 s).
  Goal <= 5 s.
- ``crypto_share``: the fraction of the CPU time of all processes (hub, sender, districts
  node) during those fan-outs spent in signing (``sign_tree``) and verification
  (``verify_document``), counted per thread inside the nodes (``instrumented_node.py``).
  Also printed: where the CPU went per process.
- ``throughput_docs_s``: conclusions submitted back to back by the department, forwarded by
  routing to the Ministry Inspectorate: documents per second from the first submit until all
  are stored ("arrived") at the Ministry's node, SQLite. ``throughput_docs_s_pg_2workers``:
  the same with the sender on PostgreSQL with 2 worker processes, when
  ``INTERCHANGE_TEST_PG_URL`` is set. Goal >= 200 / s. One conclusion goes end to end
  before the clock starts (start-up and warm-up are not sustained throughput). Median of 5
  rounds of 400 on one running network (a single round of two seconds read up to 10 %
  apart from the next on this shared machine, and a median of 3 up to 8 % apart from the
  next run's); a round starts once every conclusion
  before it is stored and answered, so no round inherits the tail of the one before.

Keys are ECDSA P-256 (generating 700 RSA keys would dominate set-up; set-up is not timed).
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

from interchange.demo.network import Network, prepare
from interchange.demo.procs import wait_until
from interchange.demo.scenario import Cast, FanOut, conclusion, fanout_directive, fanout_spec
from interchange.demo.spec import Timings
from interchange.store.db import normalise_url

ROUNDS = int(os.environ.get("BENCH_DELIVERY_ROUNDS", "5"))
THROUGHPUT_DOCS = int(os.environ.get("BENCH_DELIVERY_DOCS", "400"))
THROUGHPUT_ROUNDS = int(os.environ.get("BENCH_DELIVERY_TP_ROUNDS", "5"))
SLOW_ROUND_S = 20.0
HERE = Path(__file__).resolve().parent
LAUNCHER = (sys.executable, str(HERE / "instrumented_node.py"))
TIMINGS = Timings(poll_interval_s=0.05, retry_base_s=0.2, retry_max_s=2.0, lease_s=30.0, batch=100)
_TICK = os.sysconf("SC_CLK_TCK")


def _cpu_of(pid: int | None) -> float:
    """User + system CPU seconds of a process (and its reaped children) from /proc."""
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15]) / _TICK


def _snapshot(net: Network, files: dict[str, Path]) -> dict[str, dict[str, float]]:
    for name in files:
        net.nodes[name].signal(signal.SIGUSR1)
    time.sleep(0.3)
    out: dict[str, dict[str, float]] = {"hub": {"cpu_s": _cpu_of(net.hub.pid)}}
    for name, path in files.items():
        out[name] = json.loads(path.read_text(encoding="utf-8"))
    return out


def _cast(fan: FanOut) -> Cast:
    return Cast(fan.inspectorate, fan.sender, fan.provinces[0], fan.districts, fan.names)


def bench_fanout(root: Path) -> tuple[list[float], dict[str, dict[str, float]]]:
    files = {"sender": root / "crypto-sender.json", "districts": root / "crypto-districts.json"}
    fan = fanout_spec(
        root / "dir",
        timings=TIMINGS,
        sender_env=(("INTERCHANGE_BENCH_CRYPTO_FILE", str(files["sender"])),),
        districts_env=(("INTERCHANGE_BENCH_CRYPTO_FILE", str(files["districts"])),),
    )
    spec = replace(fan.spec, nodes=tuple(replace(n, launcher=LAUNCHER) for n in fan.spec.nodes))
    assert len(fan.districts) == 705
    times: list[float] = []
    with Network(prepare(spec, root / "fanout"), startup_timeout=180) as net:
        sender = net.stores["sender"]
        net.client("sender")  # load the sender's keys before timing
        before = _snapshot(net, files)
        rounds = ROUNDS + 1  # the first round warms caches and connections
        while len(times) < rounds:
            started = time.perf_counter()
            sent = net.submit("sender", fan.sender, fanout_directive(fan))

            def done(doc: str = sent.document_id) -> bool:
                with sender.engine.connect() as conn:
                    return (
                        conn.execute(
                            text(
                                "SELECT count(*) FROM deliveries d JOIN documents o "
                                "ON o.id = d.document_pk WHERE o.document_id = :doc "
                                "AND d.state = 'accepted'"
                            ),
                            {"doc": doc},
                        ).scalar()
                        == 705
                    )

            wait_until(done, timeout=300, interval=0.02, what="705 acceptances")
            times.append(time.perf_counter() - started)
            if times[0] > SLOW_ROUND_S:  # far from the goal: fewer rounds say as much
                rounds = min(rounds, 3)
        after = _snapshot(net, files)
    delta = {
        name: {k: after[name][k] - before[name].get(k, 0.0) for k in after[name]} for name in after
    }
    return times[1:], delta


def _count(engine: Engine, sql: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(sql)).scalar_one())


def _arrived(ministry: Engine, n: int, *, timeout: float) -> None:
    """Until ``n`` conclusions are stored at the Ministry.

    A count, not the inbox's rows: the poll must cost next to nothing. Every 50 ms, then
    every 5 ms for the last 20: at a fixed 50 ms a round's end was read up to 50 ms late,
    2.5 % of a round of two seconds, always against the figure."""
    deadline = time.monotonic() + timeout
    while (got := _count(ministry, "SELECT count(*) FROM inbox_items")) < n:
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s: {got} of {n} at the Ministry")
        time.sleep(0.05 if n - got > 20 else 0.005)


def bench_throughput(root: Path, db_url: str | None = None, workers: int = 1) -> list[float]:
    """Conclusions per second, one value per round, on one running network."""
    fan = fanout_spec(
        root / "dir", provinces=1, districts_total=1, timings=TIMINGS, with_ministry=True
    )
    nodes = tuple(
        replace(n, db_url=db_url, workers=workers) if n.name == "sender" else n
        for n in fan.spec.nodes
        if n.name != "districts"
    )
    spec = replace(fan.spec, nodes=nodes)
    cast = _cast(fan)
    with Network(prepare(spec, root / "throughput"), startup_timeout=120) as net:
        ministry, sender = net.stores["ministry"].engine, net.stores["sender"].engine
        client = net.client("sender")

        def settled(total: int) -> None:
            """Every conclusion so far stored at the Ministry and answered (03) back at the
            sender: a round starts with no work of the one before still in flight."""
            wait_until(
                lambda: (
                    _count(ministry, "SELECT count(*) FROM inbox_items") >= total
                    and _count(sender, "SELECT count(*) FROM deliveries WHERE state = 'accepted'")
                    >= total
                ),
                timeout=600,
                interval=0.05,
                what=f"{total} conclusions stored and answered",
            )

        # one conclusion end to end first, untimed: a node with worker processes reports
        # ready before its workers have started (about a second on PostgreSQL), which is
        # start-up, not sustained throughput; it also warms caches, as the fan-out's
        # first round does
        client.submit_payload(cast.department, conclusion(cast, number=uuid.uuid4().hex[:8]))
        total = 1
        settled(total)
        rates: list[float] = []
        for _ in range(THROUGHPUT_ROUNDS):
            payloads = [
                conclusion(cast, number=f"{n + 1}{uuid.uuid4().hex[:6]}")
                for n in range(THROUGHPUT_DOCS)
            ]
            started = time.perf_counter()
            for p in payloads:
                client.submit_payload(cast.department, p)
            total += THROUGHPUT_DOCS

            _arrived(ministry, total, timeout=600)
            rates.append(THROUGHPUT_DOCS / (time.perf_counter() - started))
            settled(total)
        return rates


def _fresh_pg_database(base: str) -> tuple[str, str]:
    url = make_url(normalise_url(base))
    name = f"ic_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False), name


def _drop_pg_database(base: str, name: str) -> None:
    admin = create_engine(make_url(normalise_url(base)), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _report(name: str, rates: list[float]) -> None:
    print(f"{name}: {statistics.median(rates):.0f}")
    print(f"{name}_rounds: {' '.join(f'{r:.0f}' for r in rates)}")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="interchange-bench-delivery-") as tmp:
        root = Path(tmp)
        times, cpu = bench_fanout(root / "a")
        print(f"fanout_705_s: {statistics.median(times):.2f}")
        print(f"fanout_705_s_rounds: {' '.join(f'{t:.2f}' for t in times)}")
        crypto = sum(cpu[n].get("sign_s", 0.0) + cpu[n].get("verify_s", 0.0) for n in cpu)
        total = sum(cpu[n]["cpu_s"] for n in cpu)
        print(f"crypto_share: {crypto / total:.3f}")
        for name, d in cpu.items():
            extra = ""
            if "sign_s" in d:
                extra = (
                    f" sign {d['sign_s']:.2f} s ({int(d['sign_n'])}),"
                    f" verify {d['verify_s']:.2f} s ({int(d['verify_n'])})"
                )
            print(f"fanout_cpu_{name}_s: {d['cpu_s']:.2f}  #{extra}")
        _report("throughput_docs_s", bench_throughput(root / "b"))
        pg = os.environ.get("INTERCHANGE_TEST_PG_URL")
        if pg:
            url, name = _fresh_pg_database(pg)
            try:
                rates = bench_throughput(root / "c", db_url=url, workers=2)
                _report("throughput_docs_s_pg_2workers", rates)
            finally:
                _drop_pg_database(pg, name)


if __name__ == "__main__":
    main()
