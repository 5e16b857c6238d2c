"""Claims: lease due deliveries to one worker, atomically, oldest due first.

A claim is one UPDATE: on PostgreSQL its rows are picked ``FOR UPDATE SKIP LOCKED`` in a
CTE and it runs without a transaction around it (atomic by itself: an idle poll is one
round trip); on SQLite it runs under the database write lock. Two workers never hold the
same delivery; a lease that expires (its worker died) makes the delivery claimable again.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ARRAY,
    Integer,
    and_,
    any_,
    bindparam,
    func,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.sql.elements import BindParameter, ColumnElement

from adapters.base import MessageType

from ..store import held, lean
from ..store.ops import utcnow
from ..store.tables import deliveries, documents, tenants
from .lifecycle import WAITING

__all__ = ["Claimed", "claim", "renew"]


@dataclass(frozen=True, slots=True)
class Claimed:
    delivery_id: int
    tenant_id: int
    document_pk: int
    recipient: str
    attempts: int
    created_at: dt.datetime
    message_type: MessageType
    sender: str
    substituted_from: str | None = None
    # the DocumentId this message belongs to: its own (a new document), its original's
    # (revoke / update / replace), the one it answers (a status). Sends to one recipient
    # keep their order within one thread, and only there (``_deliver_parallel``).
    thread: str | None = None
    # the state it was leased in: recording the send expects it (``_record``)
    state: str | None = None


_TENANT_COUNT = select(func.count()).select_from(tenants)
_WAITING_STATES = deliveries.c.state.in_(
    [literal_column(f"'{s.value}'") for s in sorted(WAITING, key=lambda s: s.value)]
)


@functools.cache
def _claim_statements(
    dialect: str, by_tenant: bool, by_document: bool, limited: bool
) -> tuple[Any, Any]:
    """(lease UPDATE … RETURNING id, read of the leased rows), built once per shape with
    bind parameters: building them per claim cost more than running them (a node polls).
    On PostgreSQL, one statement that leases and reads (and None).
    Parameter names never equal a column name (an UPDATE would SET such a column)."""
    d = deliveries
    now: BindParameter[dt.datetime] = bindparam("b_now")
    due = and_(
        # the states as literals, exactly the partial index's condition (``ix_deliveries_
        # waiting``), so that both databases may walk it; not a Python list, which would be
        # an "expanding" parameter re-rendered into the SQL on every execution
        _WAITING_STATES,
        d.c.next_attempt_at <= now,
        or_(d.c.lease_until.is_(None), d.c.lease_until < now),
    )
    if by_tenant and dialect == "postgresql":
        # every tenant of the database ours (a count the server runs once per statement),
        # or the row's tenant among ours: one array parameter, no expanding IN to render
        every: ColumnElement[bool] = _TENANT_COUNT.scalar_subquery() == bindparam("b_ntenants")
        ours = d.c.tenant_id == any_(bindparam("b_tenant_ids", type_=ARRAY(Integer)))
        due = and_(due, or_(every, ours))
    elif by_tenant:
        due = and_(due, d.c.tenant_id.in_(bindparam("b_tenants", expanding=True)))
    if by_document:
        due = and_(due, d.c.document_pk == bindparam("b_document"))
    pick = select(d.c.id).where(due).order_by(d.c.next_attempt_at, d.c.id)
    if limited:
        pick = pick.limit(bindparam("b_limit"))
    lease: dict[str, BindParameter[Any]] = {
        "lease_owner": bindparam("b_owner"),
        "lease_until": bindparam("b_until"),
    }
    claimed = (
        d.c.id,
        d.c.tenant_id,
        d.c.document_pk,
        d.c.recipient,
        d.c.attempts,
        d.c.created_at,
        documents.c.message_type,
        documents.c.sender,
        d.c.substituted_from,
        documents.c.document_id,
        documents.c.original_document_id,
        documents.c.bussiness_type,
        d.c.state,
    )
    if dialect == "postgresql":
        # A CTE runs once; an ``IN (SELECT … LIMIT … SKIP LOCKED)`` subquery may be re-run by
        # the planner and lease far more than ``limit`` rows. The leased rows are read in the
        # same statement: a second one was a round trip per claim.
        picked = pick.with_for_update(skip_locked=True).cte("picked")
        leased = (
            update(d)
            .where(d.c.id == picked.c.id)
            .values(lease)
            .returning(*(c for c in claimed if c.table is d))
            .cte("leased")
        )
        one = (
            select(*(leased.c[c.key] if c.table is d else c for c in claimed))
            .join(documents, documents.c.id == leased.c.document_pk)
            .order_by(leased.c.id)
        )
        return one, None
    # SQLite: one UPDATE under the database write lock; the subquery runs once
    stmt = update(d).where(d.c.id.in_(pick.scalar_subquery()), due).values(lease).returning(d.c.id)
    rows = (
        select(*claimed)
        .join(documents, documents.c.id == d.c.document_pk)
        .where(d.c.id.in_(bindparam("b_ids", expanding=True)))
        .order_by(d.c.id)
    )
    return stmt, rows


def claim(
    engine: Engine,
    owner: str,
    *,
    limit: int | None = 50,
    lease_seconds: float = 60.0,
    tenant_ids: Iterable[int] | None = None,
    document_pk: int | None = None,
    now: dt.datetime | None = None,
) -> list[Claimed]:
    """Lease up to ``limit`` due deliveries (of one document if given) to ``owner``; nobody
    else gets them while the lease lasts.

    ``tenant_ids`` (ids of existing tenants) restricts the claim to them; when they are
    every tenant of the database (a node hosting hundreds of districts usually is alone
    on its database), the filter is left out: rendering and testing hundreds of ids on
    every poll cost more than the claim itself.
    """
    now = now or utcnow()
    ids = sorted(set(tenant_ids)) if tenant_ids is not None else None
    params: dict[str, Any] = {
        "b_now": now,
        "b_owner": owner,
        "b_until": now + dt.timedelta(seconds=lease_seconds),
        "b_limit": limit,
        "b_document": document_pk,
        "b_tenants": ids,
    }
    rows: list[Any]
    if engine.dialect.name == "postgresql":
        rows = _claim_pg(engine, ids, params, by_document=document_pk is not None, limit=limit)
    else:
        with held.begin(engine) as conn:
            by_tenant = ids is not None and lean.first(conn, _TENANT_COUNT, {})[0] != len(ids)
            stmt, read = _claim_statements(
                "sqlite", by_tenant, document_pk is not None, limit is not None
            )
            if by_tenant:  # an expanding IN list of tenants: Core's execution path
                leased = [row[0] for row in conn.execute(stmt, params)]
            else:
                leased = [row[0] for row in lean.rows(conn, stmt, params)]
            rows = list(conn.execute(read, {"b_ids": leased})) if leased else []
    return [
        Claimed(
            r.id,
            r.tenant_id,
            r.document_pk,
            r.recipient,
            r.attempts,
            r.created_at,
            r.message_type,
            r.sender or "",
            r.substituted_from,
            _thread_of(r.message_type, r.document_id, r.original_document_id, r.bussiness_type),
            r.state,
        )
        for r in rows
    ]


def _claim_pg(
    engine: Engine,
    ids: list[int] | None,
    params: dict[str, Any],
    *,
    by_document: bool,
    limit: int | None,
) -> list[Any]:
    """The claim on PostgreSQL: the lease is one UPDATE … RETURNING (atomic by itself, its
    tenant check inside), so it runs without a transaction around it: an idle poll is one
    round trip, not BEGIN, count, UPDATE and COMMIT."""
    stmt, _ = _claim_statements("postgresql", ids is not None, by_document, limit is not None)
    params = params | {"b_ntenants": len(ids or ()), "b_tenant_ids": ids or []}
    with held.autocommit(engine) as conn:
        return lean.rows(conn, stmt, params)


def _thread_of(
    message_type: str, document_id: str | None, original: str | None, bussiness_type: int
) -> str | None:
    if message_type == "edoc" and bussiness_type and original:
        return original
    return document_id


def renew(
    engine: Engine,
    owner: str,
    delivery_ids: Sequence[int],
    *,
    lease_seconds: float,
    now: dt.datetime | None = None,
) -> set[int]:
    """Extend ``owner``'s leases on these deliveries; returns the ids it still holds."""
    if not delivery_ids:
        return set()
    now = now or utcnow()
    d = deliveries
    stmt = (
        update(d)
        .where(d.c.id.in_(list(delivery_ids)), d.c.lease_owner == owner)
        .values(lease_until=now + dt.timedelta(seconds=lease_seconds))
        .returning(d.c.id)
    )
    with engine.begin() as conn:
        return {int(r[0]) for r in conn.execute(stmt)}
