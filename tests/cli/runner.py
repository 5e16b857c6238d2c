"""Running the real command (``python -m interchange``) and looking at what it left behind."""

from __future__ import annotations

import hashlib
import os
import re
import resource
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
_BOX = re.compile(r"[│╭╮╰╯─]+")


def run(
    *args: str | Path,
    cwd: Path = REPO,
    max_file_size: int | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """``interchange ARGS`` in a process of its own. ``max_file_size`` makes every write past
    that many bytes fail (EFBIG), as a full disk would."""
    full_env = {k: v for k, v in os.environ.items() if k not in ("INTERCHANGE_DB",)}
    full_env.update({"COLUMNS": "200", "PYTHONDONTWRITEBYTECODE": "1", **(env or {})})
    preexec: Callable[[], None] | None = None
    if max_file_size is not None:
        limit = max_file_size

        def preexec() -> None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # fail the write, not the process
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    proc = subprocess.run(
        [sys.executable, "-m", "interchange", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env=full_env,
        preexec_fn=preexec,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def one_line(proc: subprocess.CompletedProcess[str]) -> str:
    """The one line on stderr (asserting it is one)."""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


def usage_text(proc: subprocess.CompletedProcess[str]) -> str:
    """typer's usage error without its box, on one line (for looking up key words)."""
    return " ".join(_BOX.sub(" ", proc.stderr).split())


def snapshot(root: Path) -> dict[str, str]:
    """Every file and directory under ``root`` with a digest of its bytes."""
    out: dict[str, str] = {}
    for p in sorted(root.rglob("*")):
        rel = str(p.relative_to(root))
        out[rel] = "dir" if p.is_dir() else hashlib.sha256(p.read_bytes()).hexdigest()
    return out
