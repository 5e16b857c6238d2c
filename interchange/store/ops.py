"""Small row helpers shared by the outbox, the inbox and the operator services."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from collections.abc import Mapping, Sequence
from typing import Any, Required, TypedDict, Unpack

from sqlalchemy import Insert, Table, Update, bindparam, select, update
from sqlalchemy.engine import Connection

from . import lean
from .tables import events, tenants


def utcnow() -> dt.datetime:
    """Naive UTC, the form every timestamp column holds."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def ensure_tenant(
    conn: Connection, organ_code: str, *, name: str | None = None, auto_accept: bool = True
) -> int:
    """The tenant's id, creating the row (or refreshing its policy) as the config says."""
    row = conn.execute(
        select(tenants.c.id, tenants.c.auto_accept, tenants.c.name).where(
            tenants.c.organ_code == organ_code
        )
    ).first()
    if row is None:
        return insert_id(
            conn,
            tenants,
            {
                "organ_code": organ_code,
                "name": name,
                "auto_accept": auto_accept,
                "created_at": utcnow(),
            },
        )
    if row.auto_accept != auto_accept or (name is not None and row.name != name):
        conn.execute(
            update(tenants)
            .where(tenants.c.id == row.id)
            .values(auto_accept=auto_accept, name=name if name is not None else row.name)
        )
    return int(row.id)


class EventFields(TypedDict, total=False):
    """The columns of one timeline row (``events``) that a caller gives."""

    tenant_id: Required[int]
    event: Required[str]
    at: dt.datetime | None
    document_pk: int | None
    delivery_id: int | None
    inbox_item_id: int | None
    from_state: str | None
    to_state: str | None
    status_code: str | None
    hop: str | None
    detail: str | None


_EVENT_COLUMNS = tuple(EventFields.__annotations__)


def event_row(**fields: Unpack[EventFields]) -> dict[str, Any]:
    """One timeline row with every column given (rows of one ``add_events`` share a shape)."""
    row: dict[str, Any] = dict.fromkeys(_EVENT_COLUMNS)
    row.update(fields)
    if row["at"] is None:
        row["at"] = utcnow()
    return row


def add_event(conn: Connection, **fields: Unpack[EventFields]) -> None:
    """Write one timeline row now (``event_row``'s fields)."""
    lean.execute(conn, _inserts(events), event_row(**fields)).close()


def add_events(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Write the timeline rows a transaction collected, in order, as one executemany.

    A batch of status messages or sends writes one event each; one statement for all of
    them saves a round trip per row (on PostgreSQL, a server process's work per row too).
    """
    insert_many(conn, events, rows)


def insert_many(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert rows that share one shape, as one executemany (psycopg sends them together)."""
    lean.execute_many(conn, _inserts(table), rows)


def insert_id(conn: Connection, table: Table, values: Mapping[str, Any]) -> int:
    """Insert one row and return its integer primary key.

    The statement is the table's plain ``insert()`` with the values as parameters, compiled
    once per set of columns and run on the driver's cursor (``store.lean``): the hot paths
    insert a few rows per document.
    """
    if conn.dialect.name == "sqlite":
        cursor = lean.execute(conn, _inserts(table), values)
        key = cursor.lastrowid
    else:
        cursor = lean.execute(conn, _inserts_returning(table), values)
        key = cursor.fetchone()[0]
    cursor.close()
    return int(key)


@functools.cache
def _inserts(table: Table) -> Insert:
    return table.insert()


@functools.cache
def _inserts_returning(table: Table) -> Insert:
    return table.insert().returning(*table.primary_key.columns)


@functools.cache
def _update_stmt(table: Table, where: tuple[str, ...], values: tuple[str, ...]) -> Update:
    conds = [table.c[k] == bindparam(f"w_{k}") for k in where]
    return update(table).where(*conds).values({k: bindparam(f"v_{k}") for k in values})


def update_where(
    conn: Connection, table: Table, where: Mapping[str, Any], values: Mapping[str, Any]
) -> int:
    """``UPDATE table SET values WHERE col = value AND ...``; returns the row count.

    Built once per shape with bind parameters and run like ``insert_id``.
    """
    stmt = _update_stmt(table, tuple(sorted(where)), tuple(sorted(values)))
    cursor = lean.execute(conn, stmt, _update_params(where, values))
    count = cursor.rowcount
    cursor.close()
    return int(count)


def update_many_where(
    conn: Connection, table: Table, changes: Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]]
) -> int:
    """``update_where`` for each ``(where, values)``, one executemany per shape (psycopg
    sends each together: one round trip, not one per row); returns the total row count.

    The changes must not depend on each other's order (one per row, say): shapes run
    one after another."""
    shapes: dict[tuple[tuple[str, ...], tuple[str, ...]], list[dict[str, Any]]] = {}
    for where, values in changes:
        shape = (tuple(sorted(where)), tuple(sorted(values)))
        shapes.setdefault(shape, []).append(_update_params(where, values))
    return sum(
        lean.execute_many(conn, _update_stmt(table, *shape), each) for shape, each in shapes.items()
    )


def _update_params(where: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """``_update_stmt``'s bind parameters: ``w_`` for the guard, ``v_`` for the values."""
    params = {f"w_{k}": v for k, v in where.items()}
    params.update({f"v_{k}": v for k, v in values.items()})
    return params
