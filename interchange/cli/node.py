"""``interchange serve --config FILE`` and ``interchange db upgrade``.

``serve`` first checks what the settings name (the tenants against the directory, their
keys and certificates: ``check_tenants``), applies the migrations, then runs the outbox and
inbox of every hosted agency until SIGTERM or SIGINT. ``--workers N`` starts N-1 more
processes that only run the outbox against the same database (leases keep them apart).
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer

db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)

ConfigOpt = Annotated[
    Path, typer.Option("--config", exists=True, dir_okay=False, help="node config (YAML/JSON)")
]


def serve(
    config: ConfigOpt,
    workers: Annotated[
        int | None, typer.Option("--workers", min=1, max=64, help="processes (default: config)")
    ] = None,
    threads: Annotated[int, typer.Option("--threads", min=1, max=32, help="outbox threads")] = 2,
    outbox_only: Annotated[bool, typer.Option("--outbox-only", hidden=True)] = False,
    ready_file: Annotated[Path | None, typer.Option("--ready-file", hidden=True)] = None,
    log_level: Annotated[str, typer.Option("--log-level")] = "warning",
    api_port: Annotated[
        int | None,
        typer.Option("--api-port", help="also serve the operator API and dashboard on this port"),
    ] = None,
    api_host: Annotated[str, typer.Option("--api-host")] = "127.0.0.1",
) -> None:
    """Run the node until SIGTERM / SIGINT (with ``--api-port``, its API and dashboard too)."""
    from ..node.config import check_tenants, load_config
    from ..node.node import Node, real_codec

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(name)s %(message)s")
    cfg = load_config(config)
    # the directory, the tenants against it and their keys and certificates: a wrong one is
    # refused in one line now, before any process starts or the database is created
    directory = None
    if cfg.directory is not None:
        from ..organs import load_directory

        directory = load_directory(cfg.directory)
    keys = check_tenants(cfg, directory)
    api_settings = None
    listener: socket.socket | None = None
    if api_port is not None and not outbox_only:
        from ..api.config import settings_for_host
        from .api import _listen

        # beyond loopback its cookies must be secure, and the port must be free: both refused
        # now, in one line, before any worker process starts or the database is touched. The
        # port stays held until the API takes it over.
        api_settings = settings_for_host(cfg.database_url, api_host)
        listener = _listen(api_host, api_port)
    stop = threading.Event()
    children: list[subprocess.Popen[bytes]] = []
    api = None
    node = None
    try:
        node = Node(cfg, codec=real_codec(cfg, directory, keys), directory=directory)

        def _stop(_sig: int, _frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        n = workers or cfg.workers
        if ready_file is not None:
            ready_file.write_text(str(os.getpid()), encoding="utf-8")
        if not outbox_only:
            _start_workers(config, cfg.data_dir, n, threads, log_level, children, stop)
            tenants = ", ".join(node.tenants)
            typer.echo(f"node serving {tenants} ({n} process(es)); stop with Ctrl-C", err=True)
        if api_port is not None and api_settings is not None:
            from ..api import create_api_app
            from ..api.server import start_api_server

            if listener is not None:
                listener.close()
                listener = None
            api = start_api_server(create_api_app(api_settings, node=node), api_host, api_port)
            typer.echo(f"operator API and dashboard at {api.url}/ui/", err=True)
        from ..gctune import tune_for_server

        tune_for_server()
        node.run(stop, inbox=not outbox_only, outbox_threads=threads)
    finally:
        # whatever ends the run (a stop, or a failure after the workers started: the API
        # port taken meanwhile, ...), no worker process outlives it
        if listener is not None:
            listener.close()
        if api is not None:
            api.stop()
        _stop_workers(children)
        if node is not None:
            node.close()


def _start_workers(
    config: Path,
    data_dir: Path,
    n: int,
    threads: int,
    log_level: str,
    children: list[subprocess.Popen[bytes]],
    stop: threading.Event,
) -> None:
    """Start ``n - 1`` outbox-only processes (appended to ``children`` as each starts) and
    wait until every one is up, so that all of them share the work from the start."""
    ready_dir = Path(tempfile.mkdtemp(prefix="ready-", dir=data_dir))
    try:
        readies = [ready_dir / f"worker-{i}" for i in range(1, n)]
        for ready in readies:
            children.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "interchange",
                        "serve",
                        "--config",
                        str(config),
                        "--outbox-only",
                        "--threads",
                        str(threads),
                        "--log-level",
                        log_level,
                        "--ready-file",
                        str(ready),
                    ]
                )
            )
        deadline = time.monotonic() + 60
        while not stop.is_set() and time.monotonic() < deadline:
            if all(r.exists() for r in readies) or any(c.poll() is not None for c in children):
                break
            time.sleep(0.05)
    finally:
        shutil.rmtree(ready_dir, ignore_errors=True)


def _stop_workers(children: list[subprocess.Popen[bytes]]) -> None:
    for child in children:
        if child.poll() is None:
            child.terminate()
    for child in children:
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


@db_app.command("upgrade")
def db_upgrade(
    db: Annotated[
        str | None, typer.Option("--db", help="database URL, or a SQLite file's path")
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", exists=True, dir_okay=False, help="node config")
    ] = None,
) -> None:
    """Apply every migration (idempotent). ``--db`` takes a URL or, as the reading commands
    do, a plain path to a SQLite file."""
    from ..api.database import database_url
    from ..errors import ConfigError
    from ..store.migrate import head_revision, upgrade_database

    if db is None:
        if config is None:
            raise ConfigError("give --db URL or --config FILE")
        from ..node.config import load_config

        cfg = load_config(config)
        cfg.data_dir.mkdir(parents=True, exist_ok=True)
        db = cfg.database_url
    upgrade_database(db if "://" in db else database_url(db))  # a URL checked as given
    typer.echo(f"database at revision {head_revision()}")


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.add_typer(db_app, name="db")
