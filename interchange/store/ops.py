"""Small row helpers shared by the outbox, the inbox and the operator services."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Insert, Table, Update, bindparam, select, update
from sqlalchemy.engine import Connection

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


def add_event(
    conn: Connection,
    *,
    tenant_id: int,
    event: str,
    at: dt.datetime | None = None,
    document_pk: int | None = None,
    delivery_id: int | None = None,
    inbox_item_id: int | None = None,
    from_state: str | None = None,
    to_state: str | None = None,
    status_code: str | None = None,
    hop: str | None = None,
    detail: str | None = None,
) -> None:
    values: dict[str, Any] = {
        "tenant_id": tenant_id,
        "event": event,
        "at": at or utcnow(),
        "document_pk": document_pk,
        "delivery_id": delivery_id,
        "inbox_item_id": inbox_item_id,
        "from_state": from_state,
        "to_state": to_state,
        "status_code": status_code,
        "hop": hop,
        "detail": detail,
    }
    conn.execute(_inserts(events), values)


def insert_id(conn: Connection, table: Table, values: Mapping[str, Any]) -> int:
    """Insert one row and return its integer primary key.

    The statement is the table's plain ``insert()`` with the values as parameters: compiled
    once and cached, where ``insert().values(...)`` would rebuild and re-key it every call
    (the hot paths insert a few rows per document).
    """
    key = conn.execute(_inserts(table), dict(values)).inserted_primary_key
    assert key is not None
    return int(key[0])


@functools.cache
def _inserts(table: Table) -> Insert:
    return table.insert()


@functools.cache
def _update_stmt(table: Table, where: tuple[str, ...], values: tuple[str, ...]) -> Update:
    conds = [table.c[k] == bindparam(f"w_{k}") for k in where]
    return update(table).where(*conds).values({k: bindparam(f"v_{k}") for k in values})


def update_where(
    conn: Connection, table: Table, where: Mapping[str, Any], values: Mapping[str, Any]
) -> int:
    """``UPDATE table SET values WHERE col = value AND ...``; returns the row count.

    Built once per shape with bind parameters, for the same reason as ``insert_id``.
    """
    stmt = _update_stmt(table, tuple(sorted(where)), tuple(sorted(values)))
    params = {f"w_{k}": v for k, v in where.items()}
    params.update({f"v_{k}": v for k, v in values.items()})
    return int(conn.execute(stmt, params).rowcount)
