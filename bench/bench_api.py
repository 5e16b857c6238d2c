"""``api_p99_ms``: the operator API's document list and detail under 50 concurrent clients.

The store holds 100 000 deliveries (1 000 signed directives × 100 recipients, each delivery
with its timeline events). The API runs as ``interchange api serve`` on loopback with
``WORKERS`` processes (2 by default: one per core of this machine;
``INTERCHANGE_BENCH_API_WORKERS``), which take the connections in turn. The load is 50
closed-loop clients, each on its own kept-alive connection sending its next request as soon
as the last is answered (like ``wrk -c 50``; ``bench/loadgen.py``, cheap enough not to steal
the server's CPU), alternating between the list (``GET /api/v1/documents``, 50 per page,
random filters) and one document's detail (100 recipients with their timelines). Five rounds
of 1 000 requests; the median of the rounds' p99 is reported per endpoint. Also: a paced run (each
client once a second, a dashboard refreshing) and ``/healthz`` through the same server and
clients as the machine's floor. SQLite always; PostgreSQL when ``INTERCHANGE_TEST_PG_URL``
is set. Goal: p99 ≤ 100 ms.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool

from bench import loadgen
from bench.loadgen import Next, Sample

DOCS = 1000
PER_DOC = 100
CLIENTS = 50
QUICK = os.environ.get("INTERCHANGE_BENCH_QUICK") == "1"
REQUESTS_PER_ROUND = 300 if QUICK else 1000
ROUNDS = 2 if QUICK else 5
ROUND_TIMEOUT = 120.0
PACED_PER_CLIENT = 8  # the paced run: each client asks once a second (a dashboard refreshing)
WORKERS = int(os.environ.get("INTERCHANGE_BENCH_API_WORKERS", "2"))
FILTERS = ["", "?state=failed", "?overdue=true", "?q=STTTT", "?state=dead&limit=20"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _signed_directive(tmp: Path, sender: str, recipients: list[str]) -> tuple[bytes, Any]:
    import yaml

    from interchange.packaging import package_document
    from interchange.payloads import payload_from_dict
    from interchange.signing import pki
    from interchange.signing.sign import load_signing_key

    ca = pki.init_ca(tmp / "ca")
    key_path, cert_path = pki.issue(ca.dir, sender, out_dir=tmp / "keys")
    key = load_signing_key(key_path, cert_path)
    repo = Path(__file__).resolve().parents[1]
    data = yaml.safe_load((repo / "examples" / "directive.yaml").read_text("utf-8"))
    data.pop("targets", None)
    data["recipients"] = recipients[:5]
    packaged = package_document(
        payload=payload_from_dict("directive", data),
        sender=sender,
        recipients=recipients[:5],
        key=key,
    )
    return packaged.data, packaged.message


def populate(engine: Engine, tmp: Path) -> tuple[str, list[int]]:
    """1 000 documents × 100 deliveries, 3 events each; returns a token and the document ids."""
    from interchange.store import auth_tables as auth
    from interchange.store.ops import sha256_hex, utcnow
    from interchange.store.tables import deliveries, documents, events, tenants

    sender = "000.00.13.H53"
    recipients = [f"{i:03d}.{j:02d}.31.H53" for i in range(10) for j in range(10)]
    data, message = _signed_directive(tmp, sender, recipients)
    states = ["queued", "sent", "arrived", "accepted", "completed", "failed", "dead", "refused"]
    rng = random.Random(7)
    now = utcnow()
    with engine.begin() as conn:
        tid = conn.execute(
            insert(tenants).values(
                organ_code=sender, name="Sở TT&TT", auto_accept=True, created_at=now
            )
        ).inserted_primary_key[0]
        doc_rows = [
            {
                "tenant_id": tid,
                "direction": "out",
                "message_type": "edoc",
                "dedupe_key": f"{message.document_id}#{i}",
                "document_id": f"{message.document_id}#{i}",
                "sender": sender,
                "recipients": " ".join(recipients),
                "kind": "directive",
                "subject": f"{message.header.subject} ({i})",
                "code": f"{i}/STTTT-TTra",
                "due_date": (now - dt.timedelta(days=rng.randint(-20, 20))).date(),
                "bussiness_type": 0,
                "payload_kind": "directive",
                "data": data,
                "sha256": sha256_hex(data),
                "created_at": now - dt.timedelta(minutes=DOCS - i),
            }
            for i in range(DOCS)
        ]
        conn.execute(insert(documents), doc_rows)
        doc_ids = list(conn.execute(select(documents.c.id).order_by(documents.c.id)).scalars())
        for chunk in range(0, DOCS, 100):
            rows = []
            for pk in doc_ids[chunk : chunk + 100]:
                for r in recipients:
                    rows.append(
                        {
                            "document_pk": pk,
                            "tenant_id": tid,
                            "recipient": r,
                            "state": rng.choice(states),
                            "attempts": 1,
                            "created_at": now,
                            "updated_at": now,
                            "sent_at": now,
                        }
                    )
            conn.execute(insert(deliveries), rows)
        ev = []
        for did, pk in conn.execute(select(deliveries.c.id, deliveries.c.document_pk)):
            for n, (name, to) in enumerate(
                (("queued", "queued"), ("send_ok", "sent"), ("status_01", "arrived"))
            ):
                ev.append(
                    {
                        "tenant_id": tid,
                        "document_pk": pk,
                        "delivery_id": did,
                        "at": now + dt.timedelta(seconds=n),
                        "event": name,
                        "to_state": to,
                        "hop": "axis",
                    }
                )
            if len(ev) >= 30000:
                conn.execute(insert(events), ev)
                ev = []
        if ev:
            conn.execute(insert(events), ev)
        token = auth.add_user(conn, "bench", "viewer", [sender]).token
    return token, doc_ids


def _vacuum(url: str) -> None:
    """What autovacuum does within a minute of a bulk load: statistics for the planner, and
    the visibility map that lets the state counts read the index alone (without it every
    count reads 5 000 heap rows: twice the database's CPU). The first VACUUM after the load
    leaves the map empty here (PostgreSQL 15), the second fills it; the share is printed."""
    from sqlalchemy import create_engine

    from interchange.store.db import normalise_url

    vac = create_engine(normalise_url(url), isolation_level="AUTOCOMMIT", poolclass=NullPool)
    visible = 0.0
    with vac.connect() as conn:
        for _ in range(3):
            conn.execute(text("VACUUM ANALYZE"))
            visible = conn.execute(
                text(
                    "SELECT relallvisible::float / greatest(relpages, 1) FROM pg_class"
                    " WHERE relname = 'deliveries'"
                )
            ).scalar_one()
            if visible > 0.9:
                break
    vac.dispose()
    print(f"api_pg_deliveries_all_visible: {visible:.2f}", flush=True)


def _mix(doc_ids: list[int], seed: int) -> Next:
    """Alternate list and detail; the list with a random filter, the detail of a random
    document."""
    rng = random.Random(seed)
    turn = [0]

    def next_request() -> tuple[str, str]:
        turn[0] += 1
        if turn[0] % 2:
            return "list", f"/api/v1/documents{rng.choice(FILTERS)}"
        return "detail", f"/api/v1/documents/{rng.choice(doc_ids)}"

    return next_request


def _p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[98]


def measure(url: str, label: str) -> None:
    from interchange.api.database import open_database

    tmp = Path(tempfile.mkdtemp(prefix="ix-bench-api-"))
    engine = open_database(url)
    started = time.perf_counter()
    token, doc_ids = populate(engine, tmp)
    engine.dispose()
    if url.startswith("postgresql"):
        _vacuum(url)
    print(f"api_populate_s_{label}: {time.perf_counter() - started:.1f}", flush=True)
    port = _free_port()
    server = subprocess.Popen(
        [
            *("interchange", "api", "serve", "--db", url, "--port", str(port)),
            *("--workers", str(WORKERS)),
        ],
        executable=shutil.which("interchange", path=str(Path(sys.executable).parent)),
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("the API server did not start")
            time.sleep(0.1)
        headers = {"Authorization": f"Bearer {token}"}

        def load(next_request: Next, total: int, pace_s: float | None = None) -> Sample:
            return loadgen.run(
                "127.0.0.1",
                port,
                next_request,
                clients=CLIENTS,
                total=total,
                headers=headers,
                pace_s=pace_s,
                timeout_s=ROUND_TIMEOUT,
            )

        load(_mix(doc_ids, 0), REQUESTS_PER_ROUND)  # warm-up (caches, connections)
        p99s: dict[str, list[float]] = {"list": [], "detail": []}
        p50s: dict[str, list[float]] = {"list": [], "detail": []}
        rates, errors = [], 0
        for i in range(ROUNDS):
            sample = load(_mix(doc_ids, i + 1), REQUESTS_PER_ROUND)
            rates.append(sample.count / sample.elapsed_s)
            errors += len(sample.errors)
            for kind in ("list", "detail"):
                p99s[kind].append(_p99(sample.latencies[kind]))
                p50s[kind].append(statistics.median(sample.latencies[kind]))
        print(f"api_errors_{label}: {errors}")
        print(f"api_throughput_rps_{label}: {statistics.median(rates):.0f}")
        # The same machine's floor: a bare health check through the same server and clients.
        # Absolute figures move with the machine's load; this ratio much less.
        floor = statistics.median(
            (s := load(lambda: ("healthz", "/healthz"), REQUESTS_PER_ROUND)).count / s.elapsed_s
            for _ in range(3)
        )
        print(f"api_healthz_rps_{label}: {floor:.0f}")
        print(f"api_cost_vs_healthz_{label}: {floor / statistics.median(rates):.1f}")
        paced = load(_mix(doc_ids, 99), CLIENTS * PACED_PER_CLIENT, pace_s=1.0)
        for kind in ("list", "detail"):
            print(f"api_p99_ms_{label}_paced_{kind}: {_p99(paced.latencies[kind]):.1f}")
        for kind in ("list", "detail"):
            print(f"api_p50_ms_{label}_{kind}: {statistics.median(p50s[kind]):.1f}")
            print(f"api_p99_ms_{label}_{kind}: {statistics.median(p99s[kind]):.1f}")
        worst = max(statistics.median(p99s["list"]), statistics.median(p99s["detail"]))
        print(f"api_p99_ms_{label}: {worst:.1f}", flush=True)
    finally:
        server.terminate()  # the supervisor ends its workers
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


def main() -> None:
    print(f"api_deliveries: {DOCS * PER_DOC}")
    print(f"api_clients: {CLIENTS}")
    print(f"api_workers: {WORKERS}")
    tmp = Path(tempfile.mkdtemp(prefix="ix-bench-api-db-"))
    measure(f"sqlite:///{tmp / 'node.db'}", "sqlite")
    pg = os.environ.get("INTERCHANGE_TEST_PG_URL")
    if pg:
        with _scratch_database(pg) as url:
            measure(url, "postgresql")


@contextlib.contextmanager
def _scratch_database(url: str) -> Iterator[str]:
    """A fresh database on the test server, dropped afterwards (the shared one is untouched)."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    from interchange.store.db import normalise_url

    base = make_url(normalise_url(url))
    name = f"ix_bench_api_{os.getpid()}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
