"""The outbox's claim index: waiting deliveries in due order, and only those.

A claim leases the oldest due deliveries that are queued or retrying. With the index on
(state, next_attempt_at) the database read every due row of both states and sorted them
on every claim: a backlog of thousands (after an outage, or a burst of conclusions) made
each poll sort the whole backlog. This partial index holds waiting rows only, in due order,
so a claim walks it and stops after one batch.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WAITING = "state IN ('queued', 'retrying')"  # as the claim writes it (delivery/worker.py)


def upgrade() -> None:
    op.create_index(
        "ix_deliveries_waiting",
        "deliveries",
        ["next_attempt_at", "id"],
        sqlite_where=sa.text(WAITING),
        postgresql_where=sa.text(WAITING),
    )


def downgrade() -> None:
    op.drop_index("ix_deliveries_waiting", table_name="deliveries")
