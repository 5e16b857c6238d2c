"""The node's tables: tenants, documents, deliveries, their timeline, status messages, inbox.

SQLAlchemy Core (the hot paths are a handful of UPDATEs). Every timestamp is a naive UTC
``DateTime`` so that SQLite and PostgreSQL compare them the same way. Documents keep the
signed bytes exactly as they travelled with their SHA-256: inline in ``documents.data`` for
what we send, once per SHA-256 in ``document_blobs`` for what we receive (``data`` is then
``NULL``; read through ``store.blobs.document_bytes``). A directive to 705 districts hosted on
one node is 705 received documents but one blob.

Uniqueness carries the delivery guarantees:
- ``documents (tenant_id, direction, dedupe_key)``: an incoming document is stored once per
  sender + DocumentId (``dedupe_key``), an outgoing one once per DocumentId. ``NULL`` keys
  (outgoing status messages) never collide.
- ``deliveries (document_pk, recipient)``: one delivery per document and recipient.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from .db import metadata

tenants = Table(
    "tenants",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("organ_code", String(64), nullable=False, unique=True),
    Column("name", String(255), nullable=True),
    Column("auto_accept", Boolean, nullable=False, default=True),
    Column("created_at", DateTime, nullable=False),
)

documents = Table(
    "documents",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tenant_id", Integer, ForeignKey("tenants.id"), nullable=False),
    # "out" (we sent it) or "in" (we received it)
    Column("direction", String(3), nullable=False),
    # "edoc" or "status"
    Column("message_type", String(8), nullable=False, default="edoc"),
    Column("dedupe_key", String(400), nullable=True),
    Column("document_id", String(200), nullable=True),
    Column("sender", String(64), nullable=True),
    Column("recipients", Text, nullable=False, default=""),  # space-separated To codes
    Column("kind", String(32), nullable=False, default="other"),
    Column("subject", Text, nullable=True),
    Column("code", String(200), nullable=True),  # number/notation
    Column("due_date", Date, nullable=True),
    Column("bussiness_type", Integer, nullable=False, default=0),
    Column("original_document_id", String(200), nullable=True),  # Bussiness/DocumentId
    Column("payload_kind", String(64), nullable=True),
    # inline bytes (outgoing); NULL: the bytes are in document_blobs (received; 0011 moved older)
    Column("data", LargeBinary, nullable=True),
    Column("sha256", String(64), nullable=False),
    Column("axis_doc_id", String(200), nullable=True),  # incoming: the axis queue id
    Column("created_at", DateTime, nullable=False),
    UniqueConstraint("tenant_id", "direction", "dedupe_key", name="uq_documents_dedupe"),
)
Index("ix_documents_document_id", documents.c.document_id)
Index("ix_documents_sha256", documents.c.sha256)
Index(
    "ix_documents_listing", documents.c.direction, documents.c.message_type, documents.c.tenant_id
)

# received bytes, once per SHA-256 however many hosted tenants received them
document_blobs = Table(
    "document_blobs",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("data", LargeBinary, nullable=False),
    Column("size", Integer, nullable=False),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("document_pk", Integer, ForeignKey("documents.id"), nullable=False),
    Column("tenant_id", Integer, ForeignKey("tenants.id"), nullable=False),
    Column("recipient", String(64), nullable=False),
    Column("state", String(32), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", DateTime, nullable=True),
    Column("lease_owner", String(128), nullable=True),
    Column("lease_until", DateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("axis_doc_id", String(200), nullable=True),
    Column("substituted_from", String(64), nullable=True),
    Column("reason", Text, nullable=True),  # the recipient's reason (02, 16) or ours (13)
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Column("sent_at", DateTime, nullable=True),
    Column("dead_lettered_at", DateTime, nullable=True),
    UniqueConstraint("document_pk", "recipient", name="uq_deliveries_document_recipient"),
)
Index("ix_deliveries_tenant_state", deliveries.c.tenant_id, deliveries.c.state)
Index("ix_deliveries_recipient", deliveries.c.recipient)
Index("ix_deliveries_document_state", deliveries.c.document_pk, deliveries.c.state)
# the outbox claims waiting deliveries, oldest due first: walking this (small) index in
# order stops after a batch, where (state, next_attempt_at) sorted every due row per claim
WAITING_STATES_SQL = "state IN ('queued', 'retrying')"
Index(
    "ix_deliveries_waiting",
    deliveries.c.next_attempt_at,
    deliveries.c.id,
    sqlite_where=text(WAITING_STATES_SQL),
    postgresql_where=text(WAITING_STATES_SQL),
)
# the sweep dead-letters documents nobody answered: rows still sent, oldest first
UNANSWERED_SQL = "state = 'sent'"
Index(
    "ix_deliveries_unanswered",
    deliveries.c.created_at,
    sqlite_where=text(UNANSWERED_SQL),
    postgresql_where=text(UNANSWERED_SQL),
)
# a status from an old code finds the delivery to its successor (only substituted rows)
Index(
    "ix_deliveries_substituted",
    deliveries.c.document_pk,
    deliveries.c.substituted_from,
    sqlite_where=deliveries.c.substituted_from.is_not(None),
    postgresql_where=deliveries.c.substituted_from.is_not(None),
)

inbox_items = Table(
    "inbox_items",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tenant_id", Integer, ForeignKey("tenants.id"), nullable=False),
    Column("document_pk", Integer, ForeignKey("documents.id"), nullable=False, unique=True),
    # lifecycle state of the document on the recipient's side (arrived, accepted, refused...)
    Column("state", String(32), nullable=False),
    Column("valid", Boolean, nullable=False),
    Column("verification", Text, nullable=True),  # JSON report of the verifier
    Column("error_code", String(64), nullable=True),
    Column("reason", Text, nullable=True),
    Column("assigned_to", String(255), nullable=True),
    Column("received_at", DateTime, nullable=False),
    Column("decided_at", DateTime, nullable=True),
)
Index("ix_inbox_items_tenant_state", inbox_items.c.tenant_id, inbox_items.c.state)

status_messages = Table(
    "status_messages",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tenant_id", Integer, ForeignKey("tenants.id"), nullable=False),
    Column("sender", String(64), nullable=True),
    Column("document_id", String(200), nullable=True),  # ResponseFor/DocumentId
    Column("response_organ", String(64), nullable=True),  # ResponseFor/OrganId
    Column("status_code", String(2), nullable=True),
    Column("description", Text, nullable=True),
    Column("timestamp", DateTime, nullable=True),
    Column("data", LargeBinary, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("axis_doc_id", String(200), nullable=True),
    Column("delivery_id", Integer, ForeignKey("deliveries.id"), nullable=True),
    Column("inbox_item_id", Integer, ForeignKey("inbox_items.id"), nullable=True),
    # matched | unknown-document | invalid | ignored
    Column("outcome", String(32), nullable=False),
    Column("error", Text, nullable=True),
    Column("received_at", DateTime, nullable=False),
    UniqueConstraint("tenant_id", "sha256", name="uq_status_messages_tenant_sha256"),
)
Index("ix_status_messages_outcome", status_messages.c.outcome)
Index("ix_status_messages_delivery", status_messages.c.delivery_id)

events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tenant_id", Integer, ForeignKey("tenants.id"), nullable=False),
    Column("document_pk", Integer, ForeignKey("documents.id"), nullable=True),
    Column("delivery_id", Integer, ForeignKey("deliveries.id"), nullable=True),
    Column("inbox_item_id", Integer, ForeignKey("inbox_items.id"), nullable=True),
    Column("at", DateTime, nullable=False),
    Column("event", String(32), nullable=False),
    Column("from_state", String(32), nullable=True),
    Column("to_state", String(32), nullable=True),
    Column("status_code", String(2), nullable=True),
    Column("hop", String(200), nullable=True),  # who: an organ code, the axis, an operator
    Column("detail", Text, nullable=True),
)
Index("ix_events_delivery", events.c.delivery_id)
Index("ix_events_document", events.c.document_pk)
Index("ix_events_inbox_item", events.c.inbox_item_id)

ALL = (tenants, documents, document_blobs, deliveries, inbox_items, status_messages, events)
