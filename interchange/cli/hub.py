"""``interchange hub serve``: run the embedded hub (REST face + SOAP face) with uvicorn."""

from __future__ import annotations

import cProfile
import datetime as dt
import os
from pathlib import Path
from typing import Annotated

import typer

hub_app = typer.Typer(help="The embedded hub (national axis REST face + SOAP face).")


@hub_app.command("serve")
def serve(
    systems: Annotated[
        Path, typer.Option("--systems", help="JSON file: callers, secrets, agencies")
    ],
    db: Annotated[str, typer.Option("--db", help="database URL (sqlite:///... or postgresql://)")],
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8700,
    directory: Annotated[
        Path | None, typer.Option("--directory", help="agency directory file (YAML/JSON)")
    ] = None,
    tz: Annotated[str, typer.Option("--tz", help="time zone of callers' timestamps")] = (
        "Asia/Ho_Chi_Minh"
    ),
    skew: Annotated[int, typer.Option("--skew", help="allowed clock skew, seconds")] = 300,
    hub_id: Annotated[str, typer.Option("--hub-id", help="this hub's id, recorded per hop")] = (
        "interchange-hub"
    ),
    log_level: Annotated[str, typer.Option("--log-level")] = "warning",
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

    from ..hub import HubConfig, create_hub_app, load_systems

    config = HubConfig(
        db_url=db,
        systems=load_systems(systems),
        directory=directory,
        tz=tz,
        skew=dt.timedelta(seconds=skew),
        hub_id=hub_id,
        agency_body_hash=agency_body_hash,
    )
    app = create_hub_app(config)
    from ..gctune import tune_for_server

    tune_for_server()
    typer.echo(f"hub {hub_id} listening on http://{host}:{port} (SOAP at /soap?wsdl)", err=True)
    profile = os.environ.get("INTERCHANGE_HUB_PROFILE")  # a file: cProfile stats at shutdown
    if profile:
        profiler = cProfile.Profile()

        def dump() -> None:  # at lifespan shutdown: uvicorn re-raises SIGTERM after it
            profiler.disable()
            profiler.dump_stats(profile)

        app.router.on_shutdown.append(dump)
        profiler.enable()
    try:
        uvicorn.run(
            app,
            host=host,
            port=port,
            log_level=log_level,
            access_log=False,
            timeout_graceful_shutdown=3,
        )
    finally:
        app.state.hub.close()


def register(app: typer.Typer) -> None:
    app.add_typer(hub_app, name="hub")
