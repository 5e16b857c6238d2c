"""``store.lean``: hot statements on the driver's cursor behave exactly as through Core:
the same stored values, defaults, exceptions and rollback, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, bindparam, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError

from interchange.store import db, lean
from interchange.store.ops import (
    add_events,
    ensure_tenant,
    event_row,
    insert_id,
    update_many_where,
    update_where,
)
from interchange.store.tables import deliveries, documents, events

NOW = dt.datetime(2026, 11, 28, 19, 5, 7, 123456)
WHOLE_SECOND = NOW.replace(microsecond=0)
_numbers = itertools.count()


def _document(conn: object, tenant_id: int, key: str | None = None) -> int:
    key = key or f"doc-{next(_numbers)}"
    return insert_id(
        conn,  # type: ignore[arg-type]
        documents,
        {
            "tenant_id": tenant_id,
            "direction": "out",
            "dedupe_key": key,
            "document_id": key,
            "sender": "000.00.13.H53",
            "data": b"<x/>",
            "sha256": "0" * 64,
            "created_at": NOW,
        },
    )


def test_values_and_scalar_defaults_are_stored_as_core_reads_them(engine: Engine) -> None:
    with engine.begin() as conn:
        tenant = ensure_tenant(conn, "000.00.13.H53")
        doc = _document(conn, tenant)
        # attempts (default 0) is left out: the table's default applies, as through Core
        did = insert_id(
            conn,
            deliveries,
            {
                "document_pk": doc,
                "tenant_id": tenant,
                "recipient": "000.00.02.G14",
                "state": "queued",
                "next_attempt_at": NOW,
                "created_at": WHOLE_SECOND,
                "updated_at": NOW,
            },
        )
        moved = update_where(
            conn, deliveries, {"id": did, "state": "queued"}, {"state": "sent", "updated_at": NOW}
        )
        stale = update_where(conn, deliveries, {"id": did, "state": "queued"}, {"state": "x"})
    with engine.connect() as conn:
        row = conn.execute(select(deliveries).where(deliveries.c.id == did)).one()
        kind = conn.execute(select(documents.c.kind).where(documents.c.id == doc)).scalar_one()
    assert (moved, stale) == (1, 0)
    assert row.attempts == 0 and kind == "other"  # Python-side defaults
    assert row.state == "sent" and row.created_at == WHOLE_SECOND and row.next_attempt_at == NOW
    if engine.dialect.name == "sqlite":  # stored in Core's text form, which SQL compares
        with engine.connect() as conn:
            raw = conn.exec_driver_sql("SELECT created_at FROM deliveries").scalar_one()
        assert raw == "2026-11-28 19:05:07.000000"


def test_update_many_counts_the_rows_every_change_moved(engine: Engine) -> None:
    """``update_many_where`` runs each shape as one executemany and returns the rows moved
    by all of them: the status batch compares it with its changes to see a failed guard."""
    with engine.begin() as conn:
        tenant = ensure_tenant(conn, "000.00.13.H53")
        doc = _document(conn, tenant)
        ids = [
            insert_id(
                conn,
                deliveries,
                {
                    "document_pk": doc,
                    "tenant_id": tenant,
                    "recipient": f"000.00.0{i}.G14",
                    "state": "sent",
                    "created_at": NOW,
                    "updated_at": NOW,
                },
            )
            for i in range(4)
        ]
        changes = [
            ({"id": ids[0], "state": "sent"}, {"state": "arrived"}),
            ({"id": ids[1], "state": "sent"}, {"state": "refused", "reason": "sai thể thức"}),
            ({"id": ids[2], "state": "queued"}, {"state": "arrived"}),  # its guard fails
            ({"id": ids[3], "state": "sent"}, {"state": "accepted"}),
        ]
        assert update_many_where(conn, deliveries, changes) == 3
        assert update_many_where(conn, deliveries, []) == 0
    with engine.connect() as conn:
        rows = conn.execute(
            select(deliveries.c.state, deliveries.c.reason).order_by(deliveries.c.id)
        ).all()
    assert [tuple(r) for r in rows] == [
        ("arrived", None),
        ("refused", "sai thể thức"),
        ("sent", None),
        ("accepted", None),
    ]


def test_duplicate_key_is_sqlalchemys_integrity_error_and_nothing_is_kept(
    engine: Engine,
) -> None:
    with engine.begin() as conn:
        tenant = ensure_tenant(conn, "000.00.13.H53")
    with pytest.raises(IntegrityError), engine.begin() as conn:
        _document(conn, tenant, "same")
        _document(conn, tenant, "same")
    with engine.connect() as conn:
        assert conn.execute(select(documents.c.id)).all() == []


def test_events_written_in_order_and_first_returns_named_rows(engine: Engine) -> None:
    with engine.begin() as conn:
        tenant = ensure_tenant(conn, "000.00.13.H53")
        add_events(conn, [])  # nothing to write: no statement at all
        add_events(conn, [event_row(tenant_id=tenant, event=f"e{i}", at=NOW) for i in range(5)])
        by_event = select(events.c.id, events.c.event).where(events.c.event == bindparam("b"))
        found = lean.first(conn, by_event, {"b": "e3"})
        missing = lean.first(conn, by_event, {"b": "nope"})
    with engine.connect() as conn:
        names = conn.execute(select(events.c.event).order_by(events.c.id)).scalars().all()
    assert names == [f"e{i}" for i in range(5)]
    assert found is not None and found.event == "e3" and missing is None


def test_a_missing_parameter_is_named(engine: Engine) -> None:
    by_event = select(events.c.id).where(events.c.event == bindparam("b"))
    with engine.connect() as conn, pytest.raises(ArgumentError, match="'b'"):
        lean.first(conn, by_event, {})


def test_refuses_what_it_cannot_run_as_core(engine: Engine) -> None:
    meta = MetaData()
    stamped = Table(
        "stamped",
        meta,
        Column("id", Integer, primary_key=True),
        Column("made", String(8), default=lambda: "now"),
    )
    with pytest.raises(ValueError, match="callable default"):
        lean.lean(stamped.insert(), engine.dialect, ["id"])
    listed = select(documents.c.id).where(documents.c.id.in_([1, 2]))
    with pytest.raises(ValueError, match="expanding"):
        lean.lean(listed, engine.dialect)
    dated = select(documents.c.created_at)
    converts = DateTime().dialect_impl(engine.dialect).result_processor(engine.dialect, None)
    with engine.connect() as conn:
        if converts is not None:  # SQLite keeps datetimes as text: Core must convert them
            with pytest.raises(ValueError, match="conversion"):
                lean.first(conn, dated, {})
        else:
            assert lean.first(conn, dated, {}) is None


@pytest.mark.postgres
def test_a_lost_connection_is_invalidated_and_raised_as_core_would(pg_engine: Engine) -> None:
    admin = db.make_engine(pg_engine.url.render_as_string(hide_password=False))
    try:
        with pytest.raises(DBAPIError) as caught, pg_engine.begin() as conn:
            tenant = ensure_tenant(conn, "000.00.13.H53")
            pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
            with admin.connect() as other:
                other.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
            _document(conn, tenant)
        assert caught.value.connection_invalidated
        with pg_engine.begin() as conn:  # the pool hands out a live connection again
            assert _document(conn, ensure_tenant(conn, "000.00.13.H53")) > 0
    finally:
        admin.dispose()
