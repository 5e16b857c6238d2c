"""hub tables (the embedded hub's messages and per-recipient queue)

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "hub_blobs",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_hub_blobs")),
    )
    op.create_table(
        "hub_messages",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("sender_system", sa.String(length=128), nullable=False),
        sa.Column("from_organ", sa.String(length=64), nullable=False),
        sa.Column("message_type", sa.String(length=8), nullable=False),
        sa.Column("service_type", sa.String(length=16), nullable=False),
        sa.Column("document_id", sa.String(length=400), nullable=True),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("notation", sa.String(length=200), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("request_mac", sa.String(length=64), nullable=False),
        sa.Column("hub_id", sa.String(length=128), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["sha256"], ["hub_blobs.sha256"], name=op.f("fk_hub_messages_sha256_hub_blobs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hub_messages")),
        sa.UniqueConstraint("sender_system", "request_mac", name="uq_hub_messages_request_mac"),
    )
    op.create_index(
        "ix_hub_messages_sender",
        "hub_messages",
        ["sender_system", "message_type", "received_at"],
        unique=False,
    )
    op.create_table(
        "hub_queue",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("message_id", sa.String(length=36), nullable=False),
        sa.Column("recipient", sa.String(length=64), nullable=False),
        sa.Column("addressed_to", sa.String(length=64), nullable=False),
        sa.Column("substituted_from", sa.String(length=64), nullable=True),
        sa.Column("from_organ", sa.String(length=64), nullable=False),
        sa.Column("message_type", sa.String(length=8), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("acked_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["hub_messages.id"],
            name=op.f("fk_hub_queue_message_id_hub_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hub_queue")),
        sa.UniqueConstraint("message_id", "recipient", name="uq_hub_queue_message_recipient"),
    )
    op.create_index(
        "ix_hub_queue_pending",
        "hub_queue",
        ["recipient", "message_type", "state", "created_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_hub_queue_pending", table_name="hub_queue")
    op.drop_table("hub_queue")
    op.drop_index("ix_hub_messages_sender", table_name="hub_messages")
    op.drop_table("hub_messages")
    op.drop_table("hub_blobs")
