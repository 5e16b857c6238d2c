"""Delivery indexes by what reads them: the claim's and the unanswered sweep's.

A claim leases the oldest due deliveries that are queued or retrying. With the index on
(state, next_attempt_at) the database read every due row of both states and sorted them
on every claim: a backlog of thousands (after an outage, or a burst of conclusions) made
each poll sort the whole backlog. ``ix_deliveries_waiting`` holds waiting rows only, in
due order, so a claim walks it and stops after one batch. The old index goes: it was
updated on every change of state (the costliest write of a delivery row) and read only by
the claim and by the sweep for documents nobody answered, which gets its own small index
of the rows still ``sent`` (``ix_deliveries_unanswered``).

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

WAITING = "state IN ('queued', 'retrying')"  # as the claim writes it (delivery/claims.py)
SENT = "state = 'sent'"  # as the sweep writes it (delivery/worker.py)


def upgrade() -> None:
    op.create_index(
        "ix_deliveries_waiting",
        "deliveries",
        ["next_attempt_at", "id"],
        sqlite_where=sa.text(WAITING),
        postgresql_where=sa.text(WAITING),
    )
    op.create_index(
        "ix_deliveries_unanswered",
        "deliveries",
        ["created_at"],
        sqlite_where=sa.text(SENT),
        postgresql_where=sa.text(SENT),
    )
    op.drop_index("ix_deliveries_due", table_name="deliveries")


def downgrade() -> None:
    op.create_index("ix_deliveries_due", "deliveries", ["state", "next_attempt_at"])
    op.drop_index("ix_deliveries_unanswered", table_name="deliveries")
    op.drop_index("ix_deliveries_waiting", table_name="deliveries")
