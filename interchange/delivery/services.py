"""Operator actions as service functions (the API and CLI call these; they hold no rules).

Receiving side, on an inbox item: ``accept``, ``refuse``, ``assign``, ``start``,
``complete``, ``answer_recall``; each moves the item through the lifecycle and queues the
signed status message for the sender, in one transaction. Sending side, on a delivery:
``retry``, ``resend``, ``cancel``; on a document: ``recall`` (13 to every recipient that can
still be asked). Errors: ``NotFoundError``, ``IllegalTransitionError`` (a ``DeliveryError``),
``DeliveryError`` for a missing reason.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from ..edxml.model import EdocMessage, ResponseFor, StatusCode
from ..errors import DeliveryError, NotFoundError
from ..store.blobs import document_bytes
from ..store.ops import add_event, update_where, utcnow
from ..store.tables import deliveries, documents, inbox_items, tenants
from .codec import Codec
from .inbox import response_for
from .lifecycle import Action, State, apply, can_apply
from .outbox import queue_status_in

_NEEDS_REASON = {
    StatusCode.REFUSED: "a refusal",
    StatusCode.CHANGE_REFUSED: "refusing a recall",
    StatusCode.RECALL_REQUESTED: "a recall",
}


def _need_reason(code: StatusCode, reason: str | None) -> str | None:
    if code in _NEEDS_REASON and not (reason and reason.strip()):
        raise DeliveryError(f"{_NEEDS_REASON[code]} needs a reason")
    return reason.strip() if reason else None


# --- receiving side ------------------------------------------------------------------


def answer(
    engine: Engine,
    codec: Codec,
    item_id: int,
    code: StatusCode,
    *,
    reason: str | None = None,
    assigned_to: str | None = None,
    actor: str | None = None,
    tenant_id: int | None = None,
) -> State:
    """Move an inbox item with our answer ``code`` and queue that status for the sender."""
    if code is StatusCode.RECALL_REQUESTED:
        raise DeliveryError("13 is the sender's request, not a recipient's answer")
    reason = _need_reason(code, reason)
    now = utcnow()
    with engine.begin() as conn:
        row = conn.execute(
            select(
                inbox_items.c.id,
                inbox_items.c.state,
                inbox_items.c.valid,
                inbox_items.c.tenant_id,
                inbox_items.c.document_pk,
                document_bytes.label("data"),
                tenants.c.organ_code,
            )
            .join(documents, documents.c.id == inbox_items.c.document_pk)
            .join(tenants, tenants.c.id == inbox_items.c.tenant_id)
            .where(inbox_items.c.id == item_id)
        ).first()
        if row is None or (tenant_id is not None and row.tenant_id != tenant_id):
            raise NotFoundError(f"no inbox item {item_id}")
        old = State(row.state)
        new = apply(old, code)
        msg = codec.peek(row.data)
        if not isinstance(msg, EdocMessage):
            raise DeliveryError(f"inbox item {item_id} cannot be answered: unreadable document")
        # signed before the UPDATE: on SQLite the write lock is taken by the first write
        data = codec.sign_status(row.organ_code, response_for(msg), code, reason)
        values: dict[str, object] = {"state": new.value, "decided_at": now}
        if reason is not None:
            values["reason"] = reason
        if assigned_to is not None:
            values["assigned_to"] = assigned_to
        res = conn.execute(
            update(inbox_items)
            .where(inbox_items.c.id == item_id, inbox_items.c.state == old.value)
            .values(**values)
        )
        if res.rowcount != 1:
            raise DeliveryError(f"inbox item {item_id} changed meanwhile; try again")
        detail = reason or (f"assigned to {assigned_to}" if assigned_to else None)
        add_event(
            conn,
            tenant_id=row.tenant_id,
            event=new.value,
            at=now,
            document_pk=row.document_pk,
            inbox_item_id=item_id,
            from_state=old.value,
            to_state=new.value,
            status_code=code.value,
            hop=actor or row.organ_code,
            detail=detail,
        )
        queue_status_in(
            conn,
            tenant_id=row.tenant_id,
            sender=row.organ_code,
            data=data,
            document_id=msg.document_id,
            recipient=msg.sender,
            code=code,
            description=reason,
            now=now,
        )
    return new


def accept(
    engine: Engine,
    codec: Codec,
    item_id: int,
    *,
    actor: str | None = None,
    tenant_id: int | None = None,
) -> State:
    return answer(engine, codec, item_id, StatusCode.ACCEPTED, actor=actor, tenant_id=tenant_id)


def refuse(
    engine: Engine,
    codec: Codec,
    item_id: int,
    reason: str,
    *,
    actor: str | None = None,
    tenant_id: int | None = None,
) -> State:
    return answer(
        engine, codec, item_id, StatusCode.REFUSED, reason=reason, actor=actor, tenant_id=tenant_id
    )


def assign(
    engine: Engine,
    codec: Codec,
    item_id: int,
    to: str,
    *,
    actor: str | None = None,
    tenant_id: int | None = None,
) -> State:
    if not to.strip():
        raise DeliveryError("say whom the document is assigned to")
    return answer(
        engine,
        codec,
        item_id,
        StatusCode.ASSIGNED,
        assigned_to=to.strip(),
        actor=actor,
        tenant_id=tenant_id,
    )


def start(
    engine: Engine,
    codec: Codec,
    item_id: int,
    *,
    actor: str | None = None,
    tenant_id: int | None = None,
) -> State:
    return answer(engine, codec, item_id, StatusCode.IN_PROGRESS, actor=actor, tenant_id=tenant_id)


def complete(
    engine: Engine,
    codec: Codec,
    item_id: int,
    *,
    actor: str | None = None,
    tenant_id: int | None = None,
) -> State:
    return answer(engine, codec, item_id, StatusCode.COMPLETED, actor=actor, tenant_id=tenant_id)


def answer_recall(
    engine: Engine,
    codec: Codec,
    item_id: int,
    *,
    agree: bool,
    reason: str | None = None,
    actor: str | None = None,
    tenant_id: int | None = None,
) -> State:
    code = StatusCode.CHANGE_ACCEPTED if agree else StatusCode.CHANGE_REFUSED
    return answer(engine, codec, item_id, code, reason=reason, actor=actor, tenant_id=tenant_id)


# --- sending side --------------------------------------------------------------------


def _move_delivery(
    engine: Engine,
    delivery_id: int,
    event: Action,
    *,
    actor: str | None,
    tenant_id: int | None,
    values: dict[str, object] | None = None,
) -> State:
    now = utcnow()
    with engine.begin() as conn:
        row = conn.execute(
            select(
                deliveries.c.id,
                deliveries.c.state,
                deliveries.c.tenant_id,
                deliveries.c.document_pk,
                deliveries.c.recipient,
            ).where(deliveries.c.id == delivery_id)
        ).first()
        if row is None or (tenant_id is not None and row.tenant_id != tenant_id):
            raise NotFoundError(f"no delivery {delivery_id}")
        old = State(row.state)
        new = apply(old, event)
        res = conn.execute(
            update(deliveries)
            .where(deliveries.c.id == delivery_id, deliveries.c.state == old.value)
            .values(
                state=new.value,
                updated_at=now,
                lease_owner=None,
                lease_until=None,
                **(values or {}),
            )
        )
        if res.rowcount != 1:
            raise DeliveryError(f"delivery {delivery_id} changed meanwhile; try again")
        add_event(
            conn,
            tenant_id=row.tenant_id,
            event=event.value,
            at=now,
            document_pk=row.document_pk,
            delivery_id=delivery_id,
            from_state=old.value,
            to_state=new.value,
            hop=actor or "operator",
            detail=f"by {actor or 'operator'}",
        )
    return new


def retry(
    engine: Engine, delivery_id: int, *, actor: str | None = None, tenant_id: int | None = None
) -> State:
    """Try a failed, dead-lettered or backing-off delivery again now (same DocumentId)."""
    now = utcnow()
    return _move_delivery(
        engine,
        delivery_id,
        Action.RETRY,
        actor=actor,
        tenant_id=tenant_id,
        values={"next_attempt_at": now, "dead_lettered_at": None, "created_at": now},
    )


def resend(
    engine: Engine, delivery_id: int, *, actor: str | None = None, tenant_id: int | None = None
) -> State:
    """Send the same signed bytes to this one recipient again."""
    now = utcnow()
    return _move_delivery(
        engine,
        delivery_id,
        Action.RESEND,
        actor=actor,
        tenant_id=tenant_id,
        values={"next_attempt_at": now, "created_at": now, "reason": None},
    )


def cancel(
    engine: Engine, delivery_id: int, *, actor: str | None = None, tenant_id: int | None = None
) -> State:
    """Withdraw a delivery that has not left (queued, retrying, failed, dead)."""
    return _move_delivery(
        engine,
        delivery_id,
        Action.CANCEL,
        actor=actor,
        tenant_id=tenant_id,
        values={"next_attempt_at": None},
    )


def recall(
    engine: Engine,
    codec: Codec,
    document_pk: int,
    reason: str,
    *,
    recipients: Sequence[str] | None = None,
    actor: str | None = None,
    tenant_id: int | None = None,
) -> list[int]:
    """Ask recipients to give a document back (13); returns the deliveries asked."""
    reason_text = _need_reason(StatusCode.RECALL_REQUESTED, reason)
    now = utcnow()
    with engine.begin() as conn:
        doc = conn.execute(
            select(
                documents.c.id,
                documents.c.tenant_id,
                document_bytes.label("data"),
                documents.c.direction,
                documents.c.message_type,
                tenants.c.organ_code,
            )
            .join(tenants, tenants.c.id == documents.c.tenant_id)
            .where(documents.c.id == document_pk)
        ).first()
        if (
            doc is None
            or doc.direction != "out"
            or doc.message_type != "edoc"
            or (tenant_id is not None and doc.tenant_id != tenant_id)
        ):
            raise NotFoundError(f"no sent document {document_pk}")
        msg = codec.peek(doc.data)
        if not isinstance(msg, EdocMessage):
            raise DeliveryError(f"document {document_pk} is unreadable")
        rows = conn.execute(
            select(deliveries.c.id, deliveries.c.state, deliveries.c.recipient).where(
                deliveries.c.document_pk == document_pk
            )
        ).all()
        wanted = set(recipients) if recipients is not None else None
        rf = ResponseFor(
            organ_id=doc.organ_code,
            code=str(msg.header.code),
            promulgation_date=msg.header.promulgation_info.date,
            document_id=msg.document_id,
        )
        # one signed 13 serves every recipient; signed before the first write
        data = codec.sign_status(doc.organ_code, rf, StatusCode.RECALL_REQUESTED, reason_text)
        asked: list[int] = []
        for r in rows:
            if wanted is not None and r.recipient not in wanted:
                continue
            old = State(r.state)
            if not can_apply(old, StatusCode.RECALL_REQUESTED):
                if wanted is not None:
                    apply(old, StatusCode.RECALL_REQUESTED)  # raises, typed
                continue
            new = apply(old, StatusCode.RECALL_REQUESTED)
            moved = update_where(
                conn,
                deliveries,
                {"id": r.id, "state": old.value},
                {"state": new.value, "reason": reason_text, "updated_at": now},
            )
            if moved != 1:
                continue  # an answer arrived meanwhile
            add_event(
                conn,
                tenant_id=doc.tenant_id,
                event="recall",
                at=now,
                document_pk=doc.id,
                delivery_id=r.id,
                from_state=old.value,
                to_state=new.value,
                status_code=StatusCode.RECALL_REQUESTED.value,
                hop=actor or doc.organ_code,
                detail=reason_text,
            )
            queue_status_in(
                conn,
                tenant_id=doc.tenant_id,
                sender=doc.organ_code,
                data=data,
                document_id=msg.document_id,
                recipient=r.recipient,
                code=StatusCode.RECALL_REQUESTED,
                description=reason_text,
                now=now,
            )
            asked.append(r.id)
        if not asked:
            raise DeliveryError(f"no recipient of document {document_pk} can be asked to recall")
    return asked
