"""Response and request bodies of the operator API (what OpenAPI publishes).

Why strict models: schemathesis checks every answer against these, and an operator script
must be able to rely on the shape; extra fields are refused on input.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field


def _utc(value: dt.datetime) -> dt.datetime:
    """Stored times are naive UTC; the API says so (RFC 3339 needs the offset)."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


UtcDateTime = Annotated[dt.datetime, AfterValidator(_utc)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class ErrorOut(BaseModel):
    detail: str
    code: str


class Health(BaseModel):
    status: Literal["ok"]


class Check(BaseModel):
    """One readiness check; ``detail`` and ``value`` only for a caller with a token."""

    name: str
    ok: bool
    detail: str | None = None
    value: float | None = None


class Readiness(BaseModel):
    ready: bool
    checks: list[Check]


class Me(BaseModel):
    name: str
    role: str
    tenants: list[str]


class TimelineEvent(BaseModel):
    at: UtcDateTime
    event: str
    from_state: str | None = None
    to_state: str | None = None
    status_code: str | None = None
    hop: str | None = None
    detail: str | None = None


class StatusOut(BaseModel):
    received_at: UtcDateTime
    status_code: str | None
    description: str | None
    sender: str | None
    outcome: str


class DeliveryOut(BaseModel):
    id: int
    recipient: str
    recipient_name: str | None = None
    state: str
    attempts: int
    last_error: str | None
    reason: str | None
    substituted_from: str | None
    created_at: UtcDateTime
    updated_at: UtcDateTime
    sent_at: UtcDateTime | None
    dead_lettered_at: UtcDateTime | None
    next_attempt_at: UtcDateTime | None
    answered: bool
    overdue: bool
    timeline: list[TimelineEvent] = []
    statuses: list[StatusOut] = []


class DocumentSummary(BaseModel):
    id: int
    document_id: str | None
    tenant: str
    kind: str
    subject: str | None
    code: str | None
    created_at: UtcDateTime
    due_date: dt.date | None
    recipients: int
    states: dict[str, int]
    overdue: int
    not_answered: int


class DocumentPage(BaseModel):
    items: list[DocumentSummary]
    next_cursor: str | None


class CertificateInfo(BaseModel):
    subject: str
    issuer: str
    serial: str
    not_before: UtcDateTime
    not_after: UtcDateTime
    days_left: int
    sha256: str


class SignatureReport(BaseModel):
    signed: bool
    valid: bool | None = None  # None: not re-verified here (we signed it)
    signature_method: str | None = None
    digest_method: str | None = None
    certificate: CertificateInfo | None = None
    error: str | None = None


class Hop(BaseModel):
    organ_id: str | None
    timestamp: UtcDateTime | None


class DocumentDetail(DocumentSummary):
    sender: str | None
    sha256: str
    size: int
    bussiness_type: int
    original_document_id: str | None
    deliveries: list[DeliveryOut]
    events: list[TimelineEvent]
    hops: list[Hop]
    signature: SignatureReport


class InboxSummary(BaseModel):
    id: int
    document_pk: int
    tenant: str
    sender: str | None
    document_id: str | None
    kind: str
    subject: str | None
    code: str | None
    due_date: dt.date | None
    state: str
    valid: bool
    error_code: str | None
    reason: str | None
    assigned_to: str | None
    received_at: UtcDateTime
    decided_at: UtcDateTime | None


class InboxPage(BaseModel):
    items: list[InboxSummary]
    next_cursor: str | None


class AttachmentInfo(BaseModel):
    content_id: str
    name: str
    content_type: str
    size: int
    url: str


class InboxDetail(InboxSummary):
    sha256: str
    size: int
    verification: dict[str, Any] | None
    structured: dict[str, Any] | None
    attachments: list[AttachmentInfo]
    timeline: list[TimelineEvent]
    hops: list[Hop]
    signature: SignatureReport
    answers: list[AnswerOut]


class ActionResult(BaseModel):
    action: str
    target: str
    state: str | None
    detail: str


class ReasonBody(_In):
    reason: str = Field(min_length=1, max_length=2000, pattern=r"\S")


class AssignBody(_In):
    to: str = Field(min_length=1, max_length=255, pattern=r"\S")
    note: str | None = Field(default=None, max_length=2000)


class RecallAnswerBody(_In):
    agree: bool
    reason: str | None = Field(default=None, max_length=2000)


class UserIn(_In):
    name: str = Field(min_length=1, max_length=128, pattern=r"\S")
    role: Literal["viewer", "operator", "admin"]
    tenants: list[str] = Field(min_length=1, max_length=1000)


class UserOut(BaseModel):
    name: str
    role: str
    tenants: list[str]
    created_at: UtcDateTime
    revoked_at: UtcDateTime | None


class UserCreated(UserOut):
    token: str  # shown once


class AuditOut(BaseModel):
    seq: int
    at: UtcDateTime
    actor: str
    action: str
    target: str
    tenant: str | None
    result: str
    detail: dict[str, Any]


class AuditVerifyOut(BaseModel):
    ok: bool
    count: int
    broken_seq: int | None
    reason: str | None
    unfinished: list[int] = Field(
        default=[], description="started actions with no recorded outcome (a crash mid-way)"
    )


class TenantOverview(BaseModel):
    tenant: str
    name: str | None
    states: dict[str, int]
    overdue: int
    dead: int
    oldest_undelivered: UtcDateTime | None
    inbox: dict[str, int]


class Overview(BaseModel):
    tenants: list[TenantOverview]
    states: dict[str, int]
    overdue: int
    dead: int
    oldest_undelivered: UtcDateTime | None


class AgencyOut(BaseModel):
    code: str
    name: str
    parent: str | None
    kind: str | None
    successor: str | None = None


class SubmitResult(BaseModel):
    document_pk: int
    document_id: str
    recipients: list[str]


class AnswerOut(BaseModel):
    """A status message this node queued in answer to a received document."""

    status_code: str
    description: str | None
    created_at: UtcDateTime
    state: str
    sent_at: UtcDateTime | None
