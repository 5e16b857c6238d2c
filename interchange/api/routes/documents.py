"""Documents we sent: list, detail with per-recipient timelines, and the sender's actions."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from ...errors import NotFoundError
from ..deps import (
    Conn,
    EngineDep,
    Operator,
    Today,
    Token,
    Viewer,
    authorize,
    names_of,
    reading,
    scope_of,
)
from ..queries import (
    SentFilter,
    delivery_in_scope,
    list_sent_data,
    sent_detail,
    sent_detail_data,
    sent_document,
)
from ..schemas import ActionResult, DocumentDetail, DocumentPage, ReasonBody
from ..turns import turns_of
from .common import (
    ERRORS,
    Code,
    Cursor,
    Id,
    Limit,
    Text,
    Word,
    cursor_value,
    data_response,
)

router = APIRouter(prefix="/documents", tags=["documents sent"], responses=ERRORS)


@router.get("", response_model=DocumentPage, summary="Documents sent, newest first")
async def list_documents(
    token: Token,
    request: Request,
    engine: EngineDep,
    today: Today,
    kind: Word = None,
    recipient: Code = None,
    state: Word = None,
    overdue: bool | None = None,
    since: Annotated[dt.date | None, Query()] = None,
    until: Annotated[dt.date | None, Query()] = None,
    q: Text = None,
    tenant: Code = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Response:
    f = SentFilter(
        kind=kind,
        recipient=recipient,
        state=state,
        overdue=overdue,
        since=since,
        until=until,
        text=q,
        tenant=tenant,
        cursor=cursor_value(cursor),
        limit=limit,
    )
    async with turns_of(request):  # on the loop, in arrival order: see turns
        with reading(engine) as conn:  # returned before any await: see deps
            user = authorize(conn, request, token, "viewer")
            page = list_sent_data(conn, scope_of(user), f, today)
    return data_response(page)


@router.get("/{document}", response_model=DocumentDetail, summary="One document sent")
async def get_document(
    document: Id, token: Token, engine: EngineDep, today: Today, request: Request
) -> Response:
    async with turns_of(request):  # on the loop, in arrival order: see turns
        with reading(engine) as conn:  # returned before any await: see deps
            user = authorize(conn, request, token, "viewer")
            detail = sent_detail_data(conn, scope_of(user), document, today, names_of(request))
    if detail is None:
        raise NotFoundError(f"no document {document}")
    return data_response(detail)


def _tenant_of_document(conn: Conn, user: Viewer, document: int) -> str:
    row = sent_document(conn, scope_of(user), document)
    if row is None:
        raise NotFoundError(f"no document {document}")
    return str(row.tenant)


def _tenant_of_delivery(conn: Conn, user: Viewer, document: int, delivery: int) -> str:
    row = delivery_in_scope(conn, scope_of(user), document, delivery)
    if row is None:
        raise NotFoundError(f"no delivery {delivery} of document {document}")
    return str(row.tenant)


def _out(done: object) -> ActionResult:
    return ActionResult.model_validate(done, from_attributes=True)


@router.post(
    "/{document}/deliveries/{delivery}/retry",
    response_model=ActionResult,
    summary="Retry a failed or dead-lettered delivery now",
)
def retry(document: Id, delivery: Id, user: Operator, conn: Conn, request: Request) -> ActionResult:
    tenant = _tenant_of_delivery(conn, user, document, delivery)
    conn.close()
    return _out(request.app.state.actions.retry(user, tenant, delivery))


@router.post(
    "/{document}/deliveries/{delivery}/resend",
    response_model=ActionResult,
    summary="Send the document to this recipient again",
)
def resend(
    document: Id, delivery: Id, user: Operator, conn: Conn, request: Request
) -> ActionResult:
    tenant = _tenant_of_delivery(conn, user, document, delivery)
    conn.close()
    return _out(request.app.state.actions.resend(user, tenant, delivery))


@router.post(
    "/{document}/resend-late",
    response_model=ActionResult,
    summary="Resend to every recipient that has not answered and is overdue",
)
def resend_late(
    document: Id, user: Operator, conn: Conn, request: Request, today: Today
) -> ActionResult:
    detail = sent_detail(conn, scope_of(user), document, today)
    if detail is None:
        raise NotFoundError(f"no document {document}")
    late = [d.id for d in detail.deliveries if d.overdue and not d.answered]
    conn.close()
    return _out(request.app.state.actions.resend_late(user, detail.tenant, document, late))


@router.post(
    "/{document}/cancel", response_model=ActionResult, summary="Cancel every delivery still queued"
)
def cancel(document: Id, user: Operator, conn: Conn, request: Request) -> ActionResult:
    tenant = _tenant_of_document(conn, user, document)
    conn.close()
    return _out(request.app.state.actions.cancel(user, tenant, document))


@router.post(
    "/{document}/recall",
    response_model=ActionResult,
    summary="Recall the document (status 13) with a reason",
)
def recall(
    document: Id, body: ReasonBody, user: Operator, conn: Conn, request: Request
) -> ActionResult:
    tenant = _tenant_of_document(conn, user, document)
    conn.close()
    return _out(request.app.state.actions.recall(user, tenant, document, body.reason))
