"""``interchange demo``: the main job on the embedded default, on one machine."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def demo(
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir", help="where keys, databases and logs go (kept); default: a temp dir"
        ),
    ] = None,
    keep: Annotated[
        bool, typer.Option("--keep", help="keep the temporary data directory afterwards")
    ] = False,
    serve: Annotated[
        bool,
        typer.Option("--serve", help="after the scenario, keep the network running until Ctrl-C"),
    ] = False,
    timeout: Annotated[
        float, typer.Option("--timeout", help="seconds to wait for every recipient's answer")
    ] = 45.0,
) -> None:
    """Start a hub and three nodes on loopback, send a directive and a conclusion, show the answers.

    Processes: the hub, the Ministry Inspectorate's node, the Tây Ninh Department of IC's node,
    and one node hosting all of Tây Ninh's districts. Exits 0 when every recipient answered,
    1 with a one-line reason otherwise.
    """
    from ..demo import run_demo

    code = run_demo(data_dir=data_dir, keep=keep, serve=serve, timeout=timeout)
    if code:
        raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
