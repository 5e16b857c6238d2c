"""Constrained scalar types shared by the four structured parts.

Why our own types instead of pydantic's lax defaults: a fine of ``1.5`` VND or ``"100"`` must be
refused, not coerced; a date must be a calendar day (not a datetime, not a Unix timestamp); and
every text must survive the trip through XML 1.0, so characters XML cannot carry are refused
at the model, before anything is packaged.
"""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, Strict, StringConstraints

# Characters outside XML 1.0's Char production (controls except TAB/LF/CR, surrogates,
# U+FFFE/U+FFFF). They cannot be written to an XML attachment, so no model may hold them.
_NOT_XML_CHAR = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

VND_MAX = 2**63 - 1  # xs:long: what any database column and the XSD can hold


def _xml_text(value: str) -> str:
    if _NOT_XML_CHAR.search(value):
        raise ValueError("text contains a character that XML cannot carry")
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("text is blank")
    return value


def _iso_date(value: Any) -> Any:
    # datetime is a subclass of date: a timestamp is not a day.
    if isinstance(value, dt.datetime):
        raise ValueError("expected a date (YYYY-MM-DD), got a date and time")
    if isinstance(value, str):
        if not _ISO_DATE.fullmatch(value):
            raise ValueError("expected a date as YYYY-MM-DD")
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"not a calendar day: {value}") from None
    return value


#: Free text (may span lines), not blank, XML-safe.
Text = Annotated[
    str,
    Strict(),
    StringConstraints(min_length=1),
    AfterValidator(_xml_text),
    AfterValidator(_not_blank),
]
#: Short label (names, numbers, notations): one line, no surrounding blanks.
Label = Annotated[
    str,
    Strict(),
    StringConstraints(min_length=1, max_length=500, pattern=r"^\S(?:[^\r\n]*\S)?$"),
    AfterValidator(_xml_text),
]
#: Agency code as the directory writes it (``000.00.13.H53``); legacy forms stay opaque ids.
AgencyCode = Annotated[
    str,
    Strict(),
    StringConstraints(pattern=r"^[0-9A-Za-z]+(?:\.[0-9A-Za-z]+){0,7}$", max_length=64),
]
#: Vietnamese tax code: 10 digits, or 10 digits + ``-`` + 3 digits for a branch.
TaxCode = Annotated[str, Strict(), StringConstraints(pattern=r"^[0-9]{10}(?:-[0-9]{3})?$")]
#: A file name for an attachment: no path separators.
FileName = Annotated[
    str,
    Strict(),
    StringConstraints(min_length=1, max_length=255, pattern=r"^[^/\\\r\n\t]*[^/\\\s]$"),
    AfterValidator(_xml_text),
]
#: Amount in VND: whole đồng, never negative, never a float.
Vnd = Annotated[int, Strict(), Field(ge=0, le=VND_MAX)]
#: A count of things (inspections, cases, citizens).
Count = Annotated[int, Strict(), Field(ge=0, le=2**31 - 1)]
#: A calendar day, ISO ``YYYY-MM-DD`` in JSON/YAML.
Date = Annotated[dt.date, BeforeValidator(_iso_date), Strict()]
#: Calendar id (file stem), e.g. ``circular-01-2024``.
CalendarId = Annotated[str, Strict(), StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")]


class InspectionKind(StrEnum):
    """Planned (in the year's plan, ~65 %) or ad-hoc (on signs of violation, ~35 %)."""

    PLANNED = "planned"
    AD_HOC = "ad-hoc"


class InspectionField(StrEnum):
    """The focus fields of letter 4074, plus ``other``."""

    POSTAL_BANNED_GOODS = "postal-banned-goods"
    PRESS_OFFICES = "press-offices"
    NEWS_SITES_SOCIAL_NETWORKS = "news-sites-social-networks"
    JOINT_PRODUCTION = "joint-production"
    ADVERTISING = "advertising"
    SPAM = "spam"
    USER_INFORMATION = "user-information"
    OTHER = "other"

    @property
    def label_vi(self) -> str:
        return _FIELD_LABELS[self]


_FIELD_LABELS = {
    InspectionField.POSTAL_BANNED_GOODS: "hàng lậu, hàng cấm gửi qua mạng bưu chính",
    InspectionField.PRESS_OFFICES: "văn phòng đại diện, phóng viên thường trú của cơ quan báo chí",
    InspectionField.NEWS_SITES_SOCIAL_NETWORKS: "tạp chí, trang thông tin điện tử, mạng xã hội",
    InspectionField.JOINT_PRODUCTION: "liên kết sản xuất phát thanh, truyền hình, xuất bản",
    InspectionField.ADVERTISING: "quảng cáo",
    InspectionField.SPAM: "cuộc gọi rác, tin nhắn rác, SIM rác",
    InspectionField.USER_INFORMATION: "bảo vệ thông tin người dùng mạng xã hội",
    InspectionField.OTHER: "thông tin và truyền thông",
}


class ReportKind(StrEnum):
    """What a periodic report is about."""

    INSPECTION = "inspection"
    CITIZEN_COMPLAINTS = "citizen-complaints"  # tiếp công dân, khiếu nại, tố cáo
    ANTI_CORRUPTION = "anti-corruption"

    @property
    def label_vi(self) -> str:
        return _REPORT_LABELS[self]


_REPORT_LABELS = {
    ReportKind.INSPECTION: "công tác thanh tra",
    ReportKind.CITIZEN_COMPLAINTS: "công tác tiếp công dân, giải quyết khiếu nại, tố cáo",
    ReportKind.ANTI_CORRUPTION: "công tác phòng, chống tham nhũng",
}


class PeriodKind(StrEnum):
    MONTH = "month"
    QUARTER = "quarter"
    HALF_YEAR = "6-month"
    NINE_MONTHS = "9-month"
    YEAR = "year"

    @property
    def max_index(self) -> int:
        """How many periods of this kind a year has (6- and 9-month reports are cumulative)."""
        return {"month": 12, "quarter": 4, "6-month": 2, "9-month": 1, "year": 1}[self.value]


class DirectiveForm(StrEnum):
    """The edXML TypeName a directive travels under."""

    OFFICIAL_LETTER = "official-letter"  # Công văn (letter 4074 is one)
    DIRECTIVE = "directive"  # Chỉ thị


class TargetLevel(StrEnum):
    """Which subordinate units of an agency a directive is for (resolved by the directory)."""

    DEPARTMENTS = "departments"
    DISTRICTS = "districts"
    COMMUNES = "communes"
    ALL = "all"
