"""users.sessions_after: signing out of the dashboard ends the session on the server too.

A dashboard session is a signed cookie that the server does not store, so signing out only
deleted it in the browser: a copy stayed valid until it expired (12 hours by default). The
moment of the sign-out is recorded instead, with microseconds, and every cookie issued at or
before it is refused. NULL (every existing user) means no session has been ended that way;
cookies issued before this revision carry no issue time and are refused anyway, so everyone
signs in once more after the upgrade.

Adding a nullable column is done in place on both databases (no rebuild of ``users``, which
``user_tenants`` refers to). SQLite drops it in place too (3.35 and later).

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("users", sa.Column("sessions_after", sa.DateTime(), nullable=True))


def downgrade() -> None:
    op.drop_column("users", "sessions_after")
