"""Garbage-collector settings for long-running server processes (API, hub, node).

Why: a request builds thousands of short-lived objects (rows, dicts, models); with CPython's
default threshold (700 allocations) the collector runs several times per request and, every
tenth run, walks the middle generation too. Freezing what start-up built (modules, schemas,
compiled statements: they live as long as the process) and raising the first threshold cut
the document detail's CPU by about 15 % in ``bench/bench_api.py``. Reference cycles are
still collected, only less often; memory grows by at most the objects of a few requests.
"""

from __future__ import annotations

import gc

#: Allocations between young collections (CPython's default is 700).
YOUNG_THRESHOLD = 20_000


def tune_for_server() -> None:
    """Call once, after start-up and before serving."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
