"""Concurrent claimers never get the same delivery (threads; SQLite, and PostgreSQL by URL)."""

from __future__ import annotations

import threading

from sqlalchemy.engine import Engine

from interchange.delivery.outbox import submit
from interchange.delivery.worker import claim
from interchange.store.ops import ensure_tenant

from .fakes import encode, make_edoc

RECIPIENTS = [f"000.{i // 100:02d}.{i % 100:02d}.H53" for i in range(120)]


def _race(engine: Engine, workers: int = 4) -> list[list[int]]:
    with engine.begin() as conn:
        tid = ensure_tenant(conn, "000.00.13.H53")
    msg = make_edoc("000.00.13.H53", RECIPIENTS)
    submit(engine, tenant_id=tid, data=encode(msg), message=msg)
    got: list[list[int]] = [[] for _ in range(workers)]
    start = threading.Barrier(workers)
    errors: list[BaseException] = []

    def run(n: int) -> None:
        try:
            start.wait()
            while True:
                batch = claim(engine, f"w{n}", limit=7, lease_seconds=300)
                if not batch:
                    return
                assert len(batch) <= 7, f"claimed {len(batch)} with limit 7"
                got[n].extend(c.delivery_id for c in batch)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    return got


def _check(got: list[list[int]]) -> None:
    flat = [d for g in got for d in g]
    assert len(flat) == len(RECIPIENTS)
    assert len(set(flat)) == len(flat)


def test_concurrent_claimers_never_share(engine: Engine) -> None:
    _check(_race(engine))
