"""Crashes: SIGKILL the sender mid fan-out, SIGKILL a receiver between fetch and acknowledge.

Nothing may be lost and nothing stored twice: the sender's leases expire and another run of
its outbox sends what was not recorded (same bytes, same DocumentId), and the receiver
recognises a document it already committed.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from interchange.demo.network import Network
from interchange.demo.observe import ANSWERED
from interchange.demo.scenario import demo_spec, directive, fanout_directive, fanout_spec

from .helpers import FAST, wait_for

pytestmark = pytest.mark.slow

HERE = Path(__file__).resolve().parent


def test_sender_killed_during_fanout_of_200_loses_nothing_and_duplicates_nothing(
    tmp_path: Path, network_factory: Callable[..., Network]
) -> None:
    fan = fanout_spec(tmp_path / "dir", provinces=3, districts_total=200, timings=FAST)
    net = network_factory(fan.spec)
    sender = net.stores["sender"]
    sent = net.submit("sender", fan.sender, fanout_directive(fan))
    assert len(sent.delivery_ids) == 200

    def some_left() -> bool:
        return any(r.state != "queued" for r in sender.deliveries(fan.sender))

    wait_for(some_left, 30, "the first deliveries to leave", interval=0.005)
    net.nodes["sender"].kill()
    at_kill = sender.deliveries(fan.sender)
    still_queued = sum(1 for r in at_kill if r.state == "queued")
    assert still_queued > 0, "the fan-out finished before the crash: nothing was in flight"

    net.start_node("sender")

    def all_answered() -> bool:
        rows = sender.deliveries(fan.sender)
        return len(rows) == 200 and all(r.state in ANSWERED for r in rows)

    wait_for(all_answered, 90, "all 200 recipients to answer after the restart")
    rows = sender.deliveries(fan.sender)
    assert {r.state for r in rows} == {"accepted"}
    assert sorted(r.recipient for r in rows) == sorted(fan.districts)
    # every district stored the document exactly once, none is missing
    received = net.stores["districts"].received_counts(sent.document_id)
    assert received == {code: 1 for code in fan.districts}
    # every district got it through the hub (a resend after the crash is allowed, a loss is not)
    sends = net.hub_store.sends(sent.document_id)
    assert set(sends) == set(fan.districts)
    # and the hub holds nothing unacknowledged for them
    wait_for(lambda: net.hub_store.pending() == 0, 20, "every queue item to be acknowledged")


def test_receiver_killed_between_fetch_and_acknowledge_stores_once(
    tmp_path: Path, network_factory: Callable[..., Network]
) -> None:
    spec, cast = demo_spec(timings=FAST)
    marker = tmp_path / "paused-at"
    districts = replace(
        spec.node("districts"),
        launcher=(sys.executable, str(HERE / "pausing_node.py")),
        env=(("INTERCHANGE_TEST_PAUSE_AFTER_FETCH", str(marker)),),
    )
    spec = replace(
        spec,
        nodes=tuple(
            districts if n.name == "districts" else n for n in spec.nodes if n.name != "ministry"
        ),
    )
    net = network_factory(spec)
    sent = net.submit("department", cast.department, directive(cast))

    wait_for(marker.exists, 30, "the districts node to store an item and reach its acknowledge")
    paused_doc = marker.read_text(encoding="utf-8")
    store = net.stores["districts"]
    # committed before the acknowledgement, and the hub still offers it
    assert sum(store.received_counts(sent.document_id).values()) == 1
    assert net.hub_store.pending() >= 1
    net.nodes["districts"].kill()

    net.start_node("districts", plain=True)
    department = net.stores["department"]

    def all_answered() -> bool:
        rows = department.deliveries(cast.department)
        return len(rows) == len(cast.districts) and all(r.state in ANSWERED for r in rows)

    wait_for(all_answered, 60, "every district to answer after the restart")
    assert {r.state for r in department.deliveries(cast.department)} == {"accepted"}
    assert store.received_counts(sent.document_id) == {c: 1 for c in cast.districts}
    wait_for(lambda: net.hub_store.pending() == 0, 20, f"{paused_doc} to be acknowledged")
