"""The hub on SQLite runs every call on its thread's kept connection (``store.held``):
one connection for many requests, and a refused or failed call leaves nothing open and
nothing changed. The kept connections themselves: ``tests/delivery/test_held.py``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import event, func, select

from adapters.vxp import VxpAxis
from interchange.errors import AuthenticationError, RefusedError
from interchange.hub import HubConfig, create_hub_app
from interchange.hub.service import HubService
from interchange.store import held
from interchange.store.hub_tables import hub_queue

from .live import SUCCESSOR, SYSTEMS, A, B, C, LiveHub, directory, sample

EDOC = "edoc_new.edxml"


@pytest.fixture()
def service(tmp_path: Path) -> Iterator[HubService]:
    app = create_hub_app(
        HubConfig(db_url=f"sqlite:///{tmp_path / 'hub.db'}", systems=SYSTEMS, directory=directory())
    )
    svc: HubService = app.state.hub
    yield svc
    svc.close()


def _checkouts(svc: HubService) -> list[int]:
    taken = [0]

    @event.listens_for(svc.engine, "checkout")
    def _count(*_args: object) -> None:
        taken[0] += 1

    return taken


def _send(svc: HubService, mac: str) -> str:
    return svc.send(A.systemid, sample(EDOC), message_type="edoc", mac=mac)


def test_one_connection_serves_every_request_of_a_thread(hub: LiveHub) -> None:
    svc: HubService = hub.app.state.hub
    with VxpAxis(hub.url, A.systemid, A.secret) as a, VxpAxis(hub.url, B.systemid, B.secret) as b:
        b.list_pending("edoc")  # the event loop's thread takes its connection
        taken = _checkouts(svc)
        for _ in range(5):
            a.send(sample(EDOC), message_type="edoc", from_organ="002.00.20.H13")
        items = [i for i in b.list_pending("edoc") if i.to_organ == SUCCESSOR]
        for item in items[-5:]:
            assert b.fetch(item.doc_id) == sample(EDOC)
            b.acknowledge(item.doc_id)
    assert taken[0] == 0  # 15 requests, no connection taken from the pool
    assert len(held._held_of(svc.engine).conns) == 1


def test_a_refused_acknowledgement_leaves_nothing_open_or_changed(service: HubService) -> None:
    doc_id = _send(service, "mac-1")
    queue_id = service.list_pending(B.systemid, "edoc")[0]["docId"]
    with pytest.raises(RefusedError):
        service.acknowledge(C.systemid, queue_id, "done")  # not C's: rolled back
    (conn,) = held._held_of(service.engine).conns.values()
    assert not conn.in_transaction()
    with service.engine.connect() as other:
        state = other.execute(select(hub_queue.c.state).where(hub_queue.c.id == queue_id))
        assert state.scalar_one() == "pending"
    service.acknowledge(B.systemid, queue_id, "done")  # the same connection goes on
    assert service.list_pending(B.systemid, "edoc") == []
    assert doc_id


def test_a_failed_send_is_rolled_back_and_the_next_one_works(service: HubService) -> None:
    _send(service, "mac-1")
    with pytest.raises(AuthenticationError):
        _send(service, "mac-1")  # the same request MAC again: refused as a replay
    with service.engine.connect() as other:
        assert other.execute(select(func.count()).select_from(hub_queue)).scalar_one() == 1
    _send(service, "mac-2")
    assert len(service.list_pending(B.systemid, "edoc")) == 2
    (conn,) = held._held_of(service.engine).conns.values()
    assert not conn.in_transaction()
