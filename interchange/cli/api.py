"""``interchange api serve``: the operator API and dashboard in processes of their own.

``interchange serve --api-port`` runs them in a thread of the node's process, which is right
for most nodes. When a node's operators outgrow that, this runs N processes beside the node.
This process (the supervisor) listens on the port and hands each connection to the next
worker in turn (``api/handoff.py`` says why the kernel's spreading was not even enough).

With ``--config`` the processes read the node's configuration (its database, its signing
keys to answer and recall, its directory) without running its outbox or inbox; with ``--db``
they serve reads and the actions that need no signature. Every process signs dashboard
sessions with the same secret: ``INTERCHANGE_API_SESSION_SECRET`` if set, else one drawn here.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer

api_app = typer.Typer(help="The operator API and dashboard on their own.", no_args_is_help=True)

SECRET_ENV = "INTERCHANGE_API_SESSION_SECRET"


def _listen(host: str, port: int) -> socket.socket:
    from ..errors import ConfigError

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(1024)
    except OSError as exc:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return sock


def _settings(url: str, host: str) -> Any:
    """Beyond loopback the dashboard's cookies must be secure (``settings_for_host``)."""
    from ..api.config import settings_for_host

    return settings_for_host(url, host)


def _app(config: Path | None, db: str | None, host: str) -> Any:
    from ..api import create_api_app

    if config is not None:
        from ..node.config import load_config
        from ..node.node import Node

        cfg = load_config(config)
        node = Node(cfg, migrate=False)
        return create_api_app(_settings(cfg.database_url, host), node=node)
    assert db is not None
    return create_api_app(_settings(db, host))


def _die_with_parent() -> None:
    """Linux: SIGTERM this process when the launching one dies, even by SIGKILL, so that no
    worker is left serving on the port without its supervisor."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the supervisor's terminate() still applies
        return
    if os.getppid() == 1:  # the parent died before prctl took effect
        raise SystemExit(0)


def _run_worker(config: Path | None, db: str | None, host: str, channel_fd: int) -> None:
    from ..api.handoff import HandoffServer
    from ..gctune import tune_for_server
    from ..serving import server_config

    _die_with_parent()
    channel = socket.socket(fileno=channel_fd)
    app = _app(config, db, host)
    tune_for_server()
    config_ = server_config(app, log_level="warning", access_log=False, lifespan="off")
    HandoffServer(config_, channel).run()


@api_app.command("serve")
def serve(
    config: Annotated[
        Path | None,
        typer.Option("--config", exists=True, dir_okay=False, help="node config (YAML/JSON)"),
    ] = None,
    db: Annotated[str | None, typer.Option("--db", help="database URL (without --config)")] = None,
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8800,
    workers: Annotated[int, typer.Option("--workers", min=1, max=64, help="processes")] = 1,
    channel_fd: Annotated[int | None, typer.Option("--worker-channel", hidden=True)] = None,
) -> None:
    """Serve the operator API and dashboard until SIGTERM / SIGINT."""
    from ..errors import ConfigError

    if (config is None) == (db is None):
        raise ConfigError("give exactly one of --config and --db")
    if channel_fd is not None:
        _run_worker(config, db, host, channel_fd)
        return
    # migrate once, here, rather than racing in every process
    from sqlalchemy.exc import DBAPIError

    from ..api.database import database_url
    from ..store.migrate import upgrade_database
    from .dbopen import cannot_open, require_existing

    if config is not None:
        from ..node.config import load_config

        url = load_config(config).database_url
    else:
        assert db is not None
        url = database_url(db)
    _settings(url, host)  # refused settings: one line now, not once per process
    listener = _listen(host, port)  # a port in use is one clear error, before any process
    try:
        # the API serves a node's database, it never invents one (a typo in --db would
        # otherwise serve an empty node and hand out sessions that only work there)
        given = db if db is not None else url
        require_existing(given)
        try:
            upgrade_database(url)
        except DBAPIError as exc:
            raise cannot_open(given, exc) from None
    except BaseException:
        listener.close()
        raise
    from ..api.handoff import Dispatcher, channel_pair

    env = {**os.environ}
    env.setdefault(SECRET_ENV, secrets.token_urlsafe(48))
    argv = [sys.executable, "-m", "interchange", "api", "serve"]
    argv += ["--config", str(config)] if config is not None else ["--db", url]
    argv += ["--host", host]
    ours, children = [], []
    for _ in range(workers):
        mine, theirs = channel_pair()
        ours.append(mine)
        fd = theirs.fileno()
        children.append(
            subprocess.Popen([*argv, "--worker-channel", str(fd)], env=env, pass_fds=(fd,))
        )
        theirs.close()
    dispatcher = Dispatcher(listener, ours)
    stopping = False

    def _stop(_sig: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        if dispatcher.wait_ready(timeout=120):
            dispatcher.start()
            typer.echo(
                f"operator API and dashboard at http://{host}:{port}/ui/ ({workers} process(es))",
                err=True,
            )
            while not stopping and all(c.poll() is None for c in children):
                time.sleep(0.2)
    finally:
        dispatcher.stop()
        for c in children:
            if c.poll() is None:
                c.terminate()
        for c in children:
            try:
                c.wait(timeout=15)
            except subprocess.TimeoutExpired:
                c.kill()
        for ch in ours:
            ch.close()
    if not stopping:
        raise ConfigError("an API process stopped unexpectedly; see its messages above")


def register(app: typer.Typer) -> None:
    app.add_typer(api_app, name="api")
