"""``interchange hub serve``: run the embedded hub (REST face + SOAP face) with uvicorn."""

from __future__ import annotations

import cProfile
import datetime as dt
import os
import signal
from enum import StrEnum
from pathlib import Path
from types import FrameType
from typing import Annotated, NoReturn

import typer

from ..errors import ConfigError

hub_app = typer.Typer(help="The embedded hub (national axis REST face + SOAP face).")


class LogLevel(StrEnum):
    """uvicorn's log levels."""

    CRITICAL = "critical"
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"
    DEBUG = "debug"
    TRACE = "trace"


def _check_zone(tz: str) -> None:
    """An IANA time zone, else one line (not ZoneInfo's own errors)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ConfigError(
            f"unknown time zone {tz!r} for --tz: give an IANA name like Asia/Ho_Chi_Minh"
        ) from None


@hub_app.command("serve")
def serve(
    systems: Annotated[
        Path, typer.Option("--systems", help="JSON file: callers, secrets, agencies")
    ],
    db: Annotated[str, typer.Option("--db", help="database URL (sqlite:///... or postgresql://)")],
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8700,
    public_url: Annotated[
        str | None,
        typer.Option(
            "--public-url",
            help="where clients reach the hub (the served WSDL's address); "
            "default http://HOST:PORT, required with --host 0.0.0.0 or ::",
        ),
    ] = None,
    directory: Annotated[
        Path | None, typer.Option("--directory", help="agency directory file (YAML/JSON)")
    ] = None,
    tz: Annotated[str, typer.Option("--tz", help="time zone of callers' timestamps")] = (
        "Asia/Ho_Chi_Minh"
    ),
    skew: Annotated[
        int, typer.Option("--skew", min=1, help="allowed clock skew, seconds (> 0)")
    ] = 300,
    hub_id: Annotated[str, typer.Option("--hub-id", help="this hub's id, recorded per hop")] = (
        "interchange-hub"
    ),
    log_level: Annotated[
        LogLevel, typer.Option("--log-level", case_sensitive=False)
    ] = LogLevel.WARNING,
    agency_body_hash: Annotated[
        bool,
        typer.Option(
            "--agency-body-hash",
            help="registerAgency: require a signed hash-file of the body (the SDK sends none)",
        ),
    ] = False,
) -> None:
    """Serve until interrupted. The database is migrated at start."""
    import uvicorn
    from sqlalchemy.exc import DBAPIError

    from ..hub import HubConfig, create_hub_app, load_systems
    from ..hub.config import check_public_url, default_public_url, load_directory_opt
    from ..serving import OneWriteHttpTools
    from ..store.db import check_url
    from .dbopen import cannot_open

    # every argument checked before the database is created: a wrong one leaves nothing
    check_url(db)
    _check_zone(tz)
    public = (
        check_public_url(public_url) if public_url is not None else default_public_url(host, port)
    )
    config = HubConfig(
        db_url=db,
        systems=load_systems(systems),
        directory=load_directory_opt(directory),
        tz=tz,
        skew=dt.timedelta(seconds=skew),
        hub_id=hub_id,
        agency_body_hash=agency_body_hash,
        public_url=public,
    )
    try:
        app = create_hub_app(config)
    except DBAPIError as exc:
        if exc.statement is not None:  # not the connection: the boundary says what it was
            raise
        raise cannot_open(db, exc) from None
    from ..gctune import tune_for_server

    tune_for_server()
    typer.echo(f"hub {hub_id} listening on {host}:{port} (WSDL at {public}/soap?wsdl)", err=True)
    # a clean stop closes every connection: SQLite checkpoints the WAL and removes its files
    app.router.on_shutdown.append(app.state.hub.close)
    profile = os.environ.get("INTERCHANGE_HUB_PROFILE")  # a file: cProfile stats at shutdown
    if profile:
        profiler = cProfile.Profile()

        def dump() -> None:  # at lifespan shutdown: uvicorn re-raises SIGTERM after it
            profiler.disable()
            profiler.dump_stats(profile)

        app.router.on_shutdown.append(dump)
        profiler.enable()
    previous = signal.signal(signal.SIGTERM, _stopped)
    try:
        uvicorn.run(
            app,
            http=OneWriteHttpTools,
            host=host,
            port=port,
            log_level=log_level.value,
            access_log=False,
            timeout_graceful_shutdown=3,
        )
    finally:
        signal.signal(signal.SIGTERM, previous)
        app.state.hub.close()


def _stopped(_sig: int, _frame: FrameType | None) -> NoReturn:
    """SIGTERM ends the hub with exit code 0, as Ctrl-C does (and as the node does).

    uvicorn handles SIGTERM itself while it serves (graceful shutdown, then the lifespan's:
    the database closed), and afterwards raises it again for the handler it found. With
    the default one the process would die by the signal, skipping everything after
    ``uvicorn.run``; this one ends it as a normal exit. A SIGTERM before uvicorn takes
    over stops the hub the same way."""
    raise SystemExit(0)


def register(app: typer.Typer) -> None:
    app.add_typer(hub_app, name="hub")
