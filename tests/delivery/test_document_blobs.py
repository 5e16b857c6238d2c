"""Received bytes are kept once per SHA-256 (``document_blobs``), and every reader still gets
exactly the bytes that travelled: the operator API, the answers (01/02/03), the outbox worker.
Migration 0008 keeps the inline bytes of documents stored before it."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import func, insert, select
from sqlalchemy.engine import Connection, Engine

from adapters.memory import MemoryHub
from interchange.api import ApiSettings, create_api_app
from interchange.delivery.inbox import Inbox, InboxTenant
from interchange.delivery.outbox import submit
from interchange.delivery.worker import OutboxWorker, RetryPolicy
from interchange.edxml.model import Attachment, StatusCode
from interchange.store import auth_tables as auth
from interchange.store.blobs import document_bytes, document_size
from interchange.store.db import make_engine
from interchange.store.migrate import alembic_config, upgrade_database
from interchange.store.ops import ensure_tenant, insert_id, sha256_hex
from interchange.store.tables import document_blobs, documents, inbox_items, tenants

from .conftest import pg_schema_engine
from .fakes import FakeCodec, RecordingAxis, encode, forge, make_edoc, status_codes

PROVINCE = "000.00.13.H53"
HOSTED = ["000.00.30.H53", "000.00.31.H53", "000.00.32.H53"]
POLICY = RetryPolicy(backoff_base=1.0, backoff_max=5.0, max_age=3600.0)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


class Node:
    """A province sending to one node that hosts three districts, on one in-memory hub."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.hub = MemoryHub()
        self.codec = FakeCodec()
        self.p_axis = RecordingAxis(self.hub, "province", [PROVINCE])
        self.d_axis = RecordingAxis(self.hub, "districts", HOSTED)
        with engine.begin() as conn:
            self.p_id = ensure_tenant(conn, PROVINCE)
            self.d_ids = {c: ensure_tenant(conn, c) for c in HOSTED}
        self.inbox = Inbox(
            engine,
            self.d_axis,
            self.codec,
            {c: InboxTenant(i, c) for c, i in self.d_ids.items()},
        )

        def axis_for(tenant_id: int) -> RecordingAxis:
            return self.p_axis if tenant_id == self.p_id else self.d_axis

        self.worker = OutboxWorker(engine, axis_for, POLICY, "w", fanout=False)

    def send(self, data: bytes) -> None:
        """The province sends ``data`` (its bytes, as they travel) to the three districts."""
        msg = make_edoc(PROVINCE, HOSTED)
        submit(self.engine, tenant_id=self.p_id, data=data, message=msg, kind="directive")
        self.drain()

    def drain(self) -> None:
        while self.worker.run_once():
            pass

    def received(self) -> list[tuple[int, bytes | None, bytes]]:
        """(inbox item, inline column, bytes read back) of every received document."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(inbox_items.c.id, documents.c.data, document_bytes.label("bytes"))
                .join(documents, documents.c.id == inbox_items.c.document_pk)
                .order_by(inbox_items.c.id)
            ).all()
        return [(int(r.id), r.data, bytes(r.bytes)) for r in rows]

    def count(self, table: object, *where: object) -> int:
        with self.engine.connect() as conn:
            q = select(func.count()).select_from(table)  # type: ignore[arg-type]
            return int(conn.execute(q.where(*where)).scalar_one())  # type: ignore[arg-type]


def _directive_with_attachment() -> bytes:
    msg = make_edoc(PROVINCE, HOSTED, subject="Chỉ thị về phòng chống thiên tai")
    att = Attachment("att-1", "chi-thi.pdf", "application/pdf", PDF)
    return encode(replace(msg, attachments=(att,)))


ClientOf = Callable[[Engine], tuple[TestClient, str]]


@pytest.fixture
def client_of() -> Iterator[ClientOf]:
    """An operator API on the test's database, and an admin's token for it."""
    clients: list[TestClient] = []

    def make(engine: Engine) -> tuple[TestClient, str]:
        with engine.begin() as conn:
            token = auth.add_user(conn, "root", "admin", ["*"]).token
        url = engine.url.render_as_string(hide_password=False)
        app = create_api_app(ApiSettings(database_url=url), engine=engine, codec=FakeCodec())
        c = TestClient(app, raise_server_exceptions=False)
        clients.append(c)
        return c.__enter__(), token

    yield make
    for c in clients:
        c.__exit__(None, None, None)


def test_three_hosted_tenants_three_documents_one_blob(engine: Engine, client_of: ClientOf) -> None:
    node = Node(engine)
    data = _directive_with_attachment()
    node.send(data)
    assert node.inbox.poll().count("stored") == 3
    in_ = documents.c.direction == "in"
    assert node.count(documents, in_) == 3
    assert node.count(document_blobs) == 1
    received = node.received()
    assert [(inline, got) for _, inline, got in received] == [(None, data)] * 3
    with engine.connect() as conn:
        blob = conn.execute(select(document_blobs)).one()
        sizes = conn.execute(select(document_size).where(in_)).scalars().all()
        # what is sent stays inline: the province's copy and the answers queued
        out = conn.execute(
            select(documents.c.message_type, documents.c.data).where(documents.c.direction == "out")
        ).all()
    assert [bytes(r.data) for r in out if r.message_type == "edoc"] == [data]
    assert len(out) == 1 + 2 * 3 and all(r.data for r in out)
    assert (blob.sha256, bytes(blob.data), blob.size) == (sha256_hex(data), data, len(data))
    assert sizes == [len(data)] * 3
    # the answers were built from the blob's bytes: 01 and 03 from each district
    node.drain()
    codes = status_codes(node.hub, PROVINCE)
    assert codes.count(StatusCode.ARRIVED) == codes.count(StatusCode.ACCEPTED) == 3
    # the operator API reads the same bytes: detail (size, hash, signature) and attachment
    client, token = client_of(engine)
    h = {"Authorization": f"Bearer {token}"}
    for item, _, _ in received:
        r = client.get(f"/api/v1/inbox/{item}", headers=h)
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["size"], body["sha256"]) == (len(data), sha256_hex(data))
        assert [a["size"] for a in body["attachments"]] == [len(PDF)]
        got = client.get(f"/api/v1/inbox/{item}/attachments/0", headers=h)
        assert got.status_code == 200 and got.content == PDF
    # an operator's answer (04) is built from the blob's bytes too, and reaches the province
    item = received[0][0]
    r = client.post(f"/api/v1/inbox/{item}/assign", headers=h, json={"to": "Phòng Thanh tra"})
    assert r.status_code == 200, r.text
    node.drain()
    assert status_codes(node.hub, PROVINCE).count(StatusCode.ASSIGNED) == 1
    assert node.count(document_blobs) == 1


def test_refused_copies_share_one_blob_and_read_back(engine: Engine, client_of: ClientOf) -> None:
    node = Node(engine)
    data = forge(_directive_with_attachment())
    node.send(data)
    assert node.inbox.poll().count("refused") == 3
    assert node.count(documents, documents.c.direction == "in") == 3
    assert node.count(document_blobs) == 1
    received = node.received()
    assert [(inline, got) for _, inline, got in received] == [(None, data)] * 3
    node.drain()
    assert status_codes(node.hub, PROVINCE) == [StatusCode.REFUSED] * 3
    client, token = client_of(engine)
    r = client.get(f"/api/v1/inbox/{received[0][0]}", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    assert (r.json()["size"], r.json()["state"]) == (len(data), "refused")


def test_a_duplicate_delivery_stores_nothing_new(engine: Engine) -> None:
    node = Node(engine)
    data = encode(make_edoc(PROVINCE, HOSTED))
    node.send(data)
    assert node.inbox.poll().count("stored") == 3
    tenant = InboxTenant(node.d_ids[HOSTED[0]], HOSTED[0])
    assert node.inbox.store_document(tenant, data, axis_doc_id="again") == "duplicate"
    forged = forge(data)
    assert node.inbox.store_document(tenant, forged) == "refused"
    assert node.inbox.store_document(tenant, forged) == "duplicate"
    assert node.count(documents, documents.c.direction == "in") == 4
    assert node.count(document_blobs) == 2
    assert node.count(inbox_items) == 4


# --- migration 0008 ----------------------------------------------------------------------


BOTH = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@contextlib.contextmanager
def _migrated_to(kind: str, tmp_path: Path, revision: str) -> Iterator[Engine]:
    """An empty database (SQLite, or a fresh PostgreSQL schema) migrated to ``revision``."""
    with contextlib.ExitStack() as stack:
        if kind == "sqlite":
            eng = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
            stack.callback(eng.dispose)
        else:
            eng = stack.enter_context(pg_schema_engine())
        with eng.connect() as conn:
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
            conn.commit()
        yield eng


@pytest.fixture(params=BOTH)
def engine_at_0007(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """Before document_blobs."""
    with _migrated_to(request.param, tmp_path, "0007") as eng:
        yield eng


def test_documents_stored_before_0008_move_into_blobs_and_stay_readable(
    engine_at_0007: Engine,
) -> None:
    """0008 leaves older rows inline; 0011 moves their bytes into a blob (one per SHA-256)."""
    eng = engine_at_0007
    old = encode(make_edoc(PROVINCE, HOSTED))
    now = dt.datetime(2026, 11, 28, 10, 0)
    with eng.begin() as conn:
        tid = ensure_tenant(conn, HOSTED[0])
        pk = insert_id(
            conn,
            documents,
            dict(
                tenant_id=tid,
                direction="in",
                message_type="edoc",
                dedupe_key="old|1",
                recipients="",
                kind="directive",
                bussiness_type=0,
                data=old,
                sha256=sha256_hex(old),
                created_at=now,
            ),
        )
        conn.execute(
            insert(inbox_items).values(
                tenant_id=tid, document_pk=pk, state="arrived", valid=True, received_at=now
            )
        )
    upgrade_database(eng.url.render_as_string(hide_password=False), engine=eng)
    with eng.connect() as conn:
        row = conn.execute(
            select(documents.c.data, document_bytes.label("b"), document_size.label("n"))
        ).one()
        assert conn.execute(select(func.count()).select_from(inbox_items)).scalar_one() == 1
        assert conn.execute(select(func.count()).select_from(document_blobs)).scalar_one() == 1
        if eng.dialect.name == "sqlite":  # the rebuild left foreign keys on for this pool
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
    assert (row.data, bytes(row.b), row.n) == (None, old, len(old))  # moved, read the same
    # and the upgraded database receives new documents into blobs
    node = Node(eng)
    data = encode(make_edoc(PROVINCE, HOSTED, "13"))
    node.send(data)
    assert node.inbox.poll().count("stored") == 3
    assert node.count(document_blobs) == 2
    assert sorted((got for _, _, got in node.received()), key=len) == sorted(
        [old, data, data, data], key=len
    )
    with eng.connect() as conn:
        codes = conn.execute(select(tenants.c.organ_code)).scalars().all()
    assert set(HOSTED) <= set(codes)


def test_downgrade_puts_received_bytes_back_inline(engine: Engine) -> None:
    node = Node(engine)
    data = encode(make_edoc(PROVINCE, HOSTED))
    node.send(data)
    assert node.inbox.poll().count("stored") == 3
    with engine.connect() as conn:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0007")
        conn.commit()
        inline = conn.execute(
            select(documents.c.data).where(documents.c.direction == "in")
        ).scalars()
        assert [bytes(b) for b in inline] == [data] * 3
        assert conn.execute(select(func.count()).select_from(inbox_items)).scalar_one() == 3


# --- migration 0011 ----------------------------------------------------------------------


@pytest.fixture(params=BOTH)
def engine_at_0010(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """Blobs exist; received rows stored before 0008 not yet moved."""
    with _migrated_to(request.param, tmp_path, "0010") as eng:
        yield eng


def _stored(
    conn: Connection, tid: int, key: str, direction: str, data: bytes | None, sha: str
) -> int:
    return insert_id(
        conn,
        documents,
        dict(
            tenant_id=tid,
            direction=direction,
            message_type="edoc",
            dedupe_key=key,
            recipients="",
            kind="directive",
            bussiness_type=0,
            data=data,
            sha256=sha,
            created_at=dt.datetime(2026, 11, 28, 10, 0),
        ),
    )


def test_0011_moves_matching_received_bytes_and_keeps_everything_else(
    engine_at_0010: Engine,
) -> None:
    eng = engine_at_0010
    copy = encode(make_edoc(PROVINCE, HOSTED))
    sent = encode(make_edoc(PROVINCE, HOSTED, "14"))
    corrupt = encode(make_edoc(PROVINCE, HOSTED, "15"))
    already = encode(make_edoc(PROVINCE, HOSTED, "16"))
    elsewhere = encode(make_edoc(PROVINCE, HOSTED, "17"))
    clashing = encode(make_edoc(PROVINCE, HOSTED, "18"))
    with eng.begin() as conn:
        tid = ensure_tenant(conn, HOSTED[0])
        pks = {
            "copy1": _stored(conn, tid, "a|1", "in", copy, sha256_hex(copy)),
            "copy2": _stored(conn, tid, "a|2", "in", copy, sha256_hex(copy)),
            "sent": _stored(conn, tid, "b|1", "out", sent, sha256_hex(sent)),
            # its recorded SHA-256 is another document's: it must not become that blob
            "corrupt": _stored(conn, tid, "c|1", "in", corrupt, sha256_hex(elsewhere)),
            "already": _stored(conn, tid, "d|1", "in", None, sha256_hex(already)),
            # sound itself, but the blob kept under its SHA-256 holds other bytes
            "clashing": _stored(conn, tid, "e|1", "in", clashing, sha256_hex(clashing)),
        }
        for sha, data in ((sha256_hex(already), already), (sha256_hex(clashing), corrupt)):
            conn.execute(insert(document_blobs).values(sha256=sha, data=data, size=len(data)))
    upgrade_database(eng.url.render_as_string(hide_password=False), engine=eng)
    with eng.connect() as conn:
        read = select(documents.c.id, documents.c.data, document_bytes.label("b"))
        rows = {r.id: (r.data, bytes(r.b)) for r in conn.execute(read)}
        kept = dict(conn.execute(select(document_blobs.c.sha256, document_blobs.c.data)).all())
    assert rows[pks["copy1"]] == rows[pks["copy2"]] == (None, copy)  # one blob for both
    assert rows[pks["sent"]] == (sent, sent)  # what we send stays inline
    assert rows[pks["corrupt"]] == (corrupt, corrupt)  # kept whole, not filed wrongly
    assert rows[pks["already"]] == (None, already)
    assert rows[pks["clashing"]] == (clashing, clashing)
    assert {sha: bytes(b) for sha, b in kept.items()} == {
        sha256_hex(copy): copy,
        sha256_hex(already): already,
        sha256_hex(clashing): corrupt,  # as it was: a migration does not repair blobs
    }
