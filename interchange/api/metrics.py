"""``/metrics``: the node's delivery state as Prometheus metrics, read from the database.

Why a collector that queries at scrape time instead of counters bumped in the hot path: the
outbox and inbox may run in other processes (several workers); the database is the one place
that knows the whole node. Verification latency is the exception: it is measured where it
happens (``interchange.delivery.metrics``, a histogram in this process).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path

from cryptography import x509
from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from ..delivery.metrics import VERIFICATION_SECONDS
from ..store.ops import utcnow
from ..store.tables import deliveries, events, inbox_items


def certificate_days(path: Path, now: dt.datetime | None = None) -> tuple[str, float]:
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    now = now or dt.datetime.now(dt.UTC)
    left = (cert.not_valid_after_utc - now).total_seconds() / 86400
    return cert.subject.rfc4514_string(), left


_FAILURE_EVENTS = ("transport_failed", "axis_refused", "expired")


class NodeCollector(Collector):
    def __init__(self, engine: Engine, certificates: Callable[[], list[Path]]) -> None:
        self.engine = engine
        self.certificates = certificates

    def collect(self) -> Iterator[GaugeMetricFamily]:
        by_state = GaugeMetricFamily(
            "interchange_deliveries", "Deliveries by state", labels=["state"]
        )
        depth = GaugeMetricFamily("interchange_queue_depth", "Deliveries due to be sent now")
        oldest = GaugeMetricFamily(
            "interchange_oldest_undelivered_seconds", "Age of the oldest undelivered delivery"
        )
        retries = GaugeMetricFamily(
            "interchange_delivery_retries", "Attempts beyond the first, over all deliveries"
        )
        failures = GaugeMetricFamily(
            "interchange_delivery_failures", "Failed sends by reason", labels=["reason"]
        )
        refused = GaugeMetricFamily(
            "interchange_incoming_refused",
            "Incoming documents refused, by reason",
            labels=["reason"],
        )
        days = GaugeMetricFamily(
            "interchange_certificate_days_left",
            "Days until a certificate expires",
            labels=["subject"],
        )
        now = utcnow()
        d = deliveries.c
        with self.engine.connect() as conn:
            for state, n in conn.execute(select(d.state, func.count()).group_by(d.state)):
                by_state.add_metric([state], float(n))
            due = conn.execute(
                select(func.count()).where(
                    d.state.in_(("queued", "retrying")), d.next_attempt_at <= now
                )
            ).scalar_one()
            depth.add_metric([], float(due))
            first = conn.execute(
                select(func.min(d.created_at)).where(d.state.in_(("queued", "retrying", "failed")))
            ).scalar()
            oldest.add_metric([], max(0.0, (now - first).total_seconds()) if first else 0.0)
            extra = conn.execute(
                select(func.coalesce(func.sum(d.attempts - 1), 0)).where(d.attempts > 1)
            ).scalar_one()
            retries.add_metric([], float(extra))
            for ev, n in conn.execute(
                select(events.c.event, func.count())
                .where(events.c.event.in_(_FAILURE_EVENTS))
                .group_by(events.c.event)
            ):
                failures.add_metric([ev], float(n))
            for code, n in conn.execute(
                select(inbox_items.c.error_code, func.count())
                .where(inbox_items.c.state == "refused")
                .group_by(inbox_items.c.error_code)
            ):
                refused.add_metric([code or "operator"], float(n))
        for path in self.certificates():
            try:
                subject, left = certificate_days(path)
            except (OSError, ValueError):
                continue
            days.add_metric([subject], left)
        yield from (by_state, depth, oldest, retries, failures, refused, days)


def make_registry(engine: Engine, certificates: Callable[[], list[Path]]) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(NodeCollector(engine, certificates))
    registry.register(VERIFICATION_SECONDS)
    return registry
