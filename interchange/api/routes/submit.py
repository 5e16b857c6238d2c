"""Submit a document: a structured part as JSON (+ PDF attachments), or a ready signed edXML.

Multipart form: ``document`` is a JSON object ``{"sender", "kind", "payload", "recipients"?,
"document_id"?}`` validated by the same payload models as the command line, ``files`` are
PDFs; or ``edxml`` is one signed edXML file. Recipients are expanded by the routing rules and
the directory (a directive's targets, old codes to their successors). The answer names the
document id and every final recipient.
"""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select

from ...delivery.outbox import Submitted, submit
from ...delivery.routing import route
from ...edxml.model import Attachment, EdocMessage
from ...errors import FormatError, PayloadError
from ...store.tables import deliveries
from ..deps import Operator
from ..problems import BadRequest, Forbidden
from ..schemas import SubmitResult
from .common import ERRORS

router = APIRouter(tags=["submit"], responses=ERRORS)

MAX_FILE = 20 * 1024 * 1024
MAX_FILES = 20


class SubmitSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    sender: str = Field(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z.]+$")
    kind: str = Field(pattern=r"^(conclusion|report|directive|followup)$")
    payload: dict[str, Any]
    recipients: list[Annotated[str, Field(max_length=64, pattern=r"^[0-9A-Za-z.@_-]+$")]] = Field(
        default_factory=list, max_length=2000
    )
    document_id: str | None = Field(default=None, min_length=1, max_length=200)


def _read(upload: UploadFile, what: str) -> bytes:
    data = upload.file.read(MAX_FILE + 1)
    if len(data) > MAX_FILE:
        raise BadRequest(f"{what} is larger than {MAX_FILE // (1024 * 1024)} MB")
    return data


def _spec(raw: str) -> SubmitSpec:
    try:
        return SubmitSpec.model_validate(json.loads(raw))
    except ValueError as exc:  # JSONDecodeError and ValidationError are ValueErrors
        if isinstance(exc, ValidationError):
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"]) or "document"
            raise PayloadError(f"document.{where}: {err['msg']}") from None
        raise PayloadError("document: not valid JSON") from None


def _fallback_submit(
    request: Request, spec: SubmitSpec, payload: Any, attachments: list[Attachment], tenant_id: int
) -> Submitted:
    """Without a node (a bare API over a database): route by the directory, sign, queue."""
    state = request.app.state
    codec = state.actions._codec()
    routed = route(
        sender=spec.sender,
        kind=spec.kind,
        recipients=spec.recipients,
        payload=payload,
        directory=state.directory,
    )
    packaged = codec.package(
        spec.sender,
        payload,
        [r.code for r in routed],
        document_id=spec.document_id,
        attachments=attachments,
    )
    return submit(
        state.engine,
        tenant_id=tenant_id,
        data=packaged.data,
        message=packaged.message,
        kind=spec.kind,
        payload_kind=spec.kind,
        recipients=routed,
    )


@router.post(
    "/submit",
    response_model=SubmitResult,
    status_code=201,
    summary="Submit a structured part with PDFs, or a ready signed edXML",
)
def submit_document(
    request: Request,
    user: Operator,
    document: Annotated[str | None, Form(max_length=1_000_000)] = None,
    files: Annotated[list[UploadFile] | None, File()] = None,
    edxml: Annotated[UploadFile | None, File()] = None,
) -> SubmitResult:
    actions = request.app.state.actions
    node = request.app.state.node
    if (document is None) == (edxml is None):
        raise BadRequest("give either `document` (JSON, with optional PDF `files`) or `edxml`")
    if edxml is not None:
        from ..structured import read_stored

        data = _read(edxml, "the edXML file")
        msg = read_stored(data).message
        if not isinstance(msg, EdocMessage):
            raise FormatError("edxml: not an edXML document")
        sender = msg.sender
        if not user.sees(sender):
            raise Forbidden(f"you may not send as {sender}")
        if node is None:
            raise BadRequest("submitting a ready edXML needs the node (its routing rules)")
        res = actions.submit(
            user,
            sender,
            lambda: node.submit_signed(data, tenant=sender),
            {"edxml": True},
        )
        return _result(request, res)
    spec = _spec(document or "")
    if not user.sees(spec.sender):
        raise Forbidden(f"you may not send as {spec.sender}")
    from ...payloads import payload_from_dict

    payload = payload_from_dict(spec.kind, spec.payload)
    attachments: list[Attachment] = []
    for upload in (files or [])[: MAX_FILES + 1]:
        if len(attachments) >= MAX_FILES:
            raise BadRequest(f"at most {MAX_FILES} attachments")
        data = _read(upload, "an attachment")
        if not data.startswith(b"%PDF-"):
            raise FormatError(f"attachment {upload.filename or '?'} is not a PDF")
        name = (upload.filename or "tai-lieu.pdf").replace("/", "_")[:200]
        attachments.append(
            Attachment(
                content_id=str(uuid.uuid4()), name=name, content_type="application/pdf", data=data
            )
        )
    detail = {
        "kind": spec.kind,
        "recipients": spec.recipients,
        "attachments": [a.name for a in attachments],
    }
    if node is not None:
        res = actions.submit(
            user,
            spec.sender,
            lambda: node.submit_payload(
                spec.sender,
                payload,
                recipients=spec.recipients,
                document_id=spec.document_id,
                attachments=attachments,
            ),
            detail,
        )
    else:
        tid = actions._tenant_id(spec.sender)
        res = actions.submit(
            user,
            spec.sender,
            lambda: _fallback_submit(request, spec, payload, attachments, tid),
            detail,
        )
    return _result(request, res)


def _result(request: Request, res: Submitted) -> SubmitResult:
    with request.app.state.engine.connect() as conn:
        recipients = (
            conn.execute(
                select(deliveries.c.recipient)
                .where(deliveries.c.document_pk == res.document_pk)
                .order_by(deliveries.c.id)
            )
            .scalars()
            .all()
        )
    return SubmitResult(
        document_pk=res.document_pk, document_id=res.document_id, recipients=list(recipients)
    )
