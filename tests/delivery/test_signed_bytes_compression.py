"""Migration 0010: on PostgreSQL the signed bytes are compressed with LZ4, and read back
exactly as they travelled."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import select, text
from sqlalchemy.engine import Connection, Engine

from interchange.delivery.outbox import submit
from interchange.store.migrate import alembic_config
from interchange.store.ops import ensure_tenant, insert_id, sha256_hex, utcnow
from interchange.store.tables import documents, status_messages

from .fakes import make_edoc

pytestmark = pytest.mark.postgres

COLUMNS = {"documents", "document_blobs", "status_messages", "hub_blobs"}


def _signed_like(n: int) -> bytes:
    """Bytes large enough to be compressed (PostgreSQL compresses values over ~2 KB)."""
    rows = b"".join(
        b"<Row><No>%d</No><Finding>Chua cong khai ke hoach thanh tra</Finding></Row>" % i
        for i in range(n)
    )
    return b"<?xml version='1.0'?><Conclusion>" + rows + b"</Conclusion>"


def _methods(conn: Connection) -> dict[str, str]:
    """Each signed-bytes column's configured method ('l' LZ4, 'p' pglz, '' the default)."""
    rows = conn.execute(
        text(
            "SELECT c.relname, a.attcompression FROM pg_attribute a "
            "JOIN pg_class c ON c.oid = a.attrelid "
            "WHERE c.relnamespace = current_schema()::regnamespace "
            "AND a.attname = 'data' AND c.relname = ANY(:names)"
        ),
        {"names": sorted(COLUMNS)},
    )
    return {str(name): str(method) for name, method in rows}


def _store(engine: Engine, data: bytes, number: str = "12") -> tuple[int, int]:
    """A sent document and a status message holding ``data``; their primary keys."""
    with engine.begin() as conn:
        tid = ensure_tenant(conn, "000.00.00.H53")
    sent = submit(
        engine,
        tenant_id=tid,
        data=data,
        message=make_edoc("000.00.00.H53", ["000.00.00.G22"], number),
    )
    with engine.begin() as conn:
        sid = insert_id(
            conn,
            status_messages,
            dict(
                tenant_id=tid,
                data=data,
                sha256=sha256_hex(data),
                outcome="unknown-document",
                received_at=utcnow(),
            ),
        )
    return sent.document_pk, sid


def _read(engine: Engine, doc_pk: int, sid: int) -> tuple[bytes, bytes, str, str]:
    with engine.connect() as conn:
        doc = conn.execute(
            select(documents.c.data, text("pg_column_compression(documents.data)")).where(
                documents.c.id == doc_pk
            )
        ).one()
        st = conn.execute(
            select(
                status_messages.c.data, text("pg_column_compression(status_messages.data)")
            ).where(status_messages.c.id == sid)
        ).one()
    return bytes(doc[0]), bytes(st[0]), str(doc[1]), str(st[1])


def test_signed_bytes_are_stored_with_lz4_and_read_back_unchanged(pg_engine: Engine) -> None:
    with pg_engine.connect() as conn:
        assert _methods(conn) == dict.fromkeys(COLUMNS, "l")
    data = _signed_like(400)
    doc_pk, sid = _store(pg_engine, data)
    got_doc, got_status, doc_method, status_method = _read(pg_engine, doc_pk, sid)
    assert (got_doc, got_status) == (data, data)
    assert (doc_method, status_method) == ("lz4", "lz4")


def test_downgrade_restores_the_default_and_keeps_what_is_stored(pg_engine: Engine) -> None:
    data = _signed_like(400)
    doc_pk, sid = _store(pg_engine, data)
    with pg_engine.connect() as conn:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0009")
        conn.commit()
        assert _methods(conn) == dict.fromkeys(COLUMNS, "")
    assert _read(pg_engine, doc_pk, sid) == (data, data, "lz4", "lz4")
    newer = _signed_like(401)
    doc2, sid2 = _store(pg_engine, newer, "13")
    got_doc, got_status, doc_method, _ = _read(pg_engine, doc2, sid2)
    assert (got_doc, got_status, doc_method) == (newer, newer, "pglz")
