"""Our structured parts (inspection conclusion, periodic report, directive, follow-up report):
pydantic models, XML in ``urn:interchange:inspection:1`` checked by our XSDs, header hints for
packaging, and the reporting calendars periodic reports follow."""

from __future__ import annotations

from .calendar import Calendar, Period, load_calendar
from .header import (
    PAYLOAD_CONTENT_TYPE,
    HeaderHints,
    find_payload_attachment,
    header_hints,
    missing_evidence,
    payload_from_attachments,
)
from .io import load_payload, payload_from_dict
from .model import (
    Conclusion,
    Directive,
    FollowUpReport,
    Payload,
    PayloadKind,
    PeriodicReport,
    ReportPeriod,
)
from .types import InspectionField, InspectionKind, PeriodKind, ReportKind
from .xml import NS, payload_from_xml, payload_to_xml, validate_payload

__all__ = [
    "NS",
    "PAYLOAD_CONTENT_TYPE",
    "Calendar",
    "Conclusion",
    "Directive",
    "FollowUpReport",
    "HeaderHints",
    "InspectionField",
    "InspectionKind",
    "Payload",
    "PayloadKind",
    "Period",
    "PeriodKind",
    "PeriodicReport",
    "ReportKind",
    "ReportPeriod",
    "find_payload_attachment",
    "header_hints",
    "load_calendar",
    "load_payload",
    "missing_evidence",
    "payload_from_attachments",
    "payload_from_dict",
    "payload_from_xml",
    "payload_to_xml",
    "validate_payload",
]
