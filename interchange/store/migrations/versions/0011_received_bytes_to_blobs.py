"""Received documents stored before migration 0008 move their bytes into document_blobs.

0008 began keeping received bytes once per SHA-256 but left the rows already stored as they
were: a node upgraded after a 705-district fan-out still held 705 copies. This moves them.
Each received row's bytes are hashed here and compared with the SHA-256 the row records, and
with the blob already kept under it, byte for byte. Only a row that matches both loses its
inline copy. A row that does not match keeps its own bytes, and nothing wrong is put in a
blob for later documents to share. Readers coalesce inline bytes and blobs
(``store/blobs.py``) before and after. What we send stays inline, as 0008 decided.

Rows are read in batches by primary key, so a large table is never held in memory. The
downgrade has nothing to undo: revision 0010 reads blobs the same way.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 500

# the tables as this revision knows them (the application's may change later)
documents = sa.table(
    "documents",
    sa.column("id", sa.Integer),
    sa.column("direction", sa.String),
    sa.column("data", sa.LargeBinary),
    sa.column("sha256", sa.String),
)
blobs = sa.table(
    "document_blobs",
    sa.column("sha256", sa.String),
    sa.column("data", sa.LargeBinary),
    sa.column("size", sa.Integer),
)


def upgrade() -> None:
    bind = op.get_bind()
    after = 0
    while True:
        rows = bind.execute(
            sa.select(documents.c.id, documents.c.data, documents.c.sha256)
            .where(
                documents.c.direction == "in",
                documents.c.data.is_not(None),
                documents.c.id > after,
            )
            .order_by(documents.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        after = rows[-1].id
        for row in rows:
            _move(bind, row.id, bytes(row.data), row.sha256)


def _move(bind: sa.Connection, pk: int, data: bytes, sha: str) -> None:
    if hashlib.sha256(data).hexdigest() != sha:
        return  # the row's own record disagrees with its bytes: leave it whole
    kept = bind.execute(sa.select(blobs.c.data).where(blobs.c.sha256 == sha)).first()
    if kept is None:
        bind.execute(sa.insert(blobs).values(sha256=sha, data=data, size=len(data)))
    elif bytes(kept.data) != data:
        return  # a blob under this SHA-256 holds other bytes: keep this row's own
    bind.execute(sa.update(documents).where(documents.c.id == pk).values(data=None))


def downgrade() -> None:
    pass  # blobs are read by 0010 as by 0011
