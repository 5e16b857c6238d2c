"""Read-side queries the node, the demo and the operator API share (rows, not HTTP)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine

from ..store.tables import deliveries, documents, events, inbox_items, status_messages, tenants


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    delivery_id: int
    document_pk: int
    document_id: str | None
    kind: str
    subject: str | None
    sender: str | None
    recipient: str
    state: str
    attempts: int
    reason: str | None
    last_error: str | None
    substituted_from: str | None


def original_recipients(engine: Engine, tenant_id: int, document_id: str) -> list[str]:
    """Every recipient of the tenant's sent document ``document_id`` (for revoke/update/replace)."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(deliveries.c.recipient)
            .join(documents, documents.c.id == deliveries.c.document_pk)
            .where(
                documents.c.tenant_id == tenant_id,
                documents.c.direction == "out",
                documents.c.message_type == "edoc",
                documents.c.document_id == document_id,
            )
            .order_by(deliveries.c.id)
        ).all()
    return [r[0] for r in rows]


def delivery_table(
    engine: Engine, *, tenant: str | None = None, include_status: bool = False
) -> list[DeliveryRow]:
    """Documents × recipients × state, oldest first."""
    q = (
        select(
            deliveries.c.id,
            deliveries.c.document_pk,
            documents.c.document_id,
            documents.c.kind,
            documents.c.subject,
            documents.c.sender,
            deliveries.c.recipient,
            deliveries.c.state,
            deliveries.c.attempts,
            deliveries.c.reason,
            deliveries.c.last_error,
            deliveries.c.substituted_from,
        )
        .join(documents, documents.c.id == deliveries.c.document_pk)
        .join(tenants, tenants.c.id == deliveries.c.tenant_id)
        .order_by(deliveries.c.id)
    )
    if not include_status:
        q = q.where(documents.c.message_type == "edoc")
    if tenant is not None:
        q = q.where(tenants.c.organ_code == tenant)
    with engine.connect() as conn:
        return [DeliveryRow(*tuple(r)) for r in conn.execute(q).all()]


def timeline(
    engine: Engine,
    *,
    delivery_id: int | None = None,
    document_pk: int | None = None,
    inbox_item_id: int | None = None,
) -> list[dict[str, Any]]:
    """Every event of one delivery, document or inbox item, in order."""
    q = select(events).order_by(events.c.at, events.c.id)
    if delivery_id is not None:
        q = q.where(events.c.delivery_id == delivery_id)
    if document_pk is not None:
        q = q.where(events.c.document_pk == document_pk)
    if inbox_item_id is not None:
        q = q.where(events.c.inbox_item_id == inbox_item_id)
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q).all()]


def inbox(
    engine: Engine, *, tenant: str | None = None, states: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """Received documents with their state (no bytes)."""
    q = (
        select(
            inbox_items.c.id,
            inbox_items.c.state,
            inbox_items.c.valid,
            inbox_items.c.reason,
            inbox_items.c.error_code,
            inbox_items.c.assigned_to,
            inbox_items.c.received_at,
            documents.c.document_id,
            documents.c.sender,
            documents.c.subject,
            documents.c.kind,
            tenants.c.organ_code.label("tenant"),
        )
        .join(documents, documents.c.id == inbox_items.c.document_pk)
        .join(tenants, tenants.c.id == inbox_items.c.tenant_id)
        .order_by(inbox_items.c.id)
    )
    if tenant is not None:
        q = q.where(tenants.c.organ_code == tenant)
    if states is not None:
        q = q.where(inbox_items.c.state.in_(list(states)))
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q).all()]


def unmatched_statuses(engine: Engine) -> list[dict[str, Any]]:
    """Status messages kept but not applied: unknown documents, invalid or out-of-order ones."""
    q = (
        select(
            status_messages.c.id,
            status_messages.c.sender,
            status_messages.c.document_id,
            status_messages.c.status_code,
            status_messages.c.outcome,
            status_messages.c.error,
            status_messages.c.received_at,
        )
        .where(status_messages.c.outcome != "matched")
        .order_by(status_messages.c.id)
    )
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q).all()]
