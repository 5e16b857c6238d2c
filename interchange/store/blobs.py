"""Received bytes kept once per SHA-256, and the one expression every reader goes through.

Why: a node hosting many agencies receives a directive to 705 districts 705 times; storing the
signed bytes in each ``documents`` row kept 705 copies (176 MB per fan-out). Received documents
now put their bytes in ``document_blobs`` (insert-if-absent, in the document's transaction) and
leave ``documents.data`` NULL; what we send keeps its bytes inline (migration 0011 moved the
received rows stored before 0008 into blobs). ``document_bytes`` reads either, so no reader
sees ``NULL``.
"""

from __future__ import annotations

from sqlalchemy import Insert, LargeBinary, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from . import lean
from .tables import document_blobs, documents

#: The signed bytes of a ``documents`` row: inline, else its blob (correlated to ``documents``).
document_bytes: ColumnElement[bytes] = func.coalesce(
    documents.c.data,
    select(document_blobs.c.data)
    .where(document_blobs.c.sha256 == documents.c.sha256)
    .scalar_subquery(),
    type_=LargeBinary(),
)

#: Their size in bytes, without reading a blob's content (its ``size`` column).
document_size: ColumnElement[int] = func.coalesce(
    func.length(documents.c.data),
    select(document_blobs.c.size)
    .where(document_blobs.c.sha256 == documents.c.sha256)
    .scalar_subquery(),
)

_PUT: dict[str, Insert] = {
    "postgresql": pg_insert(document_blobs).on_conflict_do_nothing(index_elements=["sha256"]),
    "sqlite": sqlite_insert(document_blobs).on_conflict_do_nothing(index_elements=["sha256"]),
}


def put_blob(conn: Connection, sha256: str, data: bytes) -> None:
    """Keep ``data`` under ``sha256`` unless it is already kept (in the caller's transaction)."""
    blob = {"sha256": sha256, "data": data, "size": len(data)}
    lean.execute(conn, _PUT[conn.dialect.name], blob).close()
