"""The main job on the embedded default: a whole network on loopback, one command.

``run_demo`` starts the hub and three nodes as separate processes (free ports, a throw-away
PKI and SQLite databases in a data directory), sends a directive to every district of Tây
Ninh and a conclusion the department's node forwards to the Ministry Inspectorate, waits until
every recipient has answered, prints documents × recipients × status, and stops everything.
The same building blocks (``spec``, ``network``, ``observe``) run the end-to-end tests and the
delivery benchmark.
"""

from __future__ import annotations

import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.table import Table

from ..errors import InterchangeError
from .network import Network, Prepared, prepare
from .observe import STATE_CODES, DeliveryRow
from .procs import ProcessError
from .scenario import Cast, conclusion, demo_spec, directive, wait_answered

__all__ = ["run_demo", "status_table"]


def status_table(rows: Sequence[DeliveryRow], cast: Cast | None = None) -> Table:
    """Documents × recipients × status, as the sender's store has them."""
    names = cast.names if cast else {}
    notes = {
        id(r): r.reason
        or r.last_error
        or (f"was {r.substituted_from}" if r.substituted_from else "")
        for r in rows
    }
    table = Table(title="Documents sent by the department × recipients × status")
    table.add_column("document", no_wrap=True)
    table.add_column("recipient", no_wrap=True)
    table.add_column("agency", overflow="fold")
    table.add_column("status", no_wrap=True)
    if any(notes.values()):
        table.add_column("note", overflow="fold")
    last = None
    for r in rows:
        code = STATE_CODES.get(r.state)
        status = f"{code} {r.state}" if code else r.state
        if r.state == "accepted":
            status = f"[green]{status}[/]"
        elif r.state in ("refused", "dead", "failed"):
            status = f"[red]{status}[/]"
        first = r.document_id != last
        cells = [
            f"{r.kind} {r.code}" if first else "",
            r.recipient,
            names.get(r.recipient, ""),
            status,
        ]
        if any(notes.values()):
            cells.append(notes[id(r)])
        table.add_row(*cells)
        last = r.document_id
    return table


def _one_line_reason(rows: Sequence[DeliveryRow], expected: int, timeout: float) -> str:
    waiting = [r for r in rows if r.state not in STATE_CODES or r.state == "arrived"]
    sample = ", ".join(f"{r.recipient} {r.state}" for r in waiting[:4])
    more = f" and {len(waiting) - 4} more" if len(waiting) > 4 else ""
    missing = expected - len(rows)
    extra = f"; {missing} deliveries not even queued" if missing > 0 else ""
    return (
        f"timed out after {timeout:g} s: {len(waiting)} of {expected} recipients have not "
        f"answered ({sample}{more}){extra}"
    )


def _serve_until_interrupted(console: Console, net: Network, prepared: Prepared) -> None:
    """Keep the network up, print where everything is, stop on Ctrl-C or SIGTERM."""
    from ..api.web.firstrun import Dashboards  # dashboard (web/)

    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    dashboards: Dashboards | None = None
    try:
        console.print("\n[bold]The network keeps running:[/]")
        console.print(
            f"  hub          {prepared.hub_url}  (REST face; SOAP at {prepared.hub_url}/soap?wsdl)"
        )
        for name, proc in net.nodes.items():
            console.print(
                f"  node {name:<9} pid {proc.pid}  config {prepared.node_configs[name]}  "
                f"db {prepared.node_db_urls[name]}"
            )
        dashboards = Dashboards(prepared.node_configs).__enter__()  # dashboard (web/)
        for d in dashboards.started:  # dashboard (web/)
            console.print(f"  dashboard {d.name:<9} {d.url}  token {d.token}", soft_wrap=True)
        console.print("[bold]Ctrl-C stops it.[/]")
        while not stop.wait(0.5):
            dead = [p.name for p in net.processes() if not p.running()]
            if dead:
                console.print(f"[red]{', '.join(dead)} stopped; see the logs[/]")
                return
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        if dashboards is not None:
            dashboards.__exit__(None, None, None)  # dashboard (web/)


def run_demo(
    *,
    data_dir: Path | None = None,
    keep: bool = False,
    serve: bool = False,
    timeout: float = 45.0,
    console: Console | None = None,
) -> int:
    """Run the demo; 0 when every recipient answered, 1 (one line on stderr) otherwise."""
    out = console or Console()
    temporary = data_dir is None
    root = Path(tempfile.mkdtemp(prefix="interchange-demo-")) if data_dir is None else data_dir
    started = time.monotonic()
    code = 1
    try:
        spec, cast = demo_spec()
        out.print(
            f"[bold]interchange demo[/]: hub + 3 nodes on loopback "
            f"({len(cast.districts)} districts on one node); data in {root}"
        )
        prepared = prepare(spec, root)
        with Network(prepared) as net:
            out.print(f"hub at {prepared.hub_url}; nodes ministry, department, districts running")
            sent_directive = net.submit("department", cast.department, directive(cast))
            sent_conclusion = net.submit("department", cast.department, conclusion(cast))
            ids = [sent_directive.document_id, sent_conclusion.document_id]
            expected = len(sent_directive.delivery_ids) + len(sent_conclusion.delivery_ids)
            out.print(
                f"sent directive {ids[0]} to {len(sent_directive.delivery_ids)} districts and "
                f"conclusion {ids[1]} (routing adds the Ministry Inspectorate); waiting for answers"
            )
            done, rows = wait_answered(
                net.stores["department"], cast.department, ids, expected=expected, timeout=timeout
            )
            out.print(status_table(rows, cast))
            if not done:
                print(f"error: {_one_line_reason(rows, expected, timeout)}", file=sys.stderr)
                return 1
            accepted = sum(1 for r in rows if r.state == "accepted")
            out.print(
                f"all {expected} recipients answered ({accepted} accepted) "
                f"in {time.monotonic() - started:.1f} s"
            )
            if serve:
                _serve_until_interrupted(out, net, prepared)
        code = 0
        return code
    except (InterchangeError, TimeoutError) as exc:
        reason = str(exc)
        if isinstance(exc, ProcessError | TimeoutError):
            reason += f" (logs in {root / 'logs'})"
        print(f"error: {reason}", file=sys.stderr)
        return code
    finally:
        if temporary and not keep and code == 0:
            shutil.rmtree(root, ignore_errors=True)
        else:
            out.print(f"data directory kept: {root}")
