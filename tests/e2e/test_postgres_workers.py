"""Two worker processes on PostgreSQL share one outbox: no delivery is sent twice.

The sender runs ``interchange serve --workers 2`` (a second, outbox-only process) on a
PostgreSQL database, with small batches so that both claim work at the same time. The hub
counts what it received: exactly one send per recipient.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select

from interchange.demo.network import Network
from interchange.demo.observe import ANSWERED
from interchange.demo.scenario import fanout_directive, fanout_spec
from interchange.store.tables import deliveries

from .helpers import FAST, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

RECIPIENTS = 120


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces, so split after the last ')'
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            out.append(int(entry.name))
    return out


def _cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _settled(pid: int) -> bool:
    """The process has started and idles (its polling loop): barely any CPU in 0.5 s."""
    before = _cpu(pid)
    time.sleep(0.5)
    return _cpu(pid) - before < 0.1


def test_two_workers_on_postgres_never_send_a_delivery_twice(
    tmp_path: Path, pg_url: str, network_factory: Callable[..., Network]
) -> None:
    fan = fanout_spec(
        tmp_path / "dir",
        provinces=2,
        districts_total=RECIPIENTS,
        timings=replace(FAST, batch=4),
        sender_db_url=pg_url,
        sender_workers=2,
    )
    net = network_factory(fan.spec)
    node = net.nodes["sender"]
    assert node.pid is not None
    wait_for(lambda: len(_children(node.pid or 0)) >= 1, 20, "the second worker process")
    (child,) = _children(node.pid)
    wait_for(lambda: _settled(child), 60, "the second worker to finish starting", interval=0.5)

    sent = net.submit("sender", fan.sender, fanout_directive(fan))
    assert len(sent.delivery_ids) == RECIPIENTS
    sender = net.stores["sender"]

    owners: set[str] = set()

    def all_answered() -> bool:
        # which processes hold leases while the fan-out runs: "host:pid:nonce/thread"
        with sender.engine.connect() as conn:
            owners.update(
                str(o).split(":")[1]
                for o in conn.execute(
                    select(deliveries.c.lease_owner).where(deliveries.c.lease_owner.is_not(None))
                ).scalars()
            )
        rows = sender.deliveries(fan.sender)
        return len(rows) == RECIPIENTS and all(r.state in ANSWERED for r in rows)

    wait_for(all_answered, 90, "every recipient to answer", interval=0.01)
    assert len(owners) == 2, f"both worker processes should have claimed work: {owners}"
    rows = sender.deliveries(fan.sender)
    assert {r.state for r in rows} == {"accepted"}
    assert all(r.attempts == 1 for r in rows)
    sends = net.hub_store.sends(sent.document_id)
    assert sends == {code: 1 for code in fan.districts}
    assert net.stores["districts"].received_counts(sent.document_id) == {
        code: 1 for code in fan.districts
    }
