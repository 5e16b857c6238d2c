"""Indexes for the operator's lookups: a document's status messages, deliveries by recipient.

Without them the document detail scans every status message and the recipient filter every
delivery; both grow without bound on a busy node.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_status_messages_delivery", "status_messages", ["delivery_id"])
    op.create_index("ix_deliveries_recipient", "deliveries", ["recipient"])


def downgrade() -> None:
    op.drop_index("ix_deliveries_recipient", table_name="deliveries")
    op.drop_index("ix_status_messages_delivery", table_name="status_messages")
