"""A fan-out received by one node hosting many recipients: identical copies are verified once
per pass (``Verdicts``), each still stored, answered and acknowledged on its own; status
messages are applied in batches (``store_statuses``) with the same outcomes as one by one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from adapters.memory import MemoryHub
from interchange.delivery import statuses
from interchange.delivery.inbox import Inbox, InboxTenant, PollResult
from interchange.delivery.lifecycle import State
from interchange.delivery.outbox import submit
from interchange.delivery.worker import OutboxWorker, RetryPolicy
from interchange.edxml import read_message
from interchange.edxml.model import StatusCode
from interchange.store.ops import ensure_tenant
from interchange.store.tables import deliveries, events, inbox_items, status_messages

from .fakes import FakeCodec, RecordingAxis, encode, forge, make_edoc, status_codes

PROVINCE = "000.00.13.H53"
DISTRICTS = [f"000.00.{n}.H53" for n in range(30, 50)]
POLICY = RetryPolicy(backoff_base=1.0, backoff_max=5.0, max_age=3600.0)


class Net:
    """A province and one node hosting 20 districts on one shared axis, one database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.hub = MemoryHub()
        self.p_codec, self.d_codec = FakeCodec(), FakeCodec()
        self.p_axis = RecordingAxis(self.hub, "province", [PROVINCE])
        self.d_axis = RecordingAxis(self.hub, "districts", DISTRICTS)
        with engine.begin() as conn:
            self.p_id = ensure_tenant(conn, PROVINCE)
            self.d_ids = {c: ensure_tenant(conn, c) for c in DISTRICTS}
        province = {PROVINCE: InboxTenant(self.p_id, PROVINCE)}
        self.p_inbox = Inbox(engine, self.p_axis, self.p_codec, province, threads=4)
        self.d_inbox = Inbox(
            engine,
            self.d_axis,
            self.d_codec,
            {c: InboxTenant(i, c) for c, i in self.d_ids.items()},
            threads=4,
        )

        def axis_for(tenant_id: int) -> RecordingAxis:
            return self.p_axis if tenant_id == self.p_id else self.d_axis

        self.worker = OutboxWorker(engine, axis_for, POLICY, "w", fanout=False, batch=200)

    def send(self, data: bytes) -> None:
        msg = make_edoc(PROVINCE, DISTRICTS)
        submit(self.engine, tenant_id=self.p_id, data=data, message=msg, kind="directive")
        while self.worker.run_once():
            pass

    def count(self, table: object) -> int:
        with self.engine.connect() as conn:
            q = select(func.count()).select_from(table)  # type: ignore[arg-type]
            return int(conn.execute(q).scalar_one())


def _answered_with_one_more(net: Net, change: Callable[[bytes], bytes]) -> PollResult:
    """Every district answers 01 and 03; the province's listing also holds one more status
    (``change`` applied to one of them), then the province polls once."""
    net.send(encode(make_edoc(PROVINCE, DISTRICTS)))
    net.d_inbox.poll()
    while net.worker.run_once():
        pass
    # statuses leave from a thread pool: take the first one sent, whoever it is from
    genuine = next(s for s in net.hub.sent if s.message_type == "status")
    sender = read_message(genuine.data).sender
    net.d_axis.send(
        change(genuine.data), message_type="status", from_organ=sender, to_organ=PROVINCE
    )
    return net.p_inbox.poll()


def test_identical_copies_verified_once_each_stored_answered_and_acknowledged(
    engine: Engine,
) -> None:
    net = Net(engine)
    net.send(encode(make_edoc(PROVINCE, DISTRICTS)))
    result = net.d_inbox.poll()
    assert net.d_codec.opened == 1  # 20 byte-identical copies, one verification
    assert result.count("stored") == len(DISTRICTS)
    assert net.count(inbox_items) == len(DISTRICTS)
    assert len(net.d_axis.acks) == len(set(net.d_axis.acks)) == len(DISTRICTS)
    # every district answers 01 and 03 on its own; the province applies them in batches
    while net.worker.run_once():
        pass
    codes = status_codes(net.hub, PROVINCE)
    assert codes.count(StatusCode.ARRIVED) == codes.count(StatusCode.ACCEPTED) == len(DISTRICTS)
    out = net.p_inbox.poll()
    assert out.count("matched") == 2 * len(DISTRICTS)
    with engine.connect() as conn:
        states = [r.state for r in conn.execute(select(deliveries.c.state)).all()]
        kept = conn.execute(select(status_messages.c.outcome)).scalars().all()
    # the province's 20 deliveries accepted (the districts' 40 status deliveries sent)
    assert states.count(State.ACCEPTED.value) == len(DISTRICTS)
    assert kept == ["matched"] * (2 * len(DISTRICTS))
    # the next pass sees nothing new, and nothing was acknowledged twice
    assert net.p_inbox.poll().outcomes == []
    assert len(net.p_axis.acks) == len(set(net.p_axis.acks)) == 2 * len(DISTRICTS)


def test_forged_copies_share_the_refusal_each_answered_02(engine: Engine) -> None:
    net = Net(engine)
    net.send(forge(encode(make_edoc(PROVINCE, DISTRICTS))))
    result = net.d_inbox.poll()
    assert net.d_codec.opened == 1
    assert result.count("refused") == len(DISTRICTS)
    with engine.connect() as conn:
        rows = conn.execute(select(inbox_items.c.state, inbox_items.c.error_code)).all()
    assert {r.state for r in rows} == {State.REFUSED.value} and len(rows) == len(DISTRICTS)
    while net.worker.run_once():
        pass
    assert status_codes(net.hub, PROVINCE) == [StatusCode.REFUSED] * len(DISTRICTS)


def test_status_batch_keeps_a_forged_status_as_invalid_and_applies_the_rest(
    engine: Engine,
) -> None:
    net = Net(engine)
    # one more status, forged, in the same listing as the 40 genuine ones
    out = _answered_with_one_more(net, forge)
    assert out.count("matched") == 2 * len(DISTRICTS) and out.count("invalid") == 1
    with engine.connect() as conn:
        kept = conn.execute(select(status_messages.c.outcome)).scalars().all()
    assert sorted(kept) == sorted(["matched"] * (2 * len(DISTRICTS)) + ["invalid"])


def test_status_batch_writes_one_event_per_status_in_order_and_keeps_a_repeat_once(
    engine: Engine,
) -> None:
    net = Net(engine)
    # the axis offers one genuine status a second time, in the same listing (a retried send)
    out = _answered_with_one_more(net, lambda data: data)
    assert out.count("matched") == 2 * len(DISTRICTS) and out.count("duplicate") == 1
    with engine.connect() as conn:
        kept = conn.execute(select(func.count()).select_from(status_messages)).scalar_one()
        rows = conn.execute(
            select(events.c.delivery_id, events.c.from_state, events.c.to_state)
            .where(events.c.tenant_id == net.p_id, events.c.event == "status")
            .order_by(events.c.id)
        ).all()
    assert kept == 2 * len(DISTRICTS)
    # the timeline, written once at the end of the batch, keeps each delivery's order
    per_delivery: dict[int, list[tuple[str, str]]] = {}
    for r in rows:
        per_delivery.setdefault(r.delivery_id, []).append((r.from_state, r.to_state))
    assert len(per_delivery) == len(DISTRICTS)
    assert all(
        steps == [("sent", "arrived"), ("arrived", "accepted")] for steps in per_delivery.values()
    )


def test_status_batch_looks_its_deliveries_up_once(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """20 deliveries answered 01 and 03 in one listing: one query finds all 20, and the
    03s see the states the 01s left (no message looks its delivery up on its own)."""
    net = Net(engine)
    net.send(encode(make_edoc(PROVINCE, DISTRICTS)))
    net.d_inbox.poll()
    while net.worker.run_once():
        pass
    singles: list[object] = []
    original = statuses._find_delivery

    def counted(*args: Any) -> Any:
        singles.append(args)
        return original(*args)

    monkeypatch.setattr(statuses, "_find_delivery", counted)
    out = net.p_inbox.poll()
    assert out.count("matched") == 2 * len(DISTRICTS) and singles == []
    with engine.connect() as conn:
        states = conn.execute(select(deliveries.c.state)).scalars().all()
    assert states.count(State.ACCEPTED.value) == len(DISTRICTS)


def test_status_batch_colliding_at_its_end_is_stored_one_by_one(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The batch writes its matched messages together at the end. When one of them was
    kept meanwhile (another worker, after the batch looked), that write fails: the batch is
    rolled back whole and stored one by one, with the same outcomes and nothing twice."""
    net = Net(engine)
    net.send(encode(make_edoc(PROVINCE, DISTRICTS)))
    net.d_inbox.poll()
    while net.worker.run_once():
        pass
    first = next(s for s in net.hub.sent if s.message_type == "status")
    tenant = net.p_inbox.tenants[PROVINCE]
    assert statuses.store_status(engine, net.p_codec, tenant, first.data) == "matched"
    monkeypatch.setattr(statuses, "_kept", lambda conn, keys: set())  # it looks too early
    with caplog.at_level("INFO", logger=statuses.__name__):
        out = net.p_inbox.poll()
    assert "storing one by one" in caplog.text
    assert out.count("matched") == 2 * len(DISTRICTS) - 1 and out.count("duplicate") == 1
    with engine.connect() as conn:
        kept = conn.execute(select(func.count()).select_from(status_messages)).scalar_one()
        states = conn.execute(
            select(deliveries.c.state).where(deliveries.c.tenant_id == net.p_id)
        ).scalars()
        moves = conn.execute(
            select(func.count())
            .select_from(events)
            .where(events.c.tenant_id == net.p_id, events.c.event == "status")
        ).scalar_one()
    assert kept == 2 * len(DISTRICTS)
    assert list(states) == [State.ACCEPTED.value] * len(DISTRICTS)
    assert moves == 2 * len(DISTRICTS)


def test_status_batch_whose_delivery_moved_before_its_end_is_stored_one_by_one(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The batch moves its deliveries at its end, each guarded by the state it found. When
    one moved meanwhile (a worker recorded something after the batch looked), the guard
    fails (on SQLite the stale snapshot already does): the batch is rolled back and stored
    one by one, which reads that delivery again."""
    net = Net(engine)
    net.send(encode(make_edoc(PROVINCE, DISTRICTS)))
    net.d_inbox.poll()
    while net.worker.run_once():
        pass
    with engine.connect() as conn:
        moved = conn.execute(
            select(deliveries.c.id).where(deliveries.c.tenant_id == net.p_id).limit(1)
        ).scalar_one()
    real = statuses.Later.write

    def late(self: statuses.Later, conn: Any) -> None:
        with engine.begin() as other:  # another connection: the batch's is still open
            other.execute(
                deliveries.update()
                .where(deliveries.c.id == moved)
                .values(state=State.ARRIVED.value)
            )
        real(self, conn)

    monkeypatch.setattr(statuses.Later, "write", late)
    with caplog.at_level("INFO", logger=statuses.__name__):
        out = net.p_inbox.poll()
    assert "storing one by one" in caplog.text
    if engine.dialect.name == "postgresql":
        assert "moved while its status batch was stored" in caplog.text
    # that delivery's 01 came too late for the state it is in now; every other status moved
    assert out.count("matched") == 2 * len(DISTRICTS) - 1 and out.count("ignored") == 1
    with engine.connect() as conn:
        states = conn.execute(
            select(deliveries.c.state).where(deliveries.c.tenant_id == net.p_id)
        ).scalars()
        kept = conn.execute(select(func.count()).select_from(status_messages)).scalar_one()
    assert list(states) == [State.ACCEPTED.value] * len(DISTRICTS)
    assert kept == 2 * len(DISTRICTS)
