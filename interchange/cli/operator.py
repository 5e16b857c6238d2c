"""Operator commands: ``users``, ``audit``, ``status``, ``inbox``, ``send``.

Faces only: each command opens the node's database, calls the store / API query functions and
prints a rich table or JSON. Tokens are printed once, at creation, and never again.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine

from ..api.actions import Actions
from ..api.deps import today
from ..api.queries import (
    InboxFilter,
    Scope,
    SentFilter,
    inbox_item,
    list_inbox,
    list_sent,
    sent_detail,
    steps_of,
)
from ..api.schemas import DocumentDetail, DocumentPage
from ..delivery.lifecycle import State
from ..edxml.model import StatusCode
from ..errors import ConfigError, InterchangeError, NotFoundError, OrganCodeError
from ..organs.codes import is_four_group, normalise_organ_id
from ..store import auth_tables as auth
from .dbopen import open_existing, require_existing

_VN = dt.timezone(dt.timedelta(hours=7))

DbOption = Annotated[
    str,
    typer.Option("--db", envvar="INTERCHANGE_DB", help="Database URL or SQLite file of the node."),
]

users_app = typer.Typer(
    help="Operator accounts: tokens, roles, tenant scopes.", no_args_is_help=True
)
audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no passwd entry in a container
        return "cli"


@users_app.command("add")
def users_add(
    name: str,
    db: DbOption,
    role: Annotated[str, typer.Option(help="viewer, operator or admin")] = "viewer",
    tenant: Annotated[
        list[str], typer.Option("--tenant", help="Agency code the user may see ('*' = all).")
    ] = [],  # noqa: B006 - typer reads the default
) -> None:
    """Create a user and print its token (shown once, stored only as a hash)."""
    if role not in auth.ROLES:  # before the tenants, as the store checks them
        raise ConfigError(f"unknown role {role!r}: use one of {', '.join(auth.ROLES)}")
    others = _tenant_codes(tenant)
    engine = open_existing(db)
    try:
        with engine.begin() as conn:
            _hosted(conn, others)
            created = auth.add_user(conn, name, role, tenant)
            auth.append_audit(
                conn,
                actor=_actor(),
                action="users.add",
                target=name,
                result="ok",
                detail={"role": role, "tenants": list(created.user.tenants)},
            )
    finally:
        engine.dispose()
    typer.echo(created.token)
    typer.echo(
        f"user {name} ({role}; {', '.join(created.user.tenants)}): keep this token, "
        "it is not shown again",
        err=True,
    )


def _tenant_codes(tenants: list[str]) -> list[str]:
    """Check each scope's form: '*', a four-group agency code, or an id we read (a legacy
    code, which only passes when the node hosts it). Returns the ids left to look up."""
    others = []
    for raw in tenants:
        value = raw.strip()
        if not value or value == auth.ALL_TENANTS or is_four_group(value):
            continue  # an empty one is the store's to refuse, with its message
        try:
            others.append(normalise_organ_id(value))
        except OrganCodeError:
            raise _unknown_tenant(raw) from None
    return others


def _hosted(conn: Connection, codes: list[str]) -> None:
    from ..store.tables import tenants

    if not codes:
        return
    known = set(
        conn.execute(select(tenants.c.organ_code).where(tenants.c.organ_code.in_(codes))).scalars()
    )
    for code in codes:
        if code not in known:
            raise _unknown_tenant(code)


def _unknown_tenant(value: str) -> OrganCodeError:
    return OrganCodeError(
        f"tenant {value!r} is not an agency code (L4.L3.L2.L1 like 000.00.13.H53) nor an "
        "agency this node hosts; '*' means every agency"
    )


@users_app.command("list")
def users_list(db: DbOption, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List users with role, tenants and whether they are revoked (never tokens)."""
    engine = open_existing(db)
    try:
        with engine.connect() as conn:
            rows = auth.list_users(conn)
    finally:
        engine.dispose()
    if as_json:
        typer.echo(
            json.dumps(
                [
                    {
                        "name": u.name,
                        "role": u.role,
                        "tenants": list(u.tenants),
                        "created_at": u.created_at.isoformat(),
                        "revoked_at": u.revoked_at.isoformat() if u.revoked_at else None,
                    }
                    for u in rows
                ],
                ensure_ascii=False,
            )
        )
        return
    table = Table("name", "role", "tenants", "created", "revoked")
    for u in rows:
        table.add_row(
            u.name,
            u.role,
            " ".join(u.tenants),
            f"{u.created_at:%Y-%m-%d %H:%M}",
            f"{u.revoked_at:%Y-%m-%d %H:%M}" if u.revoked_at else "",
        )
    Console().print(table)


@users_app.command("revoke")
def users_revoke(name: str, db: DbOption) -> None:
    """Revoke a user's token: every session and API call with it stops working at once."""
    engine = open_existing(db)
    try:
        with engine.begin() as conn:
            auth.revoke_user(conn, name)
            auth.append_audit(conn, actor=_actor(), action="users.revoke", target=name, result="ok")
    finally:
        engine.dispose()
    typer.echo(f"revoked {name}")


@audit_app.command("verify")
def audit_verify(db: DbOption) -> None:
    """Check the audit chain; exit 1 naming the first entry that was altered, removed or moved."""
    engine = open_existing(db)
    try:
        with engine.connect() as conn:
            report = auth.check_audit(conn)
    finally:
        engine.dispose()
    typer.echo(f"audit log intact: {report.count} entries, head {report.head_hash[:16]}")
    if report.unfinished:
        listed = ", ".join(str(n) for n in report.unfinished[:20])
        more = " …" if len(report.unfinished) > 20 else ""
        typer.echo(
            f"{len(report.unfinished)} action(s) started without a recorded outcome "
            f"(stopped mid-way; check them by hand): entries {listed}{more}"
        )


@audit_app.command("show")
def audit_show(
    db: DbOption,
    limit: Annotated[int, typer.Option(min=1, max=10000)] = 50,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The newest audit entries."""
    engine = open_existing(db)
    try:
        with engine.connect() as conn:
            entries = auth.list_audit(conn, limit)
    finally:
        engine.dispose()
    if as_json:
        typer.echo(
            json.dumps(
                [
                    {
                        "seq": e.seq,
                        "at": e.at.isoformat(),
                        "actor": e.actor,
                        "action": e.action,
                        "target": e.target,
                        "tenant": e.tenant,
                        "result": e.result,
                        "detail": json.loads(e.detail),
                    }
                    for e in entries
                ],
                ensure_ascii=False,
            )
        )
        return
    table = Table("seq", "at (UTC)", "actor", "action", "target", "tenant", "result")
    for e in entries:
        table.add_row(
            str(e.seq),
            f"{e.at:%Y-%m-%d %H:%M:%S}",
            e.actor,
            e.action,
            e.target,
            e.tenant or "",
            e.result,
        )
    Console().print(table)


# --- status, inbox, send --------------------------------------------------------------------

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        exists=True,
        dir_okay=False,
        envvar="INTERCHANGE_CONFIG",
        help="Node config (YAML/JSON): its database, and its keys to sign answers.",
    ),
]
DbRead = Annotated[
    str | None,
    typer.Option("--db", envvar="INTERCHANGE_DB", help="Database URL or SQLite file (reading)."),
]
JsonFlag = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]

_STYLE = {
    "completed": "green",
    "accepted": "green",
    "recalled": "green",
    "arrived": "cyan",
    "sent": "cyan",
    "assigned": "cyan",
    "in_progress": "cyan",
    "queued": "yellow",
    "retrying": "yellow",
    "recall_requested": "yellow",
    "failed": "red",
    "dead": "bold red",
    "refused": "red",
    "recall_refused": "red",
    "cancelled": "dim",
}


def _engine(db: str | None, config: Path | None) -> Engine:
    if db is None:
        if config is None:
            raise ConfigError("give --db URL or --config FILE")
        from ..node.config import load_config

        db = load_config(config).database_url
    return open_existing(db)


def _cli_user() -> auth.User:
    """The command line runs on the node with its database: every tenant, as admin."""
    return auth.User(0, _actor(), "admin", (auth.ALL_TENANTS,), auth.utcnow())


def _when(value: dt.datetime | None) -> str:
    if value is None:
        return ""
    return (
        (value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value)
        .astimezone(_VN)
        .strftime("%d/%m %H:%M")
    )


def _state(state: str) -> str:
    return f"[{_STYLE.get(state, 'white')}]{state}[/]"


def _find_document(conn: Connection, ref: str) -> int:
    from ..store.tables import documents

    q = select(documents.c.id).where(
        documents.c.direction == "out", documents.c.message_type == "edoc"
    )
    pk = conn.execute(
        q.where(documents.c.document_id == ref).order_by(documents.c.id.desc())
    ).scalar()
    if pk is None and ref.isdigit():
        pk = conn.execute(q.where(documents.c.id == int(ref))).scalar()
    if pk is None:
        raise NotFoundError(f"no sent document {ref}")
    return int(pk)


def _documents_table(page: DocumentPage) -> Table:
    table = Table(
        "id",
        "number",
        "kind",
        "sent",
        "due",
        "to",
        "states",
        "overdue",
        "not answered",
        title="documents sent",
        title_justify="left",
    )
    for d in page.items:
        states = " ".join(f"{_state(s)}:{n}" for s, n in d.states.items())
        table.add_row(
            str(d.id),
            d.code or d.document_id or "",
            d.kind,
            _when(d.created_at),
            str(d.due_date or ""),
            str(d.recipients),
            states,
            f"[red]{d.overdue}[/]" if d.overdue else "0",
            str(d.not_answered),
        )
    return table


def _delivery_table(doc: DocumentDetail) -> Table:
    table = Table(
        "recipient",
        "state",
        "sent",
        "arrived",
        "accepted",
        "done",
        "tries",
        "note",
        title=f"{doc.code or doc.document_id} — {doc.subject or ''}",
        title_justify="left",
    )
    for d in doc.deliveries:
        st = steps_of(d)
        name = f"{d.recipient_name or ''} {d.recipient}".strip()
        note = d.reason or d.last_error or ""
        table.add_row(
            f"[red]{name}[/]" if d.overdue else name,
            _state(d.state),
            _when(st.get("sent")),
            _when(st.get("arrived")),
            _when(st.get("accepted")),
            _when(st.get("completed") or st.get("refused")),
            str(d.attempts),
            note[:60],
            style="on grey15" if d.overdue else None,
        )
    return table


def status(
    doc: Annotated[
        str | None, typer.Argument(help="A DocumentId or id; omit for the list.")
    ] = None,
    db: DbRead = None,
    config: ConfigOption = None,
    state: Annotated[
        State | None, typer.Option(help="Only documents with a delivery in this state.")
    ] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only overdue documents.")] = False,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 30,
    as_json: JsonFlag = False,
    watch: Annotated[
        bool,
        typer.Option("--watch", help="Refresh until Ctrl-C (with --json: one JSON per line)."),
    ] = False,
    interval: Annotated[float, typer.Option(min=0.2, max=3600)] = 2.0,
    rounds: Annotated[int, typer.Option("--rounds", hidden=True, min=0)] = 0,
) -> None:
    """Where every document is: the list, or one document's recipients and their steps."""
    engine = _engine(db, config)
    scope = Scope(None)

    def snapshot() -> DocumentPage | DocumentDetail:
        with engine.connect() as conn:
            if doc is None:
                f = SentFilter(
                    state=state and state.value, overdue=True if overdue else None, limit=limit
                )
                return list_sent(conn, scope, f, today())
            detail = sent_detail(conn, scope, _find_document(conn, doc), today(), None)
            if detail is None:
                raise NotFoundError(f"no sent document {doc}")
            return detail

    def render(value: DocumentPage | DocumentDetail) -> Table:
        return (
            _documents_table(value) if isinstance(value, DocumentPage) else _delivery_table(value)
        )

    try:
        if as_json:
            # with --watch, one document per refresh and per line (NDJSON), flushed at once:
            # a pipe (``| jq -c``) sees each refresh as it comes, not everything at Ctrl-C
            n = 0
            while True:
                typer.echo(snapshot().model_dump_json())
                sys.stdout.flush()
                if not watch or (rounds and n >= rounds):
                    return
                time.sleep(interval)
                n += 1
        console = Console()
        if not watch:
            console.print(render(snapshot()))
            return
        from rich.live import Live

        n = 0
        with Live(render(snapshot()), console=console, refresh_per_second=4) as live:
            while rounds == 0 or n < rounds:
                time.sleep(interval)
                n += 1
                live.update(render(snapshot()))
    finally:
        engine.dispose()


inbox_app = typer.Typer(help="Documents received: list, and answer them.")


@inbox_app.callback(invoke_without_command=True)
def inbox(
    ctx: typer.Context,
    db: DbRead = None,
    config: ConfigOption = None,
    state: Annotated[State | None, typer.Option(help="Only items in this state.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    as_json: JsonFlag = False,
) -> None:
    """List the inbox (newest first)."""
    if ctx.invoked_subcommand is not None:
        return
    engine = _engine(db, config)
    try:
        with engine.connect() as conn:
            page = list_inbox(
                conn, Scope(None), InboxFilter(state=state and state.value, limit=limit)
            )
    finally:
        engine.dispose()
    if as_json:
        typer.echo(page.model_dump_json())
        return
    table = Table(
        "id",
        "for",
        "from",
        "number",
        "subject",
        "received",
        "state",
        "valid",
        title="inbox",
        title_justify="left",
    )
    for i in page.items:
        table.add_row(
            str(i.id),
            i.tenant,
            i.sender or "",
            i.code or i.document_id or "",
            (i.subject or "")[:50],
            _when(i.received_at),
            _state(i.state),
            "yes" if i.valid else f"[red]no[/] {i.error_code or ''}",
        )
    Console().print(table)


def _answer(config: Path | None, item: int, code: StatusCode, **kw: str | None) -> None:
    """Answer an inbox item with the node's keys. The node's database must already exist: an
    answer is to something received, so a missing database is a wrong --config or data_dir,
    refused before the node (which would create and migrate one) is opened."""
    if config is None:
        raise ConfigError("answering needs --config FILE (the node's keys sign the status)")
    from ..node.config import load_config
    from ..node.node import Node

    cfg = load_config(config)
    require_existing(cfg.database_url)
    node = Node(cfg)
    try:
        with node.engine.connect() as conn:
            row = inbox_item(conn, Scope(None), item)
        if row is None:
            raise NotFoundError(f"no inbox item {item}")
        done = Actions(node.engine, node.codec, node).answer(
            _cli_user(), row.tenant, item, code, **kw
        )
    finally:
        node.close()
    typer.echo(f"inbox {item}: {done.state} — {done.detail}")


ItemArg = Annotated[int, typer.Argument(min=1, help="The inbox item's id (interchange inbox).")]


@inbox_app.command("accept")
def inbox_accept(item: ItemArg, config: ConfigOption = None) -> None:
    """Accept and register (status 03)."""
    _answer(config, item, StatusCode.ACCEPTED)


@inbox_app.command("refuse")
def inbox_refuse(
    item: ItemArg,
    reason: Annotated[str, typer.Option("--reason", help="Why (sent to the sender).")],
    config: ConfigOption = None,
) -> None:
    """Refuse with a reason (status 02)."""
    _answer(config, item, StatusCode.REFUSED, reason=reason)


@inbox_app.command("assign")
def inbox_assign(
    item: ItemArg,
    to: Annotated[str, typer.Option("--to", help="The person or unit handling it.")],
    config: ConfigOption = None,
) -> None:
    """Assign for handling (status 04)."""
    if not to.strip():
        raise ConfigError("an assignment (04) needs someone to assign it to: --to is empty")
    _answer(config, item, StatusCode.ASSIGNED, assigned_to=to)


def send(
    files: Annotated[
        list[Path],
        typer.Argument(
            exists=True,
            dir_okay=False,
            help="Signed .edxml files, or structured parts (.yaml/.json, with --kind).",
        ),
    ],
    config: Annotated[
        Path,
        typer.Option(
            "--config",
            exists=True,
            dir_okay=False,
            envvar="INTERCHANGE_CONFIG",
            help="Node config.",
        ),
    ],
    to: Annotated[
        list[str],
        typer.Option("--to", help="Recipient code (repeat), or a group the routing understands."),
    ] = [],  # noqa: B006
    sender: Annotated[str | None, typer.Option("--from", help="Hosted agency sending.")] = None,
    kind: Annotated[
        str | None, typer.Option(help="conclusion, report, directive, followup")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Submit documents to the node's outbox (signed once, queued per recipient)."""
    from rich.progress import Progress

    from ..node.node import load_node
    from ..payloads import load_payload

    node = load_node(config)
    results: list[dict[str, object]] = []
    try:
        tenant = sender or (next(iter(node.tenants)) if len(node.tenants) == 1 else None)
        if tenant is None:
            raise ConfigError("this node hosts several agencies: say which with --from")
        with Progress(transient=True, disable=as_json) as progress:
            task = progress.add_task("sending", total=len(files))
            for path in files:
                try:
                    if path.suffix.lower() in (".edxml", ".xml"):
                        res = node.submit_signed(path.read_bytes(), tenant=tenant)
                    else:
                        if kind is None:
                            raise ConfigError(f"{path.name}: a structured part needs --kind")
                        payload = load_payload(kind, path)
                        res = node.submit_payload(tenant, payload, recipients=to)
                    with node.engine.begin() as conn:
                        auth.append_audit(
                            conn,
                            actor=_actor(),
                            action="document.submit",
                            target=res.document_id,
                            tenant=tenant,
                            result="ok",
                            detail={"file": path.name, "to": to},
                        )
                    results.append(
                        {
                            "file": str(path),
                            "document_id": res.document_id,
                            "deliveries": len(res.delivery_ids),
                            "error": None,
                        }
                    )
                except InterchangeError as exc:
                    results.append(
                        {"file": str(path), "document_id": None, "deliveries": 0, "error": str(exc)}
                    )
                progress.advance(task)
    finally:
        node.close()
    failed = [r for r in results if r["error"]]
    if as_json:
        typer.echo(json.dumps(results, ensure_ascii=False))
    else:
        table = Table("file", "document id", "recipients", "result")
        for r in results:
            table.add_row(
                Path(str(r["file"])).name,
                str(r["document_id"] or ""),
                str(r["deliveries"]),
                f"[red]{r['error']}[/]" if r["error"] else "queued",
            )
        Console().print(table)
    if failed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")
    app.add_typer(audit_app, name="audit")
    app.command("status")(status)
    app.add_typer(inbox_app, name="inbox")
    app.command("send")(send)
