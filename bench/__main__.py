"""``make bench``: run every ``bench/bench_*.py`` module's ``main()``, one after the other.

``python -m bench [--quick] [NAME ...]`` runs only the named modules (``signing`` or
``bench_signing``); ``--quick`` sets ``INTERCHANGE_BENCH_QUICK=1`` for a smoke run.

Each prints lines ``name: value``. Figures are ratios against a baseline measured in the
same run (these machines are shared and noisy), medians of several rounds.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys
import time
from pathlib import Path


def main() -> int:
    here = Path(__file__).resolve().parent
    names = sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_"))
    args = sys.argv[1:]
    if "--quick" in args:  # fewer rounds: a smoke run, not figures to report
        os.environ["INTERCHANGE_BENCH_QUICK"] = "1"
    only = {a for a in args if not a.startswith("-")}
    failed = 0
    for name in names:
        if only and name not in only and name.removeprefix("bench_") not in only:
            continue
        print(f"# {name}", flush=True)
        started = time.perf_counter()
        try:
            importlib.import_module(f"bench.{name}").main()
        except Exception as exc:  # one failing benchmark must not hide the others
            failed += 1
            print(f"# {name} failed: {type(exc).__name__}: {exc}", flush=True)
        print(f"# {name} took {time.perf_counter() - started:.1f} s", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
