"""Measurements taken where the work happens (the rest of ``/metrics`` is read from the DB).

Verification latency cannot be read from the database afterwards, so the codec records it
here, in this process; the operator app registers the histogram on its ``/metrics``.
"""

from __future__ import annotations

from prometheus_client import Histogram

VERIFICATION_SECONDS = Histogram(
    "interchange_verification_seconds",
    "Time to verify and read one incoming document (refusals included)",
    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0),
    registry=None,
)


def observe_verification(seconds: float) -> None:
    VERIFICATION_SECONDS.observe(seconds)
