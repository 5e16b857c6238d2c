"""The outbox: a document is stored, signed once, and queued per recipient, atomically.

``submit`` stores the signed bytes exactly as they will travel and one delivery per
recipient in one transaction; ``queue_status_in`` queues a signed status message the same
way (answers travel through the outbox too, with its retries). ``worker.py`` sends them.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    DateTime,
    Integer,
    Select,
    String,
    Text,
    bindparam,
    cast,
    func,
    insert,
    literal,
    null,
    select,
    true,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from ..edxml.model import EdocMessage, StatusCode
from ..errors import DeliveryError
from ..store import held, lean
from ..store.ops import add_events, event_row, insert_id, sha256_hex, utcnow
from ..store.tables import deliveries, documents, events
from .claims import Claimed, claim
from .lifecycle import State
from .worker import OutboxWorker, RetryPolicy, deliver, sweep_unanswered

__all__ = [  # the worker's names stay importable from here (older imports)
    "Claimed",
    "DuplicateDocumentError",
    "OutboxWorker",
    "Recipient",
    "RetryPolicy",
    "Submitted",
    "claim",
    "deliver",
    "queue_status_in",
    "submit",
    "submit_in",
    "sweep_unanswered",
]

log = logging.getLogger(__name__)


class DuplicateDocumentError(DeliveryError):
    """The tenant already submitted a document with this DocumentId."""

    code = "duplicate-document"


@dataclass(frozen=True, slots=True)
class Recipient:
    code: str
    substituted_from: str | None = None


@dataclass(frozen=True, slots=True)
class Submitted:
    document_pk: int
    document_id: str
    delivery_ids: tuple[int, ...]


def _recipients(
    message: EdocMessage, recipients: Sequence[Recipient | str] | None
) -> list[Recipient]:
    given = recipients if recipients is not None else message.recipients
    out: list[Recipient] = []
    seen: set[str] = set()
    for r in given:
        rec = r if isinstance(r, Recipient) else Recipient(r)
        if rec.code not in seen:
            seen.add(rec.code)
            out.append(rec)
    if not out:
        raise DeliveryError(f"document {message.document_id} has no recipient")
    return out


def submit_in(
    conn: Connection,
    *,
    tenant_id: int,
    data: bytes,
    message: EdocMessage,
    kind: str = "other",
    payload_kind: str | None = None,
    recipients: Sequence[Recipient | str] | None = None,
    now: dt.datetime | None = None,
) -> Submitted:
    """``submit`` inside the caller's transaction."""
    now = now or utcnow()
    recs = _recipients(message, recipients)
    doc_pk = insert_id(
        conn, documents, _document_row(tenant_id, data, message, kind, payload_kind, recs, now)
    )
    timeline = [
        event_row(
            tenant_id=tenant_id,
            event="submitted",
            at=now,
            document_pk=doc_pk,
            hop=message.sender,
            detail=_submitted_detail(recs),
        )
    ]
    ids = [_new_delivery(conn, tenant_id, doc_pk, rec, now, timeline) for rec in recs]
    add_events(conn, timeline)
    return Submitted(int(doc_pk), message.document_id, tuple(ids))


def _document_row(
    tenant_id: int,
    data: bytes,
    message: EdocMessage,
    kind: str,
    payload_kind: str | None,
    recs: Sequence[Recipient],
    now: dt.datetime,
) -> dict[str, Any]:
    """The ``documents`` row of a submitted document."""
    header = message.header
    b = message.bussiness
    return dict(
        tenant_id=tenant_id,
        direction="out",
        message_type="edoc",
        dedupe_key=message.document_id,
        document_id=message.document_id,
        sender=message.sender,
        recipients=" ".join(r.code for r in recs),
        kind=kind,
        subject=header.subject,
        code=str(header.code),
        due_date=header.due_date,
        bussiness_type=int(b.doc_type) if b else 0,
        original_document_id=b.document_id if b and int(b.doc_type) != 0 else None,
        payload_kind=payload_kind,
        data=data,
        sha256=sha256_hex(data),
        created_at=now,
    )


def _submitted_detail(recs: Sequence[Recipient]) -> str:
    return f"{len(recs)} recipient(s)"


def _queued_detail(rec: Recipient) -> str | None:
    return f"addressed to {rec.substituted_from}, now {rec.code}" if rec.substituted_from else None


def _new_delivery(
    conn: Connection,
    tenant_id: int,
    doc_pk: int,
    rec: Recipient,
    now: dt.datetime,
    timeline: list[dict[str, Any]],
) -> int:
    """Insert one queued delivery; its "queued" event goes to ``timeline``."""
    did = int(
        insert_id(
            conn,
            deliveries,
            dict(
                document_pk=doc_pk,
                tenant_id=tenant_id,
                recipient=rec.code,
                state=State.QUEUED.value,
                attempts=0,
                next_attempt_at=now,
                substituted_from=rec.substituted_from,
                created_at=now,
                updated_at=now,
            ),
        )
    )
    timeline.append(
        event_row(
            tenant_id=tenant_id,
            event="queued",
            at=now,
            document_pk=doc_pk,
            delivery_id=did,
            to_state=State.QUEUED.value,
            hop=rec.code,
            detail=_queued_detail(rec),
        )
    )
    return did


def submit(
    engine: Engine,
    *,
    tenant_id: int,
    data: bytes,
    message: EdocMessage,
    kind: str = "other",
    payload_kind: str | None = None,
    recipients: Sequence[Recipient | str] | None = None,
    now: dt.datetime | None = None,
) -> Submitted:
    """Store the signed document and queue one delivery per recipient, atomically."""
    try:
        if engine.dialect.name == "postgresql":
            return _submit_one_statement(
                engine, tenant_id, data, message, kind, payload_kind, recipients, now
            )
        with held.begin(engine) as conn:
            return submit_in(
                conn,
                tenant_id=tenant_id,
                data=data,
                message=message,
                kind=kind,
                payload_kind=payload_kind,
                recipients=recipients,
                now=now,
            )
    except IntegrityError:
        raise DuplicateDocumentError(
            f"document {message.document_id} was already submitted"
        ) from None


def _submit_one_statement(
    engine: Engine,
    tenant_id: int,
    data: bytes,
    message: EdocMessage,
    kind: str,
    payload_kind: str | None,
    recipients: Sequence[Recipient | str] | None,
    now: dt.datetime | None,
) -> Submitted:
    """``submit_in`` on PostgreSQL as one statement, run outside a transaction.

    Why: the rows are the same, but BEGIN, the document, its deliveries, their events and
    COMMIT were five round trips; one statement is atomic by itself and is one. Measured on
    this machine per submission: the caller's CPU 424 → 187 µs, the server's 305 → 165 µs.
    """
    now = now or utcnow()
    recs = _recipients(message, recipients)
    row = _document_row(tenant_id, data, message, kind, payload_kind, recs, now)
    params = {f"doc_{k}": v for k, v in row.items()} | {
        "codes": [r.code for r in recs],
        "from_codes": [r.substituted_from for r in recs],
        "queued_details": [_queued_detail(r) for r in recs],
        "submitted_detail": _submitted_detail(recs),
    }
    with held.autocommit(engine) as conn:
        rows = lean.rows(conn, _submit_statement(tuple(row)), params)
    ids = {row.recipient: row.delivery_id for row in rows}
    return Submitted(
        int(rows[0].document_pk), message.document_id, tuple(ids[r.code] for r in recs)
    )


@functools.cache
def _submit_statement(columns: tuple[str, ...]) -> Select[Any]:
    """The document (``columns``, bound as ``doc_<column>``), a queued delivery per
    recipient (``codes``, in order) and the events ``submit_in`` writes, as data-modifying
    CTEs (PostgreSQL)."""
    doc = (
        insert(documents)
        .values({documents.c[k]: bindparam(f"doc_{k}", type_=documents.c[k].type) for k in columns})
        .returning(documents.c.id)
        .cte("doc")
    )
    rec = (
        func.unnest(
            cast(bindparam("codes"), ARRAY(String)),
            cast(bindparam("from_codes"), ARRAY(String)),
            cast(bindparam("queued_details"), ARRAY(Text)),
        )
        .table_valued("code", "substituted_from", "detail", with_ordinality="ord")
        .render_derived()
    )
    tenant = bindparam("doc_tenant_id", type_=Integer)
    now = bindparam("doc_created_at", type_=DateTime)
    queued = literal(State.QUEUED.value)
    dl = (
        insert(deliveries)
        .from_select(
            [
                "document_pk",
                "tenant_id",
                "recipient",
                "state",
                "attempts",
                "next_attempt_at",
                "substituted_from",
                "created_at",
                "updated_at",
            ],
            select(
                doc.c.id,
                tenant,
                rec.c.code,
                queued,
                literal(0),
                now,
                rec.c.substituted_from,
                now,
                now,
            )
            .select_from(doc.join(rec, true()))
            .order_by(rec.c.ord),
        )
        .returning(deliveries.c.id, deliveries.c.recipient)
        .cte("dl")
    )
    timeline = (
        insert(events)
        .from_select(
            ["tenant_id", "document_pk", "delivery_id", "at", "event", "to_state", "hop", "detail"],
            union_all(
                select(
                    tenant,
                    doc.c.id,
                    null(),
                    now,
                    literal("submitted"),
                    null(),
                    bindparam("doc_sender", type_=String),
                    bindparam("submitted_detail", type_=Text),
                ),
                select(
                    tenant,
                    doc.c.id,
                    dl.c.id,
                    now,
                    literal("queued"),
                    queued,
                    dl.c.recipient,
                    rec.c.detail,
                )
                .select_from(doc.join(dl, true()).join(rec, rec.c.code == dl.c.recipient))
                .order_by(rec.c.ord),
            ),
        )
        .cte("timeline")
    )
    return (
        select(doc.c.id.label("document_pk"), dl.c.id.label("delivery_id"), dl.c.recipient)
        .select_from(doc.join(dl, true()))
        .add_cte(timeline)
    )


def queue_status_in(
    conn: Connection,
    *,
    tenant_id: int,
    sender: str,
    data: bytes,
    document_id: str | None,
    recipient: str,
    code: StatusCode,
    description: str | None = None,
    now: dt.datetime | None = None,
    timeline: list[dict[str, Any]] | None = None,
) -> int:
    """Queue a signed status message to ``recipient`` (sent by the outbox, with retries).

    ``timeline``: the caller's events of this transaction, written by the caller; without
    one, the "queued" event is written here."""
    now = now or utcnow()
    doc_pk = insert_id(
        conn,
        documents,
        dict(
            tenant_id=tenant_id,
            direction="out",
            message_type="status",
            dedupe_key=None,
            document_id=document_id,
            sender=sender,
            recipients=recipient,
            kind="status",
            subject=description,
            code=code.value,
            bussiness_type=0,
            payload_kind=code.value,
            data=data,
            sha256=sha256_hex(data),
            created_at=now,
        ),
    )
    own: list[dict[str, Any]] = [] if timeline is None else timeline
    did = _new_delivery(conn, tenant_id, int(doc_pk), Recipient(recipient), now, own)
    if timeline is None:
        add_events(conn, own)
    return did
