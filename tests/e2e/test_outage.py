"""Outage: the hub is down for a while; a recipient never answers.

Deliveries queued while the hub is down are retried with backoff (attempts grow, the last
error is kept) and complete when it returns. A recipient that never answers (its agency is
known to the hub, but no node serves it) is dead-lettered after the maximum age, with its
last error, visibly in the sender's store.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

import pytest

from interchange.demo.network import Network
from interchange.demo.observe import ANSWERED
from interchange.demo.scenario import conclusion, demo_spec, directive

from .helpers import FAST, wait_for

pytestmark = pytest.mark.slow

MAX_AGE = 6.0


def test_hub_outage_backs_off_then_completes_and_silent_recipient_is_dead_lettered(
    network_factory: Callable[..., Network],
) -> None:
    spec, cast = demo_spec(timings=replace(FAST, max_age_s=MAX_AGE))
    # The Ministry Inspectorate's node is never started: nobody answers for it.
    spec = replace(
        spec,
        nodes=tuple(replace(n, autostart=False) if n.name == "ministry" else n for n in spec.nodes),
    )
    net = network_factory(spec)
    department = net.stores["department"]

    net.hub.stop()
    outage_started = time.monotonic()
    sent_directive = net.submit("department", cast.department, directive(cast))
    sent_conclusion = net.submit("department", cast.department, conclusion(cast))

    def backing_off() -> bool:
        rows = department.deliveries(cast.department)
        return bool(rows) and all(r.state == "retrying" and r.attempts >= 2 for r in rows)

    wait_for(backing_off, MAX_AGE - 2, "every delivery to fail twice and back off")
    during = department.deliveries(cast.department)
    assert all(r.last_error for r in during), during
    assert time.monotonic() - outage_started < MAX_AGE

    net.hub.start()
    net.hub.wait_ready(30)

    def districts_answered() -> bool:
        rows = [
            r
            for r in department.deliveries(cast.department)
            if r.document_id == sent_directive.document_id
        ]
        return len(rows) == len(cast.districts) and all(r.state in ANSWERED for r in rows)

    wait_for(districts_answered, 30, "the districts to answer once the hub is back")
    rows = department.deliveries(cast.department)
    directive_rows = [r for r in rows if r.document_id == sent_directive.document_id]
    assert {r.state for r in directive_rows} == {"accepted"}
    assert all(r.attempts >= 3 for r in directive_rows)  # >= 2 failures, then the send

    # The conclusion went to the hub once it returned, then waited for an answer that
    # never comes: after the maximum age the sender's sweep dead-letters it.
    def dead_lettered() -> bool:
        (row,) = [
            r
            for r in department.deliveries(cast.department)
            if r.document_id == sent_conclusion.document_id
        ]
        return row.state == "dead"

    wait_for(dead_lettered, 45, "the unanswered conclusion to be dead-lettered")
    (dead,) = [
        r
        for r in department.deliveries(cast.department)
        if r.document_id == sent_conclusion.document_id
    ]
    assert dead.recipient == cast.inspectorate
    assert dead.last_error and "no answer" in dead.last_error
