"""Inbox: store then acknowledge, answers 01/03/02, duplicates, status messages."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from adapters.memory import MemoryHub
from interchange.delivery.inbox import Inbox, InboxTenant
from interchange.delivery.lifecycle import State
from interchange.delivery.outbox import Recipient, submit
from interchange.delivery.statuses import store_statuses
from interchange.delivery.worker import OutboxWorker, RetryPolicy
from interchange.edxml.model import Organ, ResponseFor, StatusCode, StatusMessage
from interchange.edxml.read import read_message
from interchange.store.blobs import document_bytes
from interchange.store.ops import ensure_tenant
from interchange.store.tables import deliveries, documents, events, inbox_items, status_messages

from .fakes import NOW, FakeCodec, RecordingAxis, encode, forge, make_edoc, sent_to, status_codes

PROVINCE = "000.00.13.H53"
MINISTRY = "000.00.02.G14"
POLICY = RetryPolicy(backoff_base=1.0, backoff_max=5.0, max_age=3600.0)


class Pair:
    """A sender node (province) and a receiver node (ministry) on one hub, one database each
    would be more realistic; one database with two tenants exercises the same code."""

    def __init__(self, engine: Engine, *, auto_accept: bool = True) -> None:
        self.engine = engine
        self.hub = MemoryHub()
        self.codec = FakeCodec()
        self.p_axis = RecordingAxis(self.hub, "province", [PROVINCE])
        self.m_axis = RecordingAxis(self.hub, "ministry", [MINISTRY])
        with engine.begin() as conn:
            self.p_id = ensure_tenant(conn, PROVINCE)
            self.m_id = ensure_tenant(conn, MINISTRY, auto_accept=auto_accept)
        self.m_inbox = Inbox(
            engine,
            self.m_axis,
            self.codec,
            {MINISTRY: InboxTenant(self.m_id, MINISTRY, auto_accept)},
        )
        self.p_inbox = Inbox(
            engine, self.p_axis, self.codec, {PROVINCE: InboxTenant(self.p_id, PROVINCE)}
        )
        axes = {self.p_id: self.p_axis, self.m_id: self.m_axis}
        self.worker = OutboxWorker(engine, axes.__getitem__, POLICY, "w")

    def send_conclusion(self, number: str = "12") -> bytes:
        msg = make_edoc(PROVINCE, [MINISTRY], number)
        data = encode(msg)
        submit(self.engine, tenant_id=self.p_id, data=data, message=msg, kind="conclusion")
        self.worker.run_once()
        return data

    def rows(self, table: object) -> list:  # type: ignore[type-arg]
        with self.engine.connect() as conn:
            return list(conn.execute(select(table)).all())  # type: ignore[call-overload]


def count(engine: Engine, table: object, *where: object) -> int:
    with engine.connect() as conn:
        q = select(func.count()).select_from(table)  # type: ignore[arg-type]
        return int(conn.execute(q.where(*where)).scalar_one())  # type: ignore[arg-type]


def test_valid_document_stored_then_acked_and_answered_01_03(engine: Engine) -> None:
    pair = Pair(engine)
    data = pair.send_conclusion()
    res = pair.m_inbox.poll()
    assert res.count("stored") == 1
    [doc] = [d for d in pair.rows(documents) if d.direction == "in"]
    assert doc.data is None and doc.sender == PROVINCE  # kept once, in document_blobs
    with pair.engine.connect() as conn:
        stored = conn.execute(select(document_bytes).where(documents.c.id == doc.id)).scalar_one()
    assert stored == data
    [item] = pair.rows(inbox_items)
    assert item.state == "accepted" and item.valid
    assert len(pair.m_axis.acks) == 1
    # the answers go out through the ministry's outbox...
    pair.worker.run_once()
    assert status_codes(pair.hub, PROVINCE) == [StatusCode.ARRIVED, StatusCode.ACCEPTED]
    # ...and move the province's delivery
    res = pair.p_inbox.poll()
    assert res.count("matched") == 2
    [delivery] = [d for d in pair.rows(deliveries) if d.tenant_id == pair.p_id]
    assert delivery.state == "accepted"
    timeline = [e.to_state for e in pair.rows(events) if e.delivery_id == delivery.id]
    assert timeline == ["queued", "sent", "arrived", "accepted"]


def test_manual_accept_policy_leaves_item_arrived(engine: Engine) -> None:
    pair = Pair(engine, auto_accept=False)
    pair.send_conclusion()
    pair.m_inbox.poll()
    [item] = pair.rows(inbox_items)
    assert item.state == "arrived"
    pair.worker.run_once()
    assert status_codes(pair.hub, PROVINCE) == [StatusCode.ARRIVED]


def test_crash_between_commit_and_ack_no_loss_no_duplicate(engine: Engine) -> None:
    pair = Pair(engine)
    pair.send_conclusion()
    pair.m_axis.crash_before_ack = True
    with pytest.raises(SystemExit):
        pair.m_inbox.poll()
    assert count(engine, inbox_items) == 1  # committed before the crash
    assert pair.m_axis.acks == []
    pair.m_axis.crash_before_ack = False
    res = pair.m_inbox.poll()  # replay after restart: recognised, acknowledged, not stored again
    assert res.outcomes and res.count("duplicate") == 1
    assert count(engine, inbox_items) == 1
    assert count(engine, documents, documents.c.direction == "in") == 1
    assert len(pair.m_axis.acks) == 1
    assert pair.m_inbox.poll().outcomes == []


def test_crash_before_commit_leaves_item_queued(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    pair = Pair(engine)
    pair.send_conclusion()

    def boom(*_a: object, **_k: object) -> bytes:
        raise SystemExit("killed while signing the answer")

    monkeypatch.setattr(pair.codec, "sign_status", boom)
    with pytest.raises(SystemExit):
        pair.m_inbox.poll()
    assert count(engine, inbox_items) == 0 and pair.m_axis.acks == []
    monkeypatch.undo()
    assert pair.m_inbox.poll().count("stored") == 1
    assert count(engine, inbox_items) == 1


def test_same_document_twice_is_stored_once(engine: Engine) -> None:
    pair = Pair(engine)
    msg = make_edoc(PROVINCE, [MINISTRY])
    data = encode(msg)
    tenant = pair.m_inbox.tenants[MINISTRY]
    assert pair.m_inbox.store_document(tenant, data) == "stored"
    # the same sender + DocumentId, even with different bytes (a resend with a new hop)
    again = data.replace("Tây Ninh".encode(), b"Tay Ninh")
    assert pair.m_inbox.store_document(tenant, again) == "duplicate"
    assert count(engine, documents, documents.c.direction == "in") == 1


def test_invalid_document_stored_refused_and_answered_02_with_reason(engine: Engine) -> None:
    pair = Pair(engine)
    msg = make_edoc(PROVINCE, [MINISTRY])
    pair.p_axis.send(
        forge(encode(msg)), message_type="edoc", from_organ=PROVINCE, to_organ=MINISTRY
    )
    assert pair.m_inbox.poll().count("refused") == 1
    [item] = pair.rows(inbox_items)
    assert item.state == "refused" and not item.valid
    assert item.error_code == "signature-value"
    assert item.reason == "the signature value does not verify"
    assert len(pair.m_axis.acks) == 1
    pair.worker.run_once()
    [status] = [read_message(d) for d in sent_to(pair.hub, PROVINCE, "status")]
    assert isinstance(status, StatusMessage)
    assert status.status_code is StatusCode.REFUSED
    assert status.description == "the signature value does not verify"
    assert status.document_id == msg.document_id
    # a forged copy does not block the genuine document
    assert pair.m_inbox.store_document(pair.m_inbox.tenants[MINISTRY], encode(msg)) == "stored"


def test_garbage_is_kept_refused_without_answer(engine: Engine) -> None:
    pair = Pair(engine)
    tenant = pair.m_inbox.tenants[MINISTRY]
    assert pair.m_inbox.store_document(tenant, b"not xml at all") == "refused"
    assert pair.m_inbox.store_document(tenant, b"not xml at all") == "duplicate"
    [item] = pair.rows(inbox_items)
    assert item.state == "refused" and item.error_code
    assert count(engine, deliveries) == 0  # nobody to answer


def _status(
    code: StatusCode, document_id: str, sender: str = MINISTRY, description: str | None = None
) -> bytes:
    return encode(
        StatusMessage(
            from_=Organ(sender),
            response_for=ResponseFor(PROVINCE, "12/KL-STTTT", NOW.date(), document_id),
            status_code=code,
            description=description,
            timestamp=NOW,
        )
    )


def test_status_for_unknown_document_is_kept(engine: Engine) -> None:
    pair = Pair(engine)
    tenant = pair.p_inbox.tenants[PROVINCE]
    assert (
        pair.p_inbox.store_status(tenant, _status(StatusCode.ARRIVED, "nope")) == "unknown-document"
    )
    [row] = pair.rows(status_messages)
    assert row.outcome == "unknown-document" and row.document_id == "nope"
    assert pair.p_inbox.store_status(tenant, _status(StatusCode.ARRIVED, "nope")) == "duplicate"


def test_refusal_status_records_reason_and_late_status_is_ignored(engine: Engine) -> None:
    pair = Pair(engine)
    pair.send_conclusion()
    doc_id = make_edoc(PROVINCE, [MINISTRY]).document_id
    tenant = pair.p_inbox.tenants[PROVINCE]
    assert (
        pair.p_inbox.store_status(
            tenant, _status(StatusCode.REFUSED, doc_id, description="thiếu chữ ký")
        )
        == "matched"
    )
    assert pair.p_inbox.store_status(tenant, _status(StatusCode.ACCEPTED, doc_id)) == "ignored"
    [d] = pair.rows(deliveries)
    assert d.state == State.REFUSED.value and d.reason == "thiếu chữ ký"
    assert [r.outcome for r in pair.rows(status_messages)] == ["matched", "ignored"]


def test_status_from_a_stranger_does_not_move_the_delivery(engine: Engine) -> None:
    pair = Pair(engine)
    pair.send_conclusion()
    doc_id = make_edoc(PROVINCE, [MINISTRY]).document_id
    tenant = pair.p_inbox.tenants[PROVINCE]
    out = pair.p_inbox.store_status(tenant, _status(StatusCode.COMPLETED, doc_id, "000.00.99.H53"))
    assert out == "unknown-document"
    assert [d.state for d in pair.rows(deliveries)] == ["sent"]


def test_forged_status_is_kept_as_invalid(engine: Engine) -> None:
    pair = Pair(engine)
    pair.send_conclusion()
    doc_id = make_edoc(PROVINCE, [MINISTRY]).document_id
    tenant = pair.p_inbox.tenants[PROVINCE]
    assert (
        pair.p_inbox.store_status(tenant, forge(_status(StatusCode.COMPLETED, doc_id))) == "invalid"
    )
    assert [d.state for d in pair.rows(deliveries)] == ["sent"]
    [row] = pair.rows(status_messages)
    assert row.outcome == "invalid" and "signature" in row.error


class BlankToAxis(RecordingAxis):
    """An axis whose list rows do not say which agency an item is for."""

    def list_pending(self, message_type):  # type: ignore[no-untyped-def]
        return [replace(i, to_organ="") for i in super().list_pending(message_type)]


def test_shared_axis_item_without_to_is_stored_for_each_hosted_recipient(engine: Engine) -> None:
    hub = MemoryHub()
    codec = FakeCodec()
    a, b = "000.00.31.H53", "000.00.32.H53"
    sender = RecordingAxis(hub, "province", [PROVINCE])
    shared = BlankToAxis(hub, "districts", [a, b])
    with engine.begin() as conn:
        tenants = {c: InboxTenant(ensure_tenant(conn, c), c) for c in (a, b)}
    inbox = Inbox(engine, shared, codec, tenants)
    msg = make_edoc(PROVINCE, [a, b])
    sender.send(encode(msg), message_type="edoc", from_organ=PROVINCE, to_organ=a)
    res = inbox.poll()
    assert res.count("stored") == 1
    assert count(engine, inbox_items) == 2  # one per hosted recipient named in the file
    assert len(shared.acks) == 1


OLD_MINISTRY = "000.00.01.G14"


@pytest.mark.parametrize("batch", [False, True], ids=["one", "batch"])
def test_status_under_the_old_code_moves_the_delivery_to_its_successor(
    engine: Engine, batch: bool
) -> None:
    """A delivery routed to the successor of an old code is answered under either code;
    when an older delivery to the old code itself exists, the newest delivery moves."""
    pair = Pair(engine)
    msg = make_edoc(PROVINCE, [OLD_MINISTRY, MINISTRY])
    recipients = [Recipient(OLD_MINISTRY), Recipient(MINISTRY, substituted_from=OLD_MINISTRY)]
    submit(engine, tenant_id=pair.p_id, data=encode(msg), message=msg, recipients=recipients)
    pair.worker.run_once()
    tenant = pair.p_inbox.tenants[PROVINCE]
    status = _status(StatusCode.ARRIVED, msg.document_id, sender=OLD_MINISTRY)
    if batch:
        [out] = store_statuses(engine, pair.codec, [(tenant, status, None)])
    else:
        out = pair.p_inbox.store_status(tenant, status)
    assert out == "matched"
    states = {d.recipient: d.state for d in pair.rows(deliveries)}
    assert states[MINISTRY] == State.ARRIVED.value  # the newer delivery, by substitution
    assert states[OLD_MINISTRY] != State.ARRIVED.value  # (the memory hub refused the old code)
