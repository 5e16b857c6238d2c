"""Typed model of an edXML (QCVN 102:2016) document message and status message.

Frozen dataclasses: a value read off the wire cannot be changed by accident after it was
verified. Sequences are tuples for the same reason (and so that models compare by value,
which the round-trip property tests rely on). Optional wire elements are ``None`` when
absent; an element present but empty reads as ``""`` for text fields.

Field names follow the wire names in snake_case (``Bussiness`` keeps its double s).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum

EDXML_NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
DSIG_NS = "http://www.w3.org/2000/09/xmldsig#"
XLINK_NS = "http://www.w3.org/1999/xlink"

WIRE_DATE = "%Y/%m/%d"
WIRE_TIMESTAMP = "%Y/%m/%d %H:%M:%S"


class MessageKind(StrEnum):
    EDOC = "edoc"
    STATUS = "status"


class StatusCode(StrEnum):
    """Every status code of QCVN 102 (EDXML.md); no other code exists."""

    ARRIVED = "01"
    REFUSED = "02"
    ACCEPTED = "03"
    ASSIGNED = "04"
    IN_PROGRESS = "05"
    COMPLETED = "06"
    RECALL_REQUESTED = "13"
    CHANGE_ACCEPTED = "15"
    CHANGE_REFUSED = "16"

    @property
    def sent_by_sender(self) -> bool:
        return self is StatusCode.RECALL_REQUESTED

    @property
    def label(self) -> str:
        return _STATUS_LABELS[self]


_STATUS_LABELS = {
    StatusCode.ARRIVED: "arrived",
    StatusCode.REFUSED: "refused",
    StatusCode.ACCEPTED: "accepted",
    StatusCode.ASSIGNED: "assigned",
    StatusCode.IN_PROGRESS: "in progress",
    StatusCode.COMPLETED: "completed",
    StatusCode.RECALL_REQUESTED: "recall requested",
    StatusCode.CHANGE_ACCEPTED: "change accepted",
    StatusCode.CHANGE_REFUSED: "change refused",
}


class BussinessDocType(IntEnum):
    """TraceHeaderList/Bussiness/BussinessDocType."""

    NEW = 0
    REVOKE = 1
    UPDATE = 2
    REPLACE = 3


@dataclass(frozen=True, slots=True)
class Organ:
    """From or To: an agency and its contact details."""

    organ_id: str
    organization_in_charge: str | None = None
    organ_name: str | None = None
    organ_add: str | None = None
    email: str | None = None
    telephone: str | None = None
    fax: str | None = None
    website: str | None = None


@dataclass(frozen=True, slots=True)
class DocumentCode:
    number: str
    notation: str

    def __str__(self) -> str:
        return f"{self.number}/{self.notation}"


@dataclass(frozen=True, slots=True)
class PromulgationInfo:
    place: str | None = None
    date: dt.date | None = None


@dataclass(frozen=True, slots=True)
class DocumentType:
    type: int | None = None
    type_detail: int | None = None
    type_name: str | None = None


@dataclass(frozen=True, slots=True)
class SignerInfo:
    competence: str | None = None
    position: str | None = None
    full_name: str | None = None


@dataclass(frozen=True, slots=True)
class OtherInfo:
    priority: int | None = None
    sphere_of_promulgation: str | None = None
    typer_notation: str | None = None
    promulgation_amount: int | None = None
    page_amount: int | None = None
    direction: bool | None = None
    appendixes: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class ResponseFor:
    """This document (or status) answers another one."""

    organ_id: str
    code: str | None = None
    promulgation_date: dt.date | None = None
    document_id: str | None = None


@dataclass(frozen=True, slots=True)
class StaffInfo:
    department: str | None = None
    staff: str | None = None
    email: str | None = None
    mobile: str | None = None


@dataclass(frozen=True, slots=True)
class TraceHeader:
    """One hop. ``timestamp`` is the wall-clock time as written (no zone on the wire)."""

    organ_id: str | None = None
    timestamp: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class Receiver:
    organ_id: str
    receiver_type: int | None = None


@dataclass(frozen=True, slots=True)
class BussinessDocumentInfo:
    """Carried by update documents (type 2). Flag meanings are unverified: kept as data."""

    document_info: str | None = None
    document_receiver: str | None = None
    receivers: tuple[Receiver, ...] = ()


@dataclass(frozen=True, slots=True)
class ReplacementInfo:
    document_id: str
    organ_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Bussiness:
    doc_type: BussinessDocType = BussinessDocType.NEW
    document_id: str | None = None
    reason: str | None = None
    paper: int | None = None
    staff_info: StaffInfo | None = None
    document_info: BussinessDocumentInfo | None = None
    replacements: tuple[ReplacementInfo, ...] | None = None


@dataclass(frozen=True, slots=True)
class MessageHeader:
    """MessageHeader of a document message, in the writer's element order."""

    from_: Organ
    to: tuple[Organ, ...]
    document_id: str
    code: DocumentCode
    subject: str
    promulgation_info: PromulgationInfo = field(default_factory=PromulgationInfo)
    document_type: DocumentType = field(default_factory=DocumentType)
    content: str | None = None
    signer_info: SignerInfo | None = None
    due_date: dt.date | None = None
    other_info: OtherInfo | None = None
    response_for: tuple[ResponseFor, ...] = ()
    steering_type: int | None = None
    to_places: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class Attachment:
    """One attachment. ``content_id`` is stored without the ``cid:`` prefix."""

    content_id: str
    name: str
    content_type: str
    data: bytes
    description: str | None = None

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass(frozen=True, slots=True)
class EdocMessage:
    """A document message (messagetype ``edoc``)."""

    header: MessageHeader
    trace_headers: tuple[TraceHeader, ...] = ()
    bussiness: Bussiness | None = None
    attachments: tuple[Attachment, ...] = ()

    kind = MessageKind.EDOC

    @property
    def document_id(self) -> str:
        return self.header.document_id

    @property
    def sender(self) -> str:
        return self.header.from_.organ_id

    @property
    def recipients(self) -> tuple[str, ...]:
        return tuple(o.organ_id for o in self.header.to)


@dataclass(frozen=True, slots=True)
class StatusMessage:
    """A status message (messagetype ``status``): a recipient's answer, or a sender's recall."""

    from_: Organ
    response_for: ResponseFor
    status_code: StatusCode
    description: str | None = None
    timestamp: dt.datetime | None = None
    staff_info: StaffInfo | None = None

    kind = MessageKind.STATUS

    @property
    def document_id(self) -> str | None:
        return self.response_for.document_id

    @property
    def sender(self) -> str:
        return self.from_.organ_id


Message = EdocMessage | StatusMessage
