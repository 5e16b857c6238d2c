"""The hub's inline calls on SQLite run on their thread's own connection (``HubService.
_connection``): one connection for many requests, every call ending what it opened, so
nothing is kept from a refused or failed call and SQLite can always checkpoint."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import event, func, select, text

from adapters.vxp import VxpAxis
from interchange.errors import AuthenticationError, RefusedError
from interchange.hub import HubConfig, create_hub_app
from interchange.hub.service import HELD_THREADS, HubService
from interchange.store.hub_tables import hub_queue

from .live import SUCCESSOR, SYSTEMS, A, B, C, LiveHub, directory, live_hub, sample

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
    assert len(svc._held) == 1


def test_a_refused_acknowledgement_leaves_nothing_open_or_changed(service: HubService) -> None:
    doc_id = _send(service, "mac-1")
    queue_id = service.list_pending(B.systemid, "edoc")[0]["docId"]
    with pytest.raises(RefusedError):
        service.acknowledge(C.systemid, queue_id, "done")  # not C's: rolled back
    conn = service._held[threading.get_ident()]
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
    assert not service._held[threading.get_ident()].in_transaction()


def test_no_read_snapshot_is_kept_between_calls(service: HubService) -> None:
    """A held connection that kept a read open would stop SQLite's checkpoints (the WAL
    file would grow for ever): after calls, a full checkpoint completes."""
    for i in range(3):
        _send(service, f"mac-{i}")
    service.list_pending(B.systemid, "edoc")
    service.count_pending(B.systemid, "edoc")
    with service.engine.connect() as other:
        busy, _log, _done = other.execute(text("PRAGMA wal_checkpoint(TRUNCATE)")).one()
    assert busy == 0


def test_more_threads_than_held_ones_use_the_pool(service: HubService) -> None:
    _send(service, "mac-0")
    queue_id = service.list_pending(B.systemid, "edoc")[0]["docId"]
    results: list[bytes] = []
    errors: list[BaseException] = []
    n = HELD_THREADS + 3
    together = threading.Barrier(n)  # all alive at once: n distinct threads

    def fetch() -> None:
        try:
            results.append(service.fetch(B.systemid, queue_id))
            together.wait(10)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=fetch) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert errors == []
    assert results == [sample(EDOC)] * n
    assert len(service._held) == HELD_THREADS
    held = list(service._held.values())
    service.close()
    assert all(conn.closed for conn in held)


def test_postgres_runs_on_the_pool(tmp_path: Path) -> None:
    """Not inline (the thread pool, as on PostgreSQL): no connection is held."""
    with (
        live_hub(tmp_path / "hub.db", inline_db=False) as h,
        VxpAxis(h.url, A.systemid, A.secret) as a,
    ):
        a.send(sample(EDOC), message_type="edoc", from_organ="002.00.20.H13")
        assert h.app.state.hub._held == {}
