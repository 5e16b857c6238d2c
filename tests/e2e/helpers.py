"""Shared settings and waits of the end-to-end tests."""

from __future__ import annotations

from collections.abc import Callable

from interchange.demo.procs import wait_until
from interchange.demo.spec import Timings

#: Short loops for tests on loopback: answers within a second, retries within seconds.
FAST = Timings(
    poll_interval_s=0.1, retry_base_s=0.2, retry_max_s=1.0, max_age_s=600.0, lease_s=5.0, batch=20
)


def wait_for(check: Callable[[], bool], timeout: float, what: str, interval: float = 0.1) -> None:
    """Poll ``check`` until true; fail with ``what`` after ``timeout`` seconds."""
    wait_until(check, timeout=timeout, interval=interval, what=what)
