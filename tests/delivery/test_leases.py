"""Concurrent claimers never get the same delivery (threads; SQLite, and PostgreSQL by URL)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import bindparam, select, text
from sqlalchemy.engine import Engine

from interchange.delivery.claims import _WAITING_STATES, _claim_statements, claim
from interchange.delivery.outbox import submit
from interchange.delivery.worker import _UNANSWERED
from interchange.store.ops import ensure_tenant, utcnow
from interchange.store.tables import UNANSWERED_SQL, WAITING_STATES_SQL, deliveries

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


def _sqlite_plan(engine: Engine, stmt: object) -> str:
    sql = str(stmt.compile(engine))  # type: ignore[attr-defined]
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, (None,) * sql.count("?"))
        return " | ".join(str(r[3]) for r in rows)


def test_claim_and_sweep_state_exactly_the_partial_indexes_conditions(engine: Engine) -> None:
    """A planner may use a partial index only for a query that states its condition: the
    claim walks ``ix_deliveries_waiting`` in due order (no sort of every due row), the
    unanswered sweep reads ``ix_deliveries_unanswered`` (checked on SQLite's plans;
    PostgreSQL decides by its statistics, below)."""
    with engine.begin() as conn:
        tenant = ensure_tenant(conn, "000.00.13.H53")
    for n in range(3):
        msg = make_edoc("000.00.13.H53", ["000.00.02.G14"], str(n))
        submit(engine, tenant_id=tenant, data=encode(msg), message=msg)
    first = claim(engine, "w", limit=2)
    assert len(first) == 2 and len(claim(engine, "w2", limit=2)) == 1  # oldest first
    assert str(_WAITING_STATES.compile()) == f"deliveries.{WAITING_STATES_SQL}"
    assert str(_UNANSWERED.compile(compile_kwargs={"literal_binds": True})) == (
        f"deliveries.{UNANSWERED_SQL}"
    )
    if engine.dialect.name == "sqlite":
        claiming = _sqlite_plan(engine, _claim_statements("sqlite", False, False, True)[0])
        assert "ix_deliveries_waiting" in claiming and "TEMP B-TREE" not in claiming
        cutoff = deliveries.c.created_at < bindparam("c")
        sweeping = _sqlite_plan(engine, select(deliveries.c.id).where(_UNANSWERED, cutoff))
        assert "ix_deliveries_unanswered" in sweeping, sweeping


@pytest.mark.postgres
def test_postgresql_claims_a_backlog_through_the_waiting_index(pg_engine: Engine) -> None:
    """With thousands waiting, a claim walks ``ix_deliveries_waiting`` in due order and
    stops after its batch, instead of sorting every due delivery on every poll."""
    with pg_engine.begin() as conn:
        tenant = ensure_tenant(conn, "000.00.13.H53")
        conn.execute(
            text(
                "INSERT INTO documents (tenant_id, direction, message_type, dedupe_key, sender,"
                " recipients, kind, bussiness_type, data, sha256, created_at)"
                " SELECT :t, 'out', 'edoc', 'k' || g, 'X', 'Y', 'other', 0, 'x', 'h', now()"
                " FROM generate_series(1, 3000) g"
            ),
            {"t": tenant},
        )
        conn.execute(
            text(
                "INSERT INTO deliveries (document_pk, tenant_id, recipient, state, attempts,"
                " next_attempt_at, created_at, updated_at)"
                " SELECT id, :t, 'Y', CASE WHEN id % 3 = 0 THEN 'sent' ELSE 'queued' END, 0,"
                " now() - interval '1 minute', now(), now() FROM documents"
            ),
            {"t": tenant},
        )
        conn.execute(text("ANALYZE deliveries"))
    stmt, _ = _claim_statements("postgresql", True, False, True)
    sql = str(stmt.compile(dialect=pg_engine.dialect))
    params = {"b_now": utcnow(), "b_owner": "w", "b_until": utcnow(), "b_limit": 100}
    params |= {"b_ntenants": 1, "b_tenant_ids": [tenant], "param_1": 0}
    with pg_engine.connect() as conn:
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        cursor.execute("EXPLAIN " + sql, params)
        plan = " | ".join(r[0] for r in cursor.fetchall())
        conn.rollback()
    # the pick (before the leased rows are read and put in id order, a batch at most)
    pick = plan[plan.index("CTE picked") : plan.index("CTE leased")]
    assert "ix_deliveries_waiting" in pick and "Sort" not in pick, plan
    assert len(claim(pg_engine, "w", limit=100, tenant_ids=[tenant])) == 100
