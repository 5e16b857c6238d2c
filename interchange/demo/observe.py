"""Read what a node's database says about deliveries and inbox items (read-only).

The demo's table, the end-to-end assertions and the benchmark all ask the same questions of
a node's store: where is each (document, recipient) delivery, what did each recipient store.
They ask the database directly (SQLite in WAL mode and PostgreSQL both allow a reader beside
the running node) rather than a face, so that they observe exactly what was committed.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from ..store.db import make_engine
from ..store.tables import deliveries, documents, inbox_items, tenants

# A delivery state → the edXML status code it stands for (if it is one).
STATE_CODES = {
    "arrived": "01",
    "refused": "02",
    "accepted": "03",
    "assigned": "04",
    "in_progress": "05",
    "completed": "06",
    "recall_requested": "13",
    "recalled": "15",
    "recall_refused": "16",
}
#: States in which the recipient has answered (or the delivery has ended for good).
ANSWERED = frozenset(
    {"refused", "accepted", "assigned", "in_progress", "completed", "recalled", "recall_refused"}
)
ENDED = ANSWERED | {"dead", "failed", "cancelled"}


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    """One (document, recipient) delivery as the sender's store has it."""

    sender: str
    document_id: str
    kind: str
    subject: str
    code: str
    recipient: str
    state: str
    attempts: int
    last_error: str | None
    reason: str | None
    substituted_from: str | None

    @property
    def status_code(self) -> str | None:
        return STATE_CODES.get(self.state)


@dataclass(frozen=True, slots=True)
class InboxRow:
    """One document a tenant received, as the recipient's store has it."""

    tenant: str
    document_id: str
    sender: str
    kind: str
    state: str
    valid: bool
    error_code: str | None
    reason: str | None


class _Store:
    """A database opened lazily by URL (the process that owns it may not have created it yet)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._engine: Engine | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = make_engine(self.url)
        return self._engine

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


class NodeStore(_Store):
    """Read-only questions about one node's database."""

    def deliveries(self, sender: str | None = None) -> list[DeliveryRow]:
        """Every outgoing edoc delivery (of ``sender`` if given), oldest first."""
        q = (
            select(
                tenants.c.organ_code,
                documents.c.document_id,
                documents.c.kind,
                documents.c.subject,
                documents.c.code,
                deliveries.c.recipient,
                deliveries.c.state,
                deliveries.c.attempts,
                deliveries.c.last_error,
                deliveries.c.reason,
                deliveries.c.substituted_from,
            )
            .select_from(
                deliveries.join(documents, deliveries.c.document_pk == documents.c.id).join(
                    tenants, deliveries.c.tenant_id == tenants.c.id
                )
            )
            .where(documents.c.direction == "out", documents.c.message_type == "edoc")
            .order_by(deliveries.c.id)
        )
        if sender is not None:
            q = q.where(tenants.c.organ_code == sender)
        with self.engine.connect() as conn:
            return [
                DeliveryRow(
                    sender=r[0],
                    document_id=r[1] or "",
                    kind=r[2] or "",
                    subject=r[3] or "",
                    code=r[4] or "",
                    recipient=r[5],
                    state=r[6],
                    attempts=int(r[7] or 0),
                    last_error=r[8],
                    reason=r[9],
                    substituted_from=r[10],
                )
                for r in conn.execute(q)
            ]

    def inbox(self, tenant: str | None = None) -> list[InboxRow]:
        """Every incoming edoc (for ``tenant`` if given), oldest first."""
        q = (
            select(
                tenants.c.organ_code,
                documents.c.document_id,
                documents.c.sender,
                documents.c.kind,
                inbox_items.c.state,
                inbox_items.c.valid,
                inbox_items.c.error_code,
                inbox_items.c.reason,
            )
            .select_from(
                inbox_items.join(documents, inbox_items.c.document_pk == documents.c.id).join(
                    tenants, inbox_items.c.tenant_id == tenants.c.id
                )
            )
            .order_by(inbox_items.c.id)
        )
        if tenant is not None:
            q = q.where(tenants.c.organ_code == tenant)
        with self.engine.connect() as conn:
            return [
                InboxRow(
                    tenant=r[0],
                    document_id=r[1] or "",
                    sender=r[2] or "",
                    kind=r[3] or "",
                    state=r[4],
                    valid=bool(r[5]),
                    error_code=r[6],
                    reason=r[7],
                )
                for r in conn.execute(q)
            ]

    def received_counts(self, document_id: str) -> dict[str, int]:
        """How many stored copies of ``document_id`` each tenant has (exactly-once checks)."""
        q = (
            select(tenants.c.organ_code, func.count(documents.c.id))
            .select_from(documents.join(tenants, documents.c.tenant_id == tenants.c.id))
            .where(documents.c.direction == "in", documents.c.document_id == document_id)
            .group_by(tenants.c.organ_code)
        )
        with self.engine.connect() as conn:
            return {r[0]: int(r[1]) for r in conn.execute(q)}

    def ready(self) -> bool:
        """True once the node has created its tables and registered its tenants."""
        try:
            with self.engine.connect() as conn:
                return bool(conn.execute(select(func.count()).select_from(tenants)).scalar())
        except Exception:
            return False


class HubStore(_Store):
    """Read-only questions about the embedded hub's database (what was really sent)."""

    def sends(self, document_id: str, message_type: str = "edoc") -> dict[str, int]:
        """How many times ``document_id`` was sent to each recipient (one queue row per send)."""
        from ..store.hub_tables import hub_messages, hub_queue

        q = (
            select(hub_queue.c.recipient, func.count(hub_queue.c.id))
            .select_from(hub_queue.join(hub_messages, hub_queue.c.message_id == hub_messages.c.id))
            .where(
                hub_messages.c.document_id == document_id,
                hub_messages.c.message_type == message_type,
            )
            .group_by(hub_queue.c.recipient)
        )
        with self.engine.connect() as conn:
            return {r[0]: int(r[1]) for r in conn.execute(q)}

    def pending(self, recipient: str | None = None) -> int:
        """Queue items not yet acknowledged (of ``recipient`` if given)."""
        from ..store.hub_tables import hub_queue

        q = select(func.count()).select_from(hub_queue).where(hub_queue.c.state == "pending")
        if recipient is not None:
            q = q.where(hub_queue.c.recipient == recipient)
        with self.engine.connect() as conn:
            return int(conn.execute(q).scalar() or 0)
