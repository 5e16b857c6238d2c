"""What a structured part tells the packager about the edXML header, and how a receiver
finds the part again among a message's attachments.

The packager owns the header (From, To, DocumentId, signer...); a part only suggests the
fields it knows: subject, code, document type, dates, ResponseFor and the attachment's name.
``DocumentType/Type`` values are as seen in the samples (1 with ``Công văn``, 2 with
``Báo cáo``); their meaning is unverified (EDXML.md), so they are a suggestion only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from lxml import etree

from ..edxml.model import Attachment, ResponseFor
from ..errors import FormatError
from ..safexml import parse_bytes
from .model import Conclusion, Directive, FollowUpReport, Payload, PayloadKind, PeriodicReport
from .types import DirectiveForm, PeriodKind
from .xml import NS_PREFIX, identify_payload, is_xml_content_type, payload_from_element

PAYLOAD_CONTENT_TYPE = "application/xml"

ATTACHMENT_NAMES = {
    PayloadKind.CONCLUSION: "ket-luan-thanh-tra.xml",
    PayloadKind.REPORT: "bao-cao-dinh-ky.xml",
    PayloadKind.DIRECTIVE: "van-ban-chi-dao.xml",
    PayloadKind.FOLLOWUP: "bao-cao-thuc-hien-ket-luan.xml",
}

ATTACHMENT_DESCRIPTIONS = {
    PayloadKind.CONCLUSION: "Dữ liệu có cấu trúc: kết luận thanh tra",
    PayloadKind.REPORT: "Dữ liệu có cấu trúc: báo cáo định kỳ",
    PayloadKind.DIRECTIVE: "Dữ liệu có cấu trúc: văn bản chỉ đạo",
    PayloadKind.FOLLOWUP: "Dữ liệu có cấu trúc: báo cáo thực hiện kết luận thanh tra",
}


@dataclass(frozen=True, slots=True)
class HeaderHints:
    """Header fields a structured part suggests to the packager."""

    kind: PayloadKind
    subject: str
    code_number: str
    code_notation: str
    type_name: str
    type: int
    type_detail: int
    promulgation_date: dt.date
    place: str | None
    due_date: dt.date | None
    response_for: ResponseFor | None
    attachment_name: str
    attachment_description: str
    content_type: str = PAYLOAD_CONTENT_TYPE


_ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}


def period_label_vi(kind: PeriodKind, year: int, index: int) -> str:
    """``quý I năm 2024``, ``tháng 3 năm 2024``, ``6 tháng đầu năm 2024``..."""
    if kind is PeriodKind.MONTH:
        return f"tháng {index} năm {year}"
    if kind is PeriodKind.QUARTER:
        return f"quý {_ROMAN.get(index, str(index))} năm {year}"
    if kind is PeriodKind.HALF_YEAR:
        return f"6 tháng {'đầu' if index == 1 else 'cuối'} năm {year}"
    if kind is PeriodKind.NINE_MONTHS:
        return f"9 tháng năm {year}"
    return f"năm {year}"


def header_hints(p: Payload) -> HeaderHints:
    """Subject, code, type, dates and ResponseFor for the edXML header of ``p``."""
    kind = type(p).kind
    due: dt.date | None = None
    response_for: ResponseFor | None = None
    type_, detail = 1, 0
    if isinstance(p, Conclusion):
        type_name = "Kết luận"
        subject = p.subject or (
            f"Kết luận thanh tra về {p.field.label_vi} đối với {p.inspected_party.name}"
        )
    elif isinstance(p, PeriodicReport):
        type_name, type_, detail = "Báo cáo", 2, 1
        period = period_label_vi(p.period.kind, p.period.year, p.period.index)
        subject = f"Báo cáo {p.report_kind.label_vi} {period}"
    elif isinstance(p, Directive):
        type_name = "Chỉ thị" if p.form is DirectiveForm.DIRECTIVE else "Công văn"
        subject = p.subject
        due = p.response_due
    elif isinstance(p, FollowUpReport):
        type_name, type_, detail = "Báo cáo", 2, 1
        subject = p.subject or (
            f"Báo cáo kết quả thực hiện Kết luận thanh tra số {p.conclusion.code}"
        )
        response_for = ResponseFor(
            organ_id=p.conclusion.issuer.code,
            code=p.conclusion.code,
            promulgation_date=p.conclusion.date,
            document_id=p.conclusion.document_id,
        )
    else:  # pragma: no cover - the union is closed
        raise TypeError(f"not a payload: {type(p).__name__}")
    return HeaderHints(
        kind=kind,
        subject=subject,
        code_number=p.number,
        code_notation=p.notation,
        type_name=type_name,
        type=type_,
        type_detail=detail,
        promulgation_date=p.date,
        place=p.place,
        due_date=due,
        response_for=response_for,
        attachment_name=ATTACHMENT_NAMES[kind],
        attachment_description=ATTACHMENT_DESCRIPTIONS[kind],
    )


def _find(attachments: Iterable[Attachment]) -> tuple[Attachment, etree._Element] | None:
    marker = NS_PREFIX.encode()
    for att in attachments:
        if not is_xml_content_type(att.content_type) or marker not in att.data:
            continue
        try:
            root = parse_bytes(att.data, remove_comments=True).getroot()
        except FormatError:
            continue
        if identify_payload(root) is not None:
            return att, root
    return None


def find_payload_attachment(attachments: Iterable[Attachment]) -> Attachment | None:
    """The first attachment that is one of our structured parts (XML content type and a root
    element in our namespace, this version), or ``None``. A part of a version we do not know
    is not ours to read: the document stays a normal document. Not validated here."""
    found = _find(attachments)
    return found[0] if found else None


def payload_from_attachments(attachments: Iterable[Attachment]) -> Payload | None:
    """Find and read our structured part in one parse; ``None`` if there is none.
    Raises ``SchemaError``/``PayloadError`` if the part is there but invalid."""
    found = _find(attachments)
    return payload_from_element(found[1]) if found else None


def missing_evidence(p: Payload, attachment_names: Iterable[str]) -> tuple[str, ...]:
    """Evidence files a follow-up names that are not among the message's attachments."""
    if not isinstance(p, FollowUpReport):
        return ()
    have = set(attachment_names)
    wanted = (r.evidence_attachment for r in p.remedies if r.evidence_attachment)
    return tuple(dict.fromkeys(n for n in wanted if n not in have))
