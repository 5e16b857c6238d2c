"""Parallel sends keep the order that matters, and only that; claims filter tenants only
when other tenants share the database."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine

from adapters.base import MessageType, SendReceipt
from interchange.delivery.claims import claim
from interchange.delivery.outbox import queue_status_in, submit
from interchange.delivery.worker import OutboxWorker, RetryPolicy
from interchange.edxml.model import Bussiness, BussinessDocType, StatusCode
from interchange.store.ops import ensure_tenant
from interchange.store.tables import deliveries, events

from .fakes import encode, make_edoc

SENDER = "000.00.13.H53"
MINISTRY = "000.00.00.G17"
POLICY = RetryPolicy(backoff_base=2.0, backoff_max=60.0, max_age=3600.0, lease_seconds=30.0)


class Recording:
    """An axis that notes what it was asked to send, in order; the two first new documents
    meet at a barrier, which only works if they are sent at the same time."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes]] = []
        self.lock = threading.Lock()
        self.meet = threading.Barrier(2, timeout=10)
        self.independent: set[bytes] = set()

    def send(
        self,
        data: bytes,
        *,
        message_type: MessageType,
        from_organ: str,
        to_organ: str | None = None,
    ) -> SendReceipt:
        if data in self.independent:
            self.meet.wait()  # BrokenBarrierError (a failed send) if sent one at a time
        with self.lock:
            self.sent.append((message_type, data))
        return SendReceipt(str(uuid.uuid4()))


def test_one_recipient_documents_overlap_but_each_thread_keeps_its_order(
    engine: Engine,
) -> None:
    with engine.begin() as conn:
        tid = ensure_tenant(conn, SENDER)
    first = make_edoc(SENDER, [MINISTRY], "1")
    second = make_edoc(SENDER, [MINISTRY], "2")
    update = make_edoc(
        SENDER,
        [MINISTRY],
        "3",
        bussiness=Bussiness(doc_type=BussinessDocType.UPDATE, document_id=first.document_id),
    )
    docs = [encode(m) for m in (first, second, update)]
    for msg, data in zip((first, second, update), docs, strict=True):
        submit(engine, tenant_id=tid, data=data, message=msg)
    answers = [
        f"<status {code.value}/>".encode() for code in (StatusCode.ARRIVED, StatusCode.ACCEPTED)
    ]
    with engine.begin() as conn:
        for code, data in zip((StatusCode.ARRIVED, StatusCode.ACCEPTED), answers, strict=True):
            queue_status_in(
                conn,
                tenant_id=tid,
                sender=SENDER,
                data=data,
                document_id="000.00.00.G17,2026/11/28,7/CV",
                recipient=MINISTRY,
                code=code,
            )
    axis = Recording()
    axis.independent = {docs[0], docs[1]}
    with ThreadPoolExecutor(4) as pool:
        worker = OutboxWorker(engine, lambda _t: axis, POLICY, "w1", fanout=False, pool=pool)
        assert worker.run_once() == 5
    order = [data for _, data in axis.sent]
    assert sorted(order) == sorted([*docs, *answers])  # every one sent once
    assert order.index(docs[0]) < order.index(docs[2])  # the original before its update
    assert order.index(answers[0]) < order.index(answers[1])  # 01 before 03


def test_a_batch_whose_delivery_was_answered_before_its_record_is_recorded_one_by_one(
    engine: Engine,
) -> None:
    """Sends of a batch are recorded together, each guarded by its claim. When the
    Ministry's 01 overtook one send (the inbox moved it to arrived before the record),
    nothing is recorded together: each delivery is decided on its own, the answered one
    keeps its state and gains its axis id, the others are sent."""
    with engine.begin() as conn:
        tid = ensure_tenant(conn, SENDER)
    msgs = [make_edoc(SENDER, [MINISTRY], str(n)) for n in range(1, 5)]
    ids = [submit(engine, tenant_id=tid, data=encode(m), message=m).delivery_ids[0] for m in msgs]
    overtaken = encode(msgs[1])

    class Answered(Recording):
        def send(self, data: bytes, **kw: Any) -> SendReceipt:
            receipt = super().send(data, **kw)
            if data == overtaken:  # what the inbox does when the 01 arrives first
                with engine.begin() as conn:
                    conn.execute(
                        deliveries.update()
                        .where(deliveries.c.id == ids[1])
                        .values(state="arrived", lease_owner=None, lease_until=None)
                    )
            return receipt

    axis = Answered()
    with ThreadPoolExecutor(4) as pool:
        worker = OutboxWorker(engine, lambda _t: axis, POLICY, "w1", fanout=False, pool=pool)
        assert worker.run_once() == 4
    with engine.connect() as conn:
        rows = conn.execute(
            select(deliveries.c.id, deliveries.c.state, deliveries.c.axis_doc_id).order_by(
                deliveries.c.id
            )
        ).all()
        recorded = conn.execute(
            select(events.c.delivery_id, events.c.to_state).where(events.c.event == "send_ok")
        ).all()
    want = [(ids[0], "sent"), (ids[1], "arrived"), (ids[2], "sent"), (ids[3], "sent")]
    assert [(r.id, r.state) for r in rows] == want
    assert all(r.axis_doc_id for r in rows)
    assert sorted(recorded) == want


def test_claim_filters_tenants_only_when_others_share_the_database(engine: Engine) -> None:
    with engine.begin() as conn:
        a = ensure_tenant(conn, SENDER)
        b = ensure_tenant(conn, "000.00.14.H53")
    submit(engine, tenant_id=a, data=b"a", message=make_edoc(SENDER, [MINISTRY], "1"))
    submit(engine, tenant_id=b, data=b"b", message=make_edoc("000.00.14.H53", [MINISTRY], "2"))
    mine = claim(engine, "w1", tenant_ids=[a])
    assert [c.tenant_id for c in mine] == [a]
    rest = claim(engine, "w2", tenant_ids=[a, b])
    assert [c.tenant_id for c in rest] == [b]  # every tenant: no filter, nothing twice
