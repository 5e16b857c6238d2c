"""``MemoryHub`` / ``MemoryAxis``: the hub's semantics in-process."""

from __future__ import annotations

import threading

import pytest

from adapters.base import Axis
from adapters.memory import MemoryAxis, MemoryHub
from interchange.errors import RefusedError, TransportError
from tests.hub.live import sample


def world() -> tuple[MemoryHub, MemoryAxis, MemoryAxis, MemoryAxis]:
    hub = MemoryHub(
        known=["000.00.00.H14", "000.00.00.G17"], renames={"28.22.H17": "000.00.41.H53"}
    )
    a = MemoryAxis(hub, "sys-a", ["002.00.20.H13", "000.00.00.G22"])
    b = MemoryAxis(hub, "sys-b", ["000.00.41.H53", "000.00.00.H41"])
    c = MemoryAxis(hub, "sys-c", ["000.00.00.G14"])
    return hub, a, b, c


def test_routing_queues_and_ack() -> None:
    hub, a, b, c = world()
    assert isinstance(a, Axis)
    data = sample("edoc_new.edxml")
    a.send(data, message_type="edoc", from_organ="002.00.20.H13")
    items = b.list_pending("edoc")
    assert [(i.from_organ, i.to_organ) for i in items] == [("002.00.20.H13", "000.00.41.H53")]
    assert hub.substituted(items[0].doc_id) == "28.22.H17"
    assert c.list_pending("edoc") == [] and a.list_pending("edoc") == []
    with pytest.raises(RefusedError):
        c.fetch(items[0].doc_id)
    assert b.fetch(items[0].doc_id) == data
    assert b.list_pending("edoc") == items  # offered until acknowledged
    b.acknowledge(items[0].doc_id)
    assert b.list_pending("edoc") == []


def test_status_routes_to_response_for_and_to_selects() -> None:
    hub, a, b, _c = world()
    b.send(sample("status.edxml"), message_type="status", from_organ="000.00.00.H41")
    assert len(a.list_pending("status")) == 1
    a.send(
        sample("edoc_update.edxml"),
        message_type="edoc",
        from_organ="000.00.00.G22",
        to_organ="000.00.00.H41",
    )
    assert len(b.list_pending("edoc")) == 1 and hub.queue_of("000.00.00.H14") == []


def test_refusals_store_nothing() -> None:
    hub, a, _b, c = world()
    with pytest.raises(RefusedError):
        c.send(sample("edoc_new.edxml"), message_type="edoc", from_organ="002.00.20.H13")
    unknown = sample("edoc_new.edxml").replace(b">28.22.H17<", b">999.99.99.H99<")
    with pytest.raises(RefusedError):
        a.send(unknown, message_type="edoc", from_organ="002.00.20.H13")
    with pytest.raises(RefusedError):
        a.send(b"not xml", message_type="edoc", from_organ="002.00.20.H13")
    assert hub.sent == []


def test_knobs_fail_next_and_down() -> None:
    hub, a, b, _c = world()
    hub.fail_next(2)
    for _ in range(2):
        with pytest.raises(TransportError):
            b.list_pending("edoc")
    assert b.list_pending("edoc") == []
    hub.down = True
    with pytest.raises(TransportError):
        a.send(sample("edoc_new.edxml"), message_type="edoc", from_organ="002.00.20.H13")
    hub.down = False
    a.send(sample("edoc_new.edxml"), message_type="edoc", from_organ="002.00.20.H13")
    assert len(b.list_pending("edoc")) == 1


def test_thread_safe_sends() -> None:
    _hub, a, b, _c = world()
    data = sample("status.edxml")
    threads = [
        threading.Thread(
            target=lambda: [
                b.send(data, message_type="status", from_organ="000.00.00.H41") for _ in range(20)
            ]
        )
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({i.doc_id for i in a.list_pending("status")}) == 80
