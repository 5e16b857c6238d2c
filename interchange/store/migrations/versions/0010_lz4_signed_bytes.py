"""Signed bytes compressed with LZ4 on PostgreSQL, not with its default pglz.

Every document sent or received and every status message is a row holding its signed
bytes (10 to 20 KB of XML for a conclusion). PostgreSQL compresses such values when it
stores them (TOAST), by default with pglz: in the forwarding benchmark pglz was about a
tenth of the database server's CPU. LZ4 compresses the same XML several times faster,
and reads back the identical bytes. Values already stored keep their method; PostgreSQL
reads both. A server built without LZ4 keeps pglz (the upgrade checks which methods the
server offers). SQLite stores the bytes as they are: nothing changes there.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# every column holding signed bytes, the node's and the hub's
SIGNED_BYTES = (
    ("documents", "data"),
    ("document_blobs", "data"),
    ("status_messages", "data"),
    ("hub_blobs", "data"),
)


def _methods(bind: sa.Connection) -> list[str]:
    found = bind.execute(
        sa.text("SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression'")
    ).scalar()
    return list(found or [])


def _set(method: str) -> None:
    for table, column in SIGNED_BYTES:
        op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET COMPRESSION {method}")


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql" and "lz4" in _methods(bind):
        _set("lz4")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _set("default")
