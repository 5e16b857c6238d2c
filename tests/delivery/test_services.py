"""Operator actions: answers on the receiving side, retry / resend / cancel / recall."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from interchange.delivery import services
from interchange.delivery.lifecycle import IllegalTransitionError, State
from interchange.edxml.model import StatusCode
from interchange.errors import DeliveryError, NotFoundError, RefusedError
from interchange.store.tables import deliveries, documents, inbox_items

from .fakes import sent_to, status_codes
from .test_inbox import MINISTRY, PROVINCE, Pair


def item_id(pair: Pair) -> int:
    with pair.engine.connect() as conn:
        return int(conn.execute(select(inbox_items.c.id)).scalar_one())


def delivery(pair: Pair) -> object:
    with pair.engine.connect() as conn:
        return conn.execute(
            select(deliveries)
            .where(deliveries.c.tenant_id == pair.p_id)
            .join(documents, documents.c.id == deliveries.c.document_pk)
            .where(documents.c.message_type == "edoc")
        ).one()


def exchange(pair: Pair) -> None:
    """Let both nodes run until nothing moves."""
    for _ in range(4):
        pair.worker.run_once()
        pair.m_inbox.poll()
        pair.p_inbox.poll()


def test_full_life_by_operator(engine: Engine) -> None:
    pair = Pair(engine, auto_accept=False)
    pair.send_conclusion()
    exchange(pair)
    assert delivery(pair).state == "arrived"  # type: ignore[attr-defined]
    i = item_id(pair)
    assert services.accept(engine, pair.codec, i, actor="clerk") is State.ACCEPTED
    assert services.assign(engine, pair.codec, i, "Phòng Thanh tra 1") is State.ASSIGNED
    assert services.start(engine, pair.codec, i) is State.IN_PROGRESS
    assert services.complete(engine, pair.codec, i) is State.COMPLETED
    exchange(pair)
    assert delivery(pair).state == "completed"  # type: ignore[attr-defined]
    assert status_codes(pair.hub, PROVINCE) == [
        StatusCode.ARRIVED,
        StatusCode.ACCEPTED,
        StatusCode.ASSIGNED,
        StatusCode.IN_PROGRESS,
        StatusCode.COMPLETED,
    ]
    with pytest.raises(IllegalTransitionError):
        services.accept(engine, pair.codec, i)


def test_refuse_needs_reason_and_sends_it(engine: Engine) -> None:
    pair = Pair(engine, auto_accept=False)
    pair.send_conclusion()
    pair.m_inbox.poll()
    i = item_id(pair)
    with pytest.raises(DeliveryError, match="needs a reason"):
        services.refuse(engine, pair.codec, i, "  ")
    services.refuse(engine, pair.codec, i, "Sai thẩm quyền")
    exchange(pair)
    d = delivery(pair)
    assert d.state == "refused" and d.reason == "Sai thẩm quyền"  # type: ignore[attr-defined]


def test_unknown_ids_and_other_tenants_are_not_found(engine: Engine) -> None:
    pair = Pair(engine)
    pair.send_conclusion()
    pair.m_inbox.poll()
    with pytest.raises(NotFoundError):
        services.accept(engine, pair.codec, 999)
    with pytest.raises(NotFoundError):
        services.complete(engine, pair.codec, item_id(pair), tenant_id=pair.p_id)
    with pytest.raises(NotFoundError):
        services.retry(engine, 999)


def test_retry_cancel_resend(engine: Engine) -> None:
    pair = Pair(engine)
    real_send = pair.p_axis.send

    def refuse(*_a: object, **_k: object) -> object:
        raise RefusedError("unknown recipient", error_code="422")

    pair.p_axis.send = refuse  # type: ignore[method-assign,assignment]
    pair.send_conclusion()
    d = delivery(pair)
    assert d.state == "failed"  # type: ignore[attr-defined]
    pair.p_axis.send = real_send  # type: ignore[method-assign]
    assert services.retry(engine, d.id) is State.QUEUED  # type: ignore[attr-defined]
    pair.worker.run_once()
    assert delivery(pair).state == "sent"  # type: ignore[attr-defined]
    with pytest.raises(IllegalTransitionError):
        services.cancel(engine, d.id)  # type: ignore[attr-defined]
    assert services.resend(engine, d.id) is State.QUEUED  # type: ignore[attr-defined]
    pair.worker.run_once()
    assert len(sent_to(pair.hub, MINISTRY)) == 2
    pair.m_inbox.poll()  # the second copy is recognised as a duplicate
    with pair.engine.connect() as conn:
        assert len(conn.execute(select(inbox_items)).all()) == 1


def test_recall_accepted_by_recipient(engine: Engine) -> None:
    pair = Pair(engine)
    pair.send_conclusion()
    exchange(pair)
    d = delivery(pair)
    with pytest.raises(DeliveryError):
        services.recall(engine, pair.codec, d.document_pk, "")  # type: ignore[attr-defined]
    asked = services.recall(engine, pair.codec, d.document_pk, "Ban hành nhầm")  # type: ignore[attr-defined]
    assert asked == [d.id]  # type: ignore[attr-defined]
    exchange(pair)
    with pair.engine.connect() as conn:
        item = conn.execute(select(inbox_items)).one()
    assert item.state == "recall_requested" and item.reason == "Ban hành nhầm"
    services.answer_recall(engine, pair.codec, item.id, agree=True)
    exchange(pair)
    assert delivery(pair).state == "recalled"  # type: ignore[attr-defined]


def test_recall_refused_then_work_continues(engine: Engine) -> None:
    pair = Pair(engine)
    pair.send_conclusion()
    exchange(pair)
    d = delivery(pair)
    services.recall(engine, pair.codec, d.document_pk, "Ban hành nhầm")  # type: ignore[attr-defined]
    exchange(pair)
    i = item_id(pair)
    with pytest.raises(DeliveryError):
        services.answer_recall(engine, pair.codec, i, agree=False)
    services.answer_recall(engine, pair.codec, i, agree=False, reason="Đã xử lý")
    services.assign(engine, pair.codec, i, "Thanh tra viên A")
    exchange(pair)
    assert delivery(pair).state == "assigned"  # type: ignore[attr-defined]
