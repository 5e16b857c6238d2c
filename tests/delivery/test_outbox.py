"""Outbox: atomic submit, sending, retries with the same DocumentId, refusals, dead letters."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DataError

from adapters.memory import MemoryAxis, MemoryHub
from interchange.delivery import outbox, services
from interchange.delivery.claims import claim, renew
from interchange.delivery.lifecycle import State
from interchange.delivery.outbox import DuplicateDocumentError, submit
from interchange.delivery.worker import OutboxWorker, RetryPolicy, deliver, sweep_unanswered
from interchange.store.ops import ensure_tenant, utcnow
from interchange.store.tables import deliveries, documents, events

from .fakes import encode, make_edoc, sent_to

SENDER = "000.00.13.H53"
DISTRICTS = [f"000.{i:02d}.31.H53" for i in range(1, 6)]
POLICY = RetryPolicy(backoff_base=2.0, backoff_max=60.0, max_age=3600.0, lease_seconds=30.0)


def setup(engine: Engine) -> tuple[int, MemoryHub, MemoryAxis]:
    with engine.begin() as conn:
        tid = ensure_tenant(conn, SENDER)
    hub = MemoryHub(known=DISTRICTS)
    return tid, hub, MemoryAxis(hub, "province", [SENDER])


def states(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return [r[0] for r in conn.execute(select(deliveries.c.state).order_by(deliveries.c.id))]


def count(engine: Engine, table: object) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def test_submit_stores_document_and_one_delivery_per_recipient(engine: Engine) -> None:
    tid, _, _ = setup(engine)
    msg = make_edoc(SENDER, DISTRICTS)
    data = encode(msg)
    res = submit(engine, tenant_id=tid, data=data, message=msg, kind="directive")
    assert len(res.delivery_ids) == 5
    with engine.connect() as conn:
        doc = conn.execute(select(documents)).one()
    assert doc.data == data and doc.document_id == msg.document_id and doc.kind == "directive"
    assert states(engine) == ["queued"] * 5


def test_submit_is_atomic(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """A failure at the third delivery leaves nothing: not the document, not the first two."""
    tid, _, _ = setup(engine)
    recipients = [*DISTRICTS]
    if engine.dialect.name == "postgresql":
        # one statement there (``_submit_one_statement``): the third delivery's INSERT fails
        # inside it, on a code longer than the column
        recipients[2] = "9" * 65
        failure: type[Exception] = DataError
    else:
        real = outbox._new_delivery
        calls = []

        def failing(*args: object) -> int:
            calls.append(1)
            if len(calls) == 3:
                raise RuntimeError("disk full")
            return real(*args)  # type: ignore[arg-type]

        monkeypatch.setattr(outbox, "_new_delivery", failing)
        failure = RuntimeError
    msg = make_edoc(SENDER, recipients)
    with pytest.raises(failure):
        submit(engine, tenant_id=tid, data=encode(msg), message=msg)
    assert count(engine, documents) == 0
    assert count(engine, deliveries) == 0
    assert count(engine, events) == 0


@pytest.mark.postgres
def test_one_statement_submit_writes_what_submit_in_writes(pg_engine: Engine) -> None:
    """On PostgreSQL ``submit`` is one statement; its rows are those of ``submit_in``
    (which the transactions of other callers use): the document, the deliveries in
    recipient order, and the timeline, a successor's detail included."""
    tid, _, _ = setup(pg_engine)
    recipients = [
        outbox.Recipient(DISTRICTS[0]),
        outbox.Recipient(DISTRICTS[1], substituted_from="000.99.31.H53"),
        outbox.Recipient(DISTRICTS[2]),
    ]
    now = utcnow()
    one = make_edoc(SENDER, DISTRICTS[:3], number="1")
    got = submit(
        pg_engine, tenant_id=tid, data=encode(one), message=one, recipients=recipients, now=now
    )
    other = make_edoc(SENDER, DISTRICTS[:3], number="2")
    with pg_engine.begin() as conn:
        want = outbox.submit_in(
            conn, tenant_id=tid, data=encode(other), message=other, recipients=recipients, now=now
        )

    def written(sub: outbox.Submitted) -> tuple[object, ...]:
        with pg_engine.connect() as conn:
            doc = (
                conn.execute(select(documents).where(documents.c.id == sub.document_pk))
                .one()
                ._asdict()
            )
            dls = conn.execute(
                select(deliveries)
                .where(deliveries.c.document_pk == sub.document_pk)
                .order_by(deliveries.c.id)
            ).all()
            evs = conn.execute(
                select(events).where(events.c.document_pk == sub.document_pk).order_by(events.c.id)
            ).all()
        assert [d.id for d in dls] == list(sub.delivery_ids)
        for key in ("id", "dedupe_key", "document_id", "code", "data", "sha256"):
            doc.pop(key)
        return (
            doc,
            [d._asdict() | {"id": 0, "document_pk": 0} for d in dls],
            [
                e._asdict() | {"id": 0, "document_pk": 0, "delivery_id": e.delivery_id is not None}
                for e in evs
            ],
        )

    assert written(got) == written(want)
    _, dls, evs = written(got)
    assert [d["recipient"] for d in dls] == [r.code for r in recipients]
    assert [(e["event"], e["hop"], e["detail"]) for e in evs] == [
        ("submitted", SENDER, "3 recipient(s)"),
        ("queued", DISTRICTS[0], None),
        ("queued", DISTRICTS[1], f"addressed to 000.99.31.H53, now {DISTRICTS[1]}"),
        ("queued", DISTRICTS[2], None),
    ]


def test_duplicate_submit_refused_and_nothing_added(engine: Engine) -> None:
    tid, _, _ = setup(engine)
    msg = make_edoc(SENDER, DISTRICTS)
    submit(engine, tenant_id=tid, data=encode(msg), message=msg)
    with pytest.raises(DuplicateDocumentError):
        submit(engine, tenant_id=tid, data=encode(msg), message=msg)
    assert count(engine, documents) == 1 and count(engine, deliveries) == 5


def test_worker_sends_each_delivery_with_axis_doc_id(engine: Engine) -> None:
    tid, hub, axis = setup(engine)
    msg = make_edoc(SENDER, DISTRICTS)
    data = encode(msg)
    submit(engine, tenant_id=tid, data=data, message=msg)
    worker = OutboxWorker(engine, lambda _t: axis, POLICY, "w1", fanout=False)
    assert worker.run_once() == 5
    assert worker.run_once() == 0
    assert states(engine) == ["sent"] * 5
    assert sorted(r for s in hub.sent for r in s.recipients) == sorted(DISTRICTS)
    assert all(s.data == data for s in hub.sent)
    with engine.connect() as conn:
        ids = [r[0] for r in conn.execute(select(deliveries.c.axis_doc_id))]
    assert all(ids) and len(set(ids)) == 5


def test_transport_failure_backs_off_and_resends_same_bytes(engine: Engine) -> None:
    tid, hub, axis = setup(engine)
    msg = make_edoc(SENDER, DISTRICTS[:1])
    data = encode(msg)
    submit(engine, tenant_id=tid, data=data, message=msg)
    hub.fail_next(2)
    worker = OutboxWorker(engine, lambda _t: axis, POLICY, "w1", rng=random.Random(1))
    before = utcnow()
    assert worker.run_once() == 1
    with engine.connect() as conn:
        row = conn.execute(select(deliveries)).one()
    assert row.state == "retrying" and row.attempts == 1 and "injected failure" in row.last_error
    wait = (row.next_attempt_at - before).total_seconds()
    assert 0.9 <= wait <= 2.5  # base 2 s, jitter in [0.5, 1)
    assert worker.run_once() == 0  # not due yet
    for _attempt in (2, 3):
        with engine.begin() as conn:
            conn.execute(update(deliveries).values(next_attempt_at=utcnow()))
        assert worker.run_once() == 1
    with engine.connect() as conn:
        row = conn.execute(select(deliveries)).one()
    assert row.state == "sent" and row.attempts == 3 and row.last_error is None
    assert sent_to(hub, DISTRICTS[0]) == [data]  # same bytes, same DocumentId


def test_backoff_grows_and_is_capped() -> None:
    rng = random.Random(7)
    p = RetryPolicy(backoff_base=1.0, backoff_max=10.0)
    delays = [p.delay(n, rng) for n in range(1, 10)]
    assert all(
        0.5 * min(10, 2 ** (n - 1)) <= d <= min(10, 2 ** (n - 1))
        for n, d in zip(range(1, 10), delays, strict=True)
    )


def test_refused_is_not_retried_until_operator_retries(engine: Engine) -> None:
    tid, hub, axis = setup(engine)
    msg = make_edoc(SENDER, ["000.00.99.H99", DISTRICTS[0]])  # the first is unknown
    submit(engine, tenant_id=tid, data=encode(msg), message=msg)
    worker = OutboxWorker(engine, lambda _t: axis, POLICY, "w1")
    assert worker.run_once() == 2
    assert states(engine) == ["failed", "sent"]
    assert worker.run_once() == 0
    with engine.connect() as conn:
        row = conn.execute(select(deliveries).where(deliveries.c.state == "failed")).one()
    assert "unknown recipient" in row.last_error and row.next_attempt_at is None
    hub.register("newcomer", ["000.00.99.H99"])  # the agency joins the axis
    assert services.retry(engine, row.id, actor="operator") is State.QUEUED
    assert worker.run_once() == 1
    assert states(engine) == ["sent", "sent"]


def test_dead_lettered_after_max_age_with_last_error(engine: Engine) -> None:
    tid, hub, axis = setup(engine)
    msg = make_edoc(SENDER, DISTRICTS[:1])
    submit(engine, tenant_id=tid, data=encode(msg), message=msg)
    with engine.begin() as conn:
        conn.execute(update(deliveries).values(created_at=utcnow() - dt.timedelta(hours=2)))
    hub.down = True
    OutboxWorker(engine, lambda _t: axis, POLICY, "w1").run_once()
    with engine.connect() as conn:
        row = conn.execute(select(deliveries)).one()
        ev = conn.execute(select(events).where(events.c.to_state == "dead")).one()
    assert row.state == "dead" and row.dead_lettered_at is not None
    assert row.last_error == "memory hub is down"
    assert ev.detail == "memory hub is down"


def test_unanswered_sent_delivery_is_dead_lettered(engine: Engine) -> None:
    tid, _, axis = setup(engine)
    msg = make_edoc(SENDER, DISTRICTS[:1])
    submit(engine, tenant_id=tid, data=encode(msg), message=msg)
    OutboxWorker(engine, lambda _t: axis, POLICY, "w1").run_once()
    assert sweep_unanswered(engine, POLICY) == 0
    assert sweep_unanswered(engine, POLICY, now=utcnow() + dt.timedelta(hours=2)) == 1
    assert states(engine) == ["dead"]


def test_expired_lease_is_taken_over_and_late_worker_cannot_record(engine: Engine) -> None:
    tid, _hub, axis = setup(engine)
    msg = make_edoc(SENDER, DISTRICTS[:3])
    submit(engine, tenant_id=tid, data=encode(msg), message=msg)
    now = utcnow()
    a = claim(engine, "A", lease_seconds=30, now=now)
    assert len(a) == 3
    assert claim(engine, "B", lease_seconds=30, now=now + dt.timedelta(seconds=10)) == []
    # A crashed: after its lease expired B takes everything over
    later = now + dt.timedelta(seconds=31)
    b = claim(engine, "B", lease_seconds=30, now=later)
    assert [c.delivery_id for c in b] == [c.delivery_id for c in a]
    for c in b:
        assert deliver(engine, c, axis, POLICY, "B") is State.SENT
    # A wakes up: its lease is gone, nothing is recorded twice
    assert deliver(engine, a[0], axis, POLICY, "A") is None
    assert states(engine) == ["sent"] * 3


def test_a_late_worker_cannot_record_while_another_holds_the_lease(engine: Engine) -> None:
    """The delivery is still in the state A claimed it in, but B holds the lease now."""
    tid, _hub, axis = setup(engine)
    msg = make_edoc(SENDER, DISTRICTS[:1])
    submit(engine, tenant_id=tid, data=encode(msg), message=msg)
    now = utcnow()
    [a] = claim(engine, "A", lease_seconds=30, now=now)
    [b] = claim(engine, "B", lease_seconds=30, now=now + dt.timedelta(seconds=31))
    assert deliver(engine, a, axis, POLICY, "A") is None
    assert states(engine) == ["queued"]
    assert deliver(engine, b, axis, POLICY, "B") is State.SENT


def test_fanout_sends_once_and_records_each_delivery(engine: Engine) -> None:
    tid, hub, axis = setup(engine)
    msg = make_edoc(SENDER, DISTRICTS)
    data = encode(msg)
    submit(engine, tenant_id=tid, data=data, message=msg)
    worker = OutboxWorker(engine, lambda _t: axis, POLICY, "w1", batch=2)  # batch widened
    assert worker.run_once() == 5
    assert len(hub.sent) == 1 and sorted(hub.sent[0].recipients) == sorted(DISTRICTS)
    assert all(hub.queue_of(d) for d in DISTRICTS)
    assert states(engine) == ["sent"] * 5
    with engine.connect() as conn:
        ids = {r[0] for r in conn.execute(select(deliveries.c.axis_doc_id))}
        n_events = conn.execute(
            select(func.count()).select_from(events).where(events.c.event == "send_ok")
        ).scalar_one()
    assert ids == {hub.sent[0].doc_id} and n_events == 5


def test_fanout_refused_falls_back_to_one_by_one(engine: Engine) -> None:
    tid, hub, axis = setup(engine)
    msg = make_edoc(SENDER, [*DISTRICTS[:3], "000.00.99.H99"])  # one unknown recipient
    submit(engine, tenant_id=tid, data=encode(msg), message=msg)
    OutboxWorker(engine, lambda _t: axis, POLICY, "w1").run_once()
    assert states(engine) == ["sent", "sent", "sent", "failed"]
    assert len(hub.sent) == 3


def test_fanout_transport_failure_retries_every_delivery(engine: Engine) -> None:
    tid, hub, axis = setup(engine)
    msg = make_edoc(SENDER, DISTRICTS)
    submit(engine, tenant_id=tid, data=encode(msg), message=msg)
    hub.fail_next(1)
    worker = OutboxWorker(engine, lambda _t: axis, POLICY, "w1")
    assert worker.run_once() == 5
    assert states(engine) == ["retrying"] * 5 and hub.sent == []
    with engine.begin() as conn:
        conn.execute(update(deliveries).values(next_attempt_at=utcnow()))
    worker.run_once()
    assert states(engine) == ["sent"] * 5 and len(hub.sent) == 1


def test_renew_extends_only_our_own_leases(engine: Engine) -> None:
    tid, _hub, _axis = setup(engine)
    msg = make_edoc(SENDER, DISTRICTS[:3])
    submit(engine, tenant_id=tid, data=encode(msg), message=msg)
    now = utcnow()
    mine = [c.delivery_id for c in claim(engine, "A", lease_seconds=5, now=now)]
    assert renew(engine, "B", mine, lease_seconds=60) == set()
    assert renew(engine, "A", mine, lease_seconds=60, now=now) == set(mine)
    later = now + dt.timedelta(seconds=30)  # past the first lease, inside the renewed one
    assert claim(engine, "B", lease_seconds=5, now=later) == []


def test_slow_batch_keeps_its_leases(engine: Engine) -> None:
    import time as _time

    tid, hub, axis = setup(engine)
    msg = make_edoc(SENDER, DISTRICTS)
    submit(engine, tenant_id=tid, data=encode(msg), message=msg)
    real_send = axis.send
    stolen: list[int] = []

    def slow_send(*a: object, **k: object) -> object:
        _time.sleep(0.4)
        stolen.extend(c.delivery_id for c in claim(engine, "thief", lease_seconds=5))
        return real_send(*a, **k)  # type: ignore[arg-type]

    axis.send = slow_send  # type: ignore[method-assign,assignment]
    policy = RetryPolicy(lease_seconds=1.2)
    OutboxWorker(engine, lambda _t: axis, policy, "w1", fanout=False).run_once()
    assert stolen == []
    assert states(engine) == ["sent"] * 5 and len(hub.sent) == 5


def test_answer_before_the_send_is_recorded_keeps_the_answer(engine: Engine) -> None:
    tid, _hub, axis = setup(engine)
    msg = make_edoc(SENDER, DISTRICTS[:1])
    submit(engine, tenant_id=tid, data=encode(msg), message=msg)
    [c] = claim(engine, "w1")
    real_send = axis.send

    def send_and_answer(*a: object, **k: object) -> object:
        receipt = real_send(*a, **k)  # type: ignore[arg-type]
        with engine.begin() as conn:  # what the inbox does when 01 arrives first
            conn.execute(
                update(deliveries).values(state="arrived", lease_owner=None, lease_until=None)
            )
        return receipt

    axis.send = send_and_answer  # type: ignore[method-assign,assignment]
    assert deliver(engine, c, axis, POLICY, "w1") is State.ARRIVED
    with engine.connect() as conn:
        row = conn.execute(select(deliveries)).one()
    assert row.state == "arrived" and row.axis_doc_id and row.attempts == 1
