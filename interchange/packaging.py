"""Turn a structured part into a signed edXML document (and status messages into signed bytes).

This is the one place where the format pieces meet: payload → header hints → edXML model →
XML tree → schema check → enveloped signature → bytes. Delivery and the faces call this;
they never assemble edXML themselves.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from .edxml.build import build_edoc, build_status
from .edxml.model import (
    Attachment,
    Bussiness,
    BussinessDocType,
    DocumentCode,
    DocumentType,
    EdocMessage,
    MessageHeader,
    Organ,
    PromulgationInfo,
    ResponseFor,
    StaffInfo,
    StatusCode,
    StatusMessage,
    TraceHeader,
)
from .edxml.validate import validate_envelope
from .errors import FormatError
from .payloads import PAYLOAD_CONTENT_TYPE, Payload, header_hints, payload_to_xml
from .signing import SigningKey, sign_tree

if TYPE_CHECKING:
    from .organs import Directory

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")


@dataclass(frozen=True, slots=True)
class Packaged:
    """A signed document ready to send: its id, the exact bytes, and the model they encode."""

    document_id: str
    data: bytes
    message: EdocMessage


def vietnam_now() -> dt.datetime:
    """Wall-clock time in Vietnam, naive, as edXML timestamps are written."""
    return dt.datetime.now(VIETNAM).replace(tzinfo=None, microsecond=0)


def organ(code: str, directory: Directory | None) -> Organ:
    if directory is not None and code in directory:
        return directory.to_organ(code)
    return Organ(organ_id=code)


def conventional_document_id(sender: str, day: dt.date, code: DocumentCode) -> str:
    """``{sender},{yyyy/MM/dd},{number}/{notation}``: the form EDXML.md describes."""
    return f"{sender},{day:%Y/%m/%d},{code.number}/{code.notation}"


def package_document(
    *,
    payload: Payload,
    sender: str,
    recipients: Sequence[str],
    key: SigningKey,
    directory: Directory | None = None,
    attachments: Sequence[Attachment] = (),
    bussiness: Bussiness | None = None,
    document_id: str | None = None,
    now: dt.datetime | None = None,
) -> Packaged:
    """Package ``payload`` from ``sender`` to ``recipients``, sign it with ``key``.

    The structured part travels as an ``application/xml`` attachment beside any PDFs, so a
    receiver that does not know our schema still gets a normal document.
    """
    if not recipients:
        raise FormatError("a document needs at least one recipient")
    seen: set[str] = set()
    for recipient in recipients:
        if recipient in seen:
            raise FormatError(f"recipient {recipient} is listed twice")
        seen.add(recipient)
    if sender in seen:
        raise FormatError(f"the sender {sender} cannot also be a recipient")

    now = now or vietnam_now()
    hints = header_hints(payload)
    code = DocumentCode(number=hints.code_number, notation=hints.code_notation)
    day = hints.promulgation_date or now.date()
    doc_id = document_id or conventional_document_id(sender, day, code)
    structured = Attachment(
        content_id=str(uuid.uuid4()),
        name=hints.attachment_name,
        content_type=PAYLOAD_CONTENT_TYPE,
        data=payload_to_xml(payload),
        description=hints.attachment_description,
    )
    header = MessageHeader(
        from_=organ(sender, directory),
        to=tuple(organ(c, directory) for c in recipients),
        document_id=doc_id,
        code=code,
        subject=hints.subject,
        promulgation_info=PromulgationInfo(place=hints.place, date=day),
        document_type=DocumentType(
            type=hints.type, type_detail=hints.type_detail, type_name=hints.type_name
        ),
        due_date=hints.due_date,
        response_for=(hints.response_for,) if hints.response_for else (),
    )
    message = EdocMessage(
        header=header,
        trace_headers=(TraceHeader(organ_id=sender, timestamp=now),),
        bussiness=bussiness
        or Bussiness(doc_type=BussinessDocType.NEW, document_id=doc_id, paper=0),
        attachments=(structured, *attachments),
    )
    return Packaged(document_id=doc_id, data=sign_message(message, key), message=message)


def sign_message(message: EdocMessage | StatusMessage, key: SigningKey) -> bytes:
    """Build, check against our XSD, sign: what we send always validates."""
    root = build_edoc(message) if isinstance(message, EdocMessage) else build_status(message)
    validate_envelope(root)
    return sign_tree(root, key)


def package_status(
    *,
    sender: str,
    response_for: ResponseFor,
    code: StatusCode,
    key: SigningKey,
    description: str | None = None,
    staff: StaffInfo | None = None,
    directory: Directory | None = None,
    now: dt.datetime | None = None,
) -> bytes:
    """A signed status message from ``sender`` about the document ``response_for`` names."""
    if code is StatusCode.REFUSED and not (description and description.strip()):
        raise FormatError("a refusal (02) needs a reason")
    if code is StatusCode.RECALL_REQUESTED and not (description and description.strip()):
        raise FormatError("a recall request (13) needs a reason")
    message = StatusMessage(
        from_=organ(sender, directory),
        response_for=response_for,
        status_code=code,
        description=description,
        timestamp=now or vietnam_now(),
        staff_info=staff,
    )
    return sign_message(message, key)


def response_for(message: EdocMessage) -> ResponseFor:
    """The ResponseFor block that answers ``message``."""
    header = message.header
    return ResponseFor(
        organ_id=header.from_.organ_id,
        code=str(header.code),
        promulgation_date=header.promulgation_info.date,
        document_id=header.document_id,
    )
