"""document_blobs: received bytes once per SHA-256; ``documents.data`` becomes nullable

A node hosting many agencies receives a directive to 705 districts 705 times; each received
row kept its own copy of the signed bytes. Received documents now keep them once in
``document_blobs`` and leave ``documents.data`` NULL. Existing rows keep their inline bytes
(nothing is moved); readers coalesce the two (``interchange.store.blobs.document_bytes``).

SQLite cannot drop a NOT NULL in place: batch mode rebuilds ``documents``, which other tables
reference, so foreign keys are switched off around the rebuild (as Alembic documents) and
checked afterwards.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "document_blobs",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_document_blobs")),
    )
    with _rebuilding_documents():
        _alter_data(nullable=True)


def downgrade() -> None:
    with _rebuilding_documents():
        # received rows get their bytes back inline before the column is NOT NULL again
        op.execute(
            "UPDATE documents SET data = (SELECT b.data FROM document_blobs b"
            " WHERE b.sha256 = documents.sha256) WHERE data IS NULL"
        )
        _alter_data(nullable=False)
    op.drop_table("document_blobs")


def _alter_data(*, nullable: bool) -> None:
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.alter_column("data", existing_type=sa.LargeBinary(), nullable=nullable)


@contextlib.contextmanager
def _rebuilding_documents() -> Iterator[None]:
    """SQLite: foreign keys off while ``documents`` is rebuilt, then checked (no-op elsewhere).

    In a run of ``migrations/env.py`` they are already off, for the whole transaction, and
    turned back on after it (SQLite ignores the pragma inside a transaction)."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        yield
        return
    bind.exec_driver_sql("PRAGMA foreign_keys=OFF")
    try:
        yield
        for child in ("deliveries", "inbox_items", "events"):  # the tables referring to it
            broken = bind.exec_driver_sql(f"PRAGMA foreign_key_check({child})").first()
            if broken is not None:
                raise RuntimeError(f"the rebuild of documents broke a reference: {tuple(broken)}")
    finally:
        bind.exec_driver_sql("PRAGMA foreign_keys=ON")
