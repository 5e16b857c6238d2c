"""The outbox: a document is stored, signed once, and queued per recipient, atomically.

``submit`` stores the signed bytes exactly as they will travel and one delivery per
recipient in one transaction; ``queue_status_in`` queues a signed status message the same
way (answers travel through the outbox too, with its retries). ``worker.py`` sends them.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from ..edxml.model import EdocMessage, StatusCode
from ..errors import DeliveryError
from ..store import held
from ..store.ops import add_events, event_row, insert_id, sha256_hex, utcnow
from ..store.tables import deliveries, documents
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
    header = message.header
    b = message.bussiness
    doc_pk = insert_id(
        conn,
        documents,
        dict(
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
        ),
    )
    timeline = [
        event_row(
            tenant_id=tenant_id,
            event="submitted",
            at=now,
            document_pk=doc_pk,
            hop=message.sender,
            detail=f"{len(recs)} recipient(s)",
        )
    ]
    ids = [_new_delivery(conn, tenant_id, doc_pk, rec, now, timeline) for rec in recs]
    add_events(conn, timeline)
    return Submitted(int(doc_pk), message.document_id, tuple(ids))


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
    detail = (
        f"addressed to {rec.substituted_from}, now {rec.code}" if rec.substituted_from else None
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
            detail=detail,
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
