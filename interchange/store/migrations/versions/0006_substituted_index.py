"""A partial index for status messages answered by an agency's old code.

An incoming status finds its delivery by (document, recipient) through the unique index;
a status from an old code looks for the delivery whose ``substituted_from`` is that code.
Without this index that second lookup read every delivery of the document: 705 rows per
status in a fan-out to 705 districts, i.e. about a million row reads per fan-out. Only
substituted rows are indexed, so it stays tiny.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    where = sa.text("substituted_from IS NOT NULL")
    op.create_index(
        "ix_deliveries_substituted",
        "deliveries",
        ["document_pk", "substituted_from"],
        sqlite_where=where,
        postgresql_where=where,
    )


def downgrade() -> None:
    op.drop_index("ix_deliveries_substituted", table_name="deliveries")
