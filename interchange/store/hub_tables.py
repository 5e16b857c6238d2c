"""The embedded hub's tables: accepted messages and their per-recipient queue.

- ``hub_blobs``: the bytes exactly as signed, once per content (``sha256``): a directive
  sent to 705 districts one recipient at a time is stored once, not 705 times.
- ``hub_messages``: one row per accepted ``sendEdoc`` (its ``id`` is the ``DocId`` the
  sender gets back), naming its bytes by ``sha256``, with the hub's hop (``hub_id``,
  ``received_at``) *beside* them, never inside. ``(sender_system, request_mac)`` is
  unique: a replayed send is refused even after the hub restarts.
- ``hub_queue``: one row per (message, recipient agency); its ``id`` is the ``docId`` the
  recipient lists, fetches and acknowledges. ``substituted_from`` records an old code that
  the directory resolved to ``recipient``. ``state`` is ``pending`` until the recipient's
  ``updateStatus`` (``done`` / ``fail``).
- ``hub_agencies``: agencies described through ``registerAgency``, each owned by the
  system that registered it (only that system may update or delete it). Listed by
  ``getAgenciesList``; never read by routing (``interchange.hub.agencies``).

Timestamps are naive UTC, like the node's tables.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from .db import metadata

hub_blobs = Table(
    "hub_blobs",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("data", LargeBinary, nullable=False),
    Column("size", Integer, nullable=False),
)

hub_messages = Table(
    "hub_messages",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("sender_system", String(128), nullable=False),
    Column("from_organ", String(64), nullable=False),
    Column("message_type", String(8), nullable=False),
    Column("service_type", String(16), nullable=False),
    Column("document_id", String(400), nullable=True),
    Column("title", Text, nullable=True),
    Column("notation", String(200), nullable=True),
    Column("sha256", String(64), ForeignKey("hub_blobs.sha256"), nullable=False),
    Column("size", Integer, nullable=False),
    Column("request_mac", String(64), nullable=False),
    Column("hub_id", String(128), nullable=False),
    Column("received_at", DateTime, nullable=False),
    UniqueConstraint("sender_system", "request_mac", name="uq_hub_messages_request_mac"),
    Index("ix_hub_messages_sender", "sender_system", "message_type", "received_at"),
)

hub_queue = Table(
    "hub_queue",
    metadata,
    Column("id", String(36), primary_key=True),
    Column(
        "message_id",
        String(36),
        ForeignKey("hub_messages.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("recipient", String(64), nullable=False),
    Column("addressed_to", String(64), nullable=False),
    Column("substituted_from", String(64), nullable=True),
    Column("from_organ", String(64), nullable=False),
    Column("message_type", String(8), nullable=False),
    Column("state", String(8), nullable=False, default="pending"),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Column("acked_at", DateTime, nullable=True),
    UniqueConstraint("message_id", "recipient", name="uq_hub_queue_message_recipient"),
    Index("ix_hub_queue_pending", "recipient", "message_type", "state", "created_at"),
)

hub_agencies = Table(
    "hub_agencies",
    metadata,
    Column("code", String(64), primary_key=True),
    Column("system_id", String(128), nullable=False),
    Column("name", String(400), nullable=False),
    Column("mail", String(254), nullable=True),
    Column("parent", String(64), nullable=True),
    Column("old_code", String(64), nullable=True),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Index("ix_hub_agencies_system", "system_id"),
)
