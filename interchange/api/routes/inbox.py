"""Documents we received: list, detail (verification, structured part, attachments), answers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.engine import Connection

from ...edxml.model import EdocMessage, StatusCode
from ...errors import NotFoundError
from ...store.tables import deliveries, documents
from ..deps import Conn, EngineDep, Operator, Viewer, reading, scope_of
from ..docinfo import hops_of, signature_of
from ..queries import InboxFilter, inbox_item, inbox_timeline, list_inbox, verification_of
from ..schemas import (
    ActionResult,
    AnswerOut,
    AssignBody,
    AttachmentInfo,
    InboxDetail,
    InboxPage,
    InboxSummary,
    ReasonBody,
    RecallAnswerBody,
)
from ..structured import read_stored
from ..turns import turns_of
from .common import ERRORS, Code, Cursor, Id, Limit, Text, Word, cursor_value, json_response

router = APIRouter(prefix="/inbox", tags=["inbox"], responses=ERRORS)


@router.get("", response_model=InboxPage, summary="Documents received, newest first")
async def list_items(
    user: Viewer,
    engine: EngineDep,
    request: Request,
    state: Word = None,
    sender: Code = None,
    kind: Word = None,
    valid: bool | None = None,
    q: Text = None,
    tenant: Code = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Response:
    f = InboxFilter(
        state=state,
        sender=sender,
        kind=kind,
        valid=valid,
        text=q,
        tenant=tenant,
        cursor=cursor_value(cursor),
        limit=limit,
    )
    async with turns_of(request):  # on the loop, in arrival order: see turns
        with reading(engine) as conn:  # returned before any await: see deps
            page = list_inbox(conn, scope_of(user), f)
    return json_response(page)


def _item(conn: Connection, user: Viewer, item: int) -> Any:
    row = inbox_item(conn, scope_of(user), item)
    if row is None:
        raise NotFoundError(f"no inbox item {item}")
    return row


def answers_of(conn: Connection, row: Any) -> list[AnswerOut]:
    """The status messages this node queued in answer to the item, with their delivery."""
    q = (
        select(
            documents.c.code,
            documents.c.subject,
            documents.c.created_at,
            deliveries.c.state,
            deliveries.c.sent_at,
        )
        .join(deliveries, deliveries.c.document_pk == documents.c.id)
        .where(
            documents.c.tenant_id == row.tenant_id,
            documents.c.direction == "out",
            documents.c.message_type == "status",
            documents.c.document_id == row.document_id,
            deliveries.c.recipient == row.sender,
        )
        .order_by(documents.c.id)
    )
    return [
        AnswerOut(
            status_code=r.code or "",
            description=r.subject,
            created_at=r.created_at,
            state=r.state,
            sent_at=r.sent_at,
        )
        for r in conn.execute(q)
    ]


@router.get("/{item}", response_model=InboxDetail, summary="One document received")
def get_item(item: Id, user: Viewer, conn: Conn) -> InboxDetail:
    row = _item(conn, user, item)
    stored = read_stored(row.data)
    base = InboxSummary.model_validate(
        {**row._mapping, "tenant": row.tenant}, from_attributes=False
    )
    msg = stored.message
    return InboxDetail(
        **base.model_dump(),
        sha256=row.sha256,
        size=len(row.data),
        verification=verification_of(row),
        structured=stored.structured,
        attachments=[
            AttachmentInfo(
                content_id=a.content_id,
                name=a.name,
                content_type=a.content_type,
                size=a.size,
                url=f"/api/v1/inbox/{item}/attachments/{i}",
            )
            for i, a in enumerate(msg.attachments if isinstance(msg, EdocMessage) else ())
        ],
        timeline=inbox_timeline(conn, item, row.document_pk),
        hops=hops_of(row.data),
        signature=signature_of(row.sha256, row.data, valid=bool(row.valid)),
        answers=answers_of(conn, row),
    )


@router.get(
    "/{item}/attachments/{index}",
    summary="Download one attachment",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def download(
    item: Id, index: Annotated[int, Path(ge=0, le=10_000)], user: Viewer, conn: Conn
) -> Response:
    row = _item(conn, user, item)
    msg = read_stored(row.data).message
    atts = msg.attachments if isinstance(msg, EdocMessage) else ()
    if index >= len(atts):
        raise NotFoundError(f"inbox item {item} has no attachment {index}")
    att = atts[index]
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in att.name)[:120] or "file"
    return Response(
        att.data,
        media_type="application/octet-stream",
        headers={
            "Content-Disposition": f'attachment; filename="{safe}"',
            "X-Content-Type-Options": "nosniff",
        },
    )


def _answer(
    request: Request,
    conn: Connection,
    user: Operator,
    item: int,
    code: StatusCode,
    **kw: str | None,
) -> ActionResult:
    row = _item(conn, user, item)
    conn.close()
    done = request.app.state.actions.answer(user, row.tenant, item, code, **kw)
    return ActionResult.model_validate(done, from_attributes=True)


@router.post("/{item}/accept", response_model=ActionResult, summary="Accept and register (03)")
def accept(item: Id, user: Operator, conn: Conn, request: Request) -> ActionResult:
    return _answer(request, conn, user, item, StatusCode.ACCEPTED)


@router.post("/{item}/refuse", response_model=ActionResult, summary="Refuse with a reason (02)")
def refuse(
    item: Id, body: ReasonBody, user: Operator, conn: Conn, request: Request
) -> ActionResult:
    return _answer(request, conn, user, item, StatusCode.REFUSED, reason=body.reason)


@router.post("/{item}/assign", response_model=ActionResult, summary="Assign for handling (04)")
def assign(
    item: Id, body: AssignBody, user: Operator, conn: Conn, request: Request
) -> ActionResult:
    return _answer(
        request, conn, user, item, StatusCode.ASSIGNED, assigned_to=body.to, reason=body.note
    )


@router.post("/{item}/in-progress", response_model=ActionResult, summary="In progress (05)")
def in_progress(item: Id, user: Operator, conn: Conn, request: Request) -> ActionResult:
    return _answer(request, conn, user, item, StatusCode.IN_PROGRESS)


@router.post("/{item}/completed", response_model=ActionResult, summary="Completed (06)")
def completed(item: Id, user: Operator, conn: Conn, request: Request) -> ActionResult:
    return _answer(request, conn, user, item, StatusCode.COMPLETED)


@router.post(
    "/{item}/recall-answer",
    response_model=ActionResult,
    summary="Answer the sender's recall: agree (15) or refuse (16)",
)
def recall_answer(
    item: Id, body: RecallAnswerBody, user: Operator, conn: Conn, request: Request
) -> ActionResult:
    code = StatusCode.CHANGE_ACCEPTED if body.agree else StatusCode.CHANGE_REFUSED
    return _answer(request, conn, user, item, code, reason=body.reason)
