"""Child processes of a throw-away network: start, wait until ready, stop for sure.

Why a module of its own: the demo, the end-to-end tests and the benchmark all run the hub and
the nodes as real processes (``python -m interchange ...``) and must never leave one behind,
whatever happens to the parent (timeout, exception, Ctrl-C). Each child gets its own process
group (so that workers it spawns die with it) and a log file; stopping is SIGTERM, a grace
period, then SIGKILL.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO

from ..errors import InterchangeError

_LIVE: set[ManagedProcess] = set()


class ProcessError(InterchangeError):
    """A child process of the demo network did not start or died."""

    code = "process"


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_open(host: str, port: int, timeout: float = 0.2) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_until(
    check: Callable[[], bool], *, timeout: float, interval: float = 0.05, what: str = "condition"
) -> None:
    """Poll ``check`` until it is true; ``TimeoutError`` naming ``what`` otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def interchange_argv(*args: str) -> list[str]:
    """The command line of an ``interchange`` subcommand run with this interpreter."""
    return [sys.executable, "-m", "interchange", *args]


class ManagedProcess:
    """One child: its argv, its log file, and a port to wait for (if it listens)."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        log_path: Path,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        port: int | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.env = env
        self.cwd = cwd
        self.port = port
        self.host = host
        self.popen: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def address(self) -> str | None:
        return f"http://{self.host}:{self.port}" if self.port else None

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen else None

    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def start(self) -> ManagedProcess:
        if self.running():
            return self
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        self._log.write(f"--- start: {' '.join(self.argv)}\n".encode())
        self._log.flush()
        env = dict(os.environ)
        env.setdefault("PYTHONUNBUFFERED", "1")
        if self.env:
            env.update(self.env)
        self.popen = subprocess.Popen(
            self.argv,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=self.cwd,
            start_new_session=True,  # its own process group: stop() reaches its workers too
        )
        _LIVE.add(self)
        return self

    def wait_ready(self, timeout: float = 30.0, check: Callable[[], bool] | None = None) -> None:
        """Wait until the port accepts connections (and ``check`` passes), or fail loudly."""

        def ready() -> bool:
            if not self.running():
                raise ProcessError(f"{self.name} exited early ({self.describe_exit()})")
            if self.port is not None and not port_open(self.host, self.port):
                return False
            return check() if check else True

        wait_until(ready, timeout=timeout, what=f"{self.name} to be ready")

    def describe_exit(self) -> str:
        code = self.popen.poll() if self.popen else None
        tail = self.log_tail(3).replace("\n", " | ")
        return f"exit code {code}; see {self.log_path}: {tail}"

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.strip().splitlines()[-lines:])

    def signal(self, sig: int) -> None:
        """Send ``sig`` to the child's whole process group."""
        if self.popen is None or self.popen.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, sig)

    def kill(self) -> None:
        """SIGKILL, no grace: what a crash looks like."""
        self.signal(signal.SIGKILL)
        self._reap(5.0)

    def stop(self, grace: float = 5.0) -> int | None:
        """SIGTERM, wait ``grace`` seconds, then SIGKILL. Returns the exit code."""
        if self.popen is None:
            return None
        if self.popen.poll() is None:
            self.signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.signal(signal.SIGKILL)
        self._reap(5.0)
        # Workers left in the group after the leader exited cleanly.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        return self.popen.returncode

    def _reap(self, timeout: float) -> None:
        if self.popen is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=timeout)
        if self._log is not None:
            self._log.close()
            self._log = None
        if self.popen is not None and self.popen.poll() is not None:
            _LIVE.discard(self)

    def restart(self, timeout: float = 30.0) -> None:
        self.stop()
        self.start()
        self.wait_ready(timeout)


class ProcessGroup:
    """Several children stopped together, in reverse order of start, whatever happens."""

    def __init__(self) -> None:
        self.processes: list[ManagedProcess] = []

    def add(self, proc: ManagedProcess) -> ManagedProcess:
        self.processes.append(proc)
        return proc

    def stop_all(self, grace: float = 5.0) -> None:
        for proc in reversed(self.processes):
            proc.stop(grace)

    def __enter__(self) -> ProcessGroup:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_all()


@atexit.register
def _stop_leftovers() -> None:  # pragma: no cover - only on abnormal exits
    for proc in list(_LIVE):
        proc.stop(grace=2.0)
