"""The dashboard's reading pages: overview, documents sent, a directive's recipient matrix,
the inbox and one received document.

Each page is a face over the JSON API's own scoped queries (``api.queries``): a user sees
exactly what ``GET /api/v1/...`` would show them, and a document outside their tenants is
"not found" here as there. Pages that show moving state carry ``refresh`` (seconds): the
vendored ``refresh.js`` reloads their content in place, or ``<noscript>`` meta refresh does.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from ...edxml.model import EdocMessage
from ...errors import NotFoundError
from ..deps import today
from ..docinfo import hops_of, signature_of
from ..queries import (
    InboxFilter,
    Scope,
    SentFilter,
    inbox_item,
    inbox_timeline,
    list_inbox,
    list_sent,
    overview,
    sent_detail,
    steps_of,
    verification_of,
)
from ..routes.common import MAX_ID
from ..routes.inbox import answers_of
from ..structured import read_stored
from .render import current_session, render
from .routing import PageRoute

router = APIRouter(route_class=PageRoute)

Id = Annotated[int, "a database id"]
Word = Annotated[str | None, Query(max_length=32, pattern=r"^[a-z_]*$")]
Cursor = Annotated[int | None, Query(ge=1, le=MAX_ID)]
Text = Annotated[str | None, Query(max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")]

#: The matrix's step columns: the state a recipient's status message puts it in → its code.
STEPS = (
    ("arrived", "01"),
    ("accepted", "03"),
    ("assigned", "04"),
    ("in_progress", "05"),
    ("completed", "06"),
)
SENT_STATES = (
    "queued",
    "retrying",
    "failed",
    "dead",
    "sent",
    "arrived",
    "accepted",
    "assigned",
    "in_progress",
    "completed",
    "refused",
    "cancelled",
    "recall_requested",
    "recalled",
)
INBOX_STATES = (
    "arrived",
    "accepted",
    "assigned",
    "in_progress",
    "completed",
    "refused",
    "recall_requested",
    "recalled",
    "recall_refused",
)


def _id(value: int, what: str) -> int:
    if not 1 <= value <= MAX_ID:
        raise NotFoundError(f"no {what} {value}")
    return value


def _refresh(request: Request) -> int:
    return int(request.app.state.settings.refresh_seconds)


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> HTMLResponse:
    """Counts by state, overdue, dead letters and the oldest undelivered, per tenant."""
    session = current_session(request)
    with request.app.state.engine.connect() as conn:
        ov = overview(conn, Scope.of(session.user), today())
    return render(request, "overview.html", session, ov=ov, refresh=_refresh(request))


@router.get("/documents", response_class=HTMLResponse)
def documents_page(
    request: Request,
    q: Text = None,
    state: Word = None,
    overdue: Annotated[bool | None, Query()] = None,
    tenant: Annotated[str | None, Query(max_length=64, pattern=r"^[0-9A-Za-z._-]*$")] = None,
    cursor: Cursor = None,
) -> HTMLResponse:
    session = current_session(request)
    f = SentFilter(
        text=q or None,
        state=state or None,
        overdue=overdue or None,
        tenant=tenant or None,
        cursor=cursor,
        limit=request.app.state.settings.page_size,
    )
    with request.app.state.engine.connect() as conn:
        page = list_sent(conn, Scope.of(session.user), f, today())
    more = None
    if page.next_cursor:
        keep = "&".join(
            f"{k}={quote(str(v))}"
            for k, v in (
                ("q", q),
                ("state", state),
                ("overdue", "true" if overdue else None),
                ("tenant", tenant),
            )
            if v
        )
        more = f"/ui/documents?cursor={page.next_cursor}" + (f"&{keep}" if keep else "")
    return render(
        request,
        "documents.html",
        session,
        page=page,
        q=q or "",
        state=state or "",
        overdue=bool(overdue),
        states=SENT_STATES,
        more=more,
        refresh=_refresh(request),
    )


@router.get("/documents/{document}", response_class=HTMLResponse)
def document_page(
    request: Request, document: Id, pending: Annotated[bool, Query()] = False
) -> HTMLResponse:
    """The recipient matrix: one row per recipient, the time of each step, lateness."""
    session = current_session(request)
    _id(document, "document")
    with request.app.state.engine.connect() as conn:
        detail = sent_detail(
            conn, Scope.of(session.user), document, today(), request.app.state.names
        )
    if detail is None:
        raise NotFoundError(f"no document {document}")
    rows = [d for d in detail.deliveries if not (pending and d.answered)]
    late = [d for d in detail.deliveries if d.overdue and not d.answered]
    return render(
        request,
        "document.html",
        session,
        doc=detail,
        rows=rows,
        pending=pending,
        steps={d.id: steps_of(d) for d in detail.deliveries},
        step_cols=STEPS,
        late=late,
        refresh=_refresh(request),
        meta_refresh=False,
    )


@router.get("/inbox", response_class=HTMLResponse)
def inbox_page(request: Request, state: Word = None, cursor: Cursor = None) -> HTMLResponse:
    session = current_session(request)
    with request.app.state.engine.connect() as conn:
        page = list_inbox(
            conn,
            Scope.of(session.user),
            InboxFilter(
                state=state or None, cursor=cursor, limit=request.app.state.settings.page_size
            ),
        )
    more = None
    if page.next_cursor:
        more = f"/ui/inbox?cursor={page.next_cursor}" + (f"&state={state}" if state else "")
    return render(
        request,
        "inbox.html",
        session,
        page=page,
        state=state or "",
        states=INBOX_STATES,
        more=more,
        refresh=_refresh(request),
    )


@router.get("/inbox/{item}", response_class=HTMLResponse)
def inbox_item_page(request: Request, item: Id) -> HTMLResponse:
    session = current_session(request)
    _id(item, "inbox item")
    with request.app.state.engine.connect() as conn:
        row = inbox_item(conn, Scope.of(session.user), item)
        if row is None:
            raise NotFoundError(f"no inbox item {item}")
        timeline = inbox_timeline(conn, item, row.document_pk)
        answers = answers_of(conn, row)
    stored = read_stored(row.data)
    attachments = stored.message.attachments if isinstance(stored.message, EdocMessage) else ()
    return render(
        request,
        "inbox_item.html",
        session,
        item=row,
        timeline=timeline,
        answers=answers,
        verification=verification_of(row),
        structured=stored.structured,
        attachments=list(enumerate(attachments)),
        hops=hops_of(row.data),
        signature=signature_of(row.sha256, row.data, valid=bool(row.valid)),
        refresh=_refresh(request),
        meta_refresh=False,
    )


@router.get("/inbox/{item}/attachments/{index}")
def inbox_attachment(request: Request, item: Id, index: int) -> Response:
    session = current_session(request)
    _id(item, "inbox item")
    with request.app.state.engine.connect() as conn:
        row = inbox_item(conn, Scope.of(session.user), item)
    msg = read_stored(row.data).message if row is not None else None
    atts = msg.attachments if isinstance(msg, EdocMessage) else ()
    if not 0 <= index < len(atts):
        raise NotFoundError(f"inbox item {item} has no attachment {index}")
    att = atts[index]
    return Response(
        att.data,
        media_type="application/octet-stream",
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(att.name[:120])}",
            "X-Content-Type-Options": "nosniff",
        },
    )
