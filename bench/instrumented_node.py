"""``interchange`` with CPU accounting of signing and verification (benchmark launcher).

Run as ``python bench/instrumented_node.py serve --config FILE`` with
``INTERCHANGE_BENCH_CRYPTO_FILE=<path>``. Every call of ``sign_tree`` (packaging documents and
status messages) and ``verify_document`` (opening what arrived) is timed with the calling
thread's CPU clock, so concurrent threads do not inflate each other. On SIGUSR1 the process
writes its running totals and its own CPU time (all threads) to that file as JSON; the
benchmark takes a snapshot before and after a fan-out and reads the difference.
``INTERCHANGE_BENCH_PROFILE=<prefix>`` also profiles every thread (cProfile, one file per
thread, written when the thread ends): to find where the rest of the time goes.
"""

from __future__ import annotations

import functools
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

_LOCK = threading.Lock()
_TOTALS: dict[str, float] = {"sign_s": 0.0, "sign_n": 0, "verify_s": 0.0, "verify_n": 0}


def _timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.thread_time()
        try:
            return fn(*args, **kwargs)
        finally:
            spent = time.thread_time() - started
            with _LOCK:
                _TOTALS[f"{name}_s"] += spent
                _TOTALS[f"{name}_n"] += 1

    return wrapper


def _install(out: Path) -> None:
    import interchange.packaging as packaging
    import interchange.receiving as receiving

    packaging.sign_tree = _timed("sign", packaging.sign_tree)  # type: ignore[assignment]
    receiving.verify_document = _timed("verify", receiving.verify_document)  # type: ignore[assignment]

    def dump(_sig: int, _frame: object) -> None:
        times = os.times()
        with _LOCK:
            data = dict(_TOTALS)
        data["cpu_s"] = times.user + times.system
        tmp = out.with_suffix(".tmp")
        tmp.write_text(json.dumps(data), encoding="utf-8")
        tmp.replace(out)

    signal.signal(signal.SIGUSR1, dump)


def _profile_threads(prefix: str) -> None:
    """Profile every thread started from now on; each dumps its stats when it ends."""
    import cProfile

    original = threading.Thread.run

    def run(self: threading.Thread) -> None:
        prof = cProfile.Profile()
        prof.enable()
        try:
            original(self)
        finally:
            prof.disable()
            prof.dump_stats(f"{prefix}.{os.getpid()}.{self.name}.prof")

    threading.Thread.run = run  # type: ignore[method-assign]


def main() -> None:
    out = os.environ.get("INTERCHANGE_BENCH_CRYPTO_FILE")
    if out:
        _install(Path(out))
    profile = os.environ.get("INTERCHANGE_BENCH_PROFILE")
    if profile:
        _profile_threads(profile)
    from interchange.cli.main import main as cli

    sys.argv = ["interchange", *sys.argv[1:]]
    cli()


if __name__ == "__main__":
    main()
