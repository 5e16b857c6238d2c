"""hub_agencies: agencies described through the REST face's ``registerAgency``

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "hub_agencies",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("system_id", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=400), nullable=False),
        sa.Column("mail", sa.String(length=254), nullable=True),
        sa.Column("parent", sa.String(length=64), nullable=True),
        sa.Column("old_code", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_hub_agencies")),
    )
    op.create_index("ix_hub_agencies_system", "hub_agencies", ["system_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_hub_agencies_system", table_name="hub_agencies")
    op.drop_table("hub_agencies")
