"""The four structured parts as pydantic models: conclusion, periodic report, directive, follow-up.

Frozen and ``extra="forbid"``: a typo in an input file is an error, not a silently dropped
field. Sequences are tuples so that models compare and hash by value (round-trip tests rely on
it). Field order is the XML element order (``xml.py`` maps fields to elements generically), so
reordering fields here means changing the XSD in ``schemas/payloads/v1/``.

Cross-field rules live in ``model_validator``s and raise ``ValueError`` so that the HTTP API
gets ordinary 422 errors; ``io.load_payload`` turns them into one-line ``PayloadError``s.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator

from .types import (
    AgencyCode,
    CalendarId,
    Count,
    Date,
    DirectiveForm,
    FileName,
    InspectionField,
    InspectionKind,
    Label,
    PeriodKind,
    ReportKind,
    TargetLevel,
    TaxCode,
    Text,
    Vnd,
)

SCHEMA_VERSION = "1"


class PayloadKind(StrEnum):
    CONCLUSION = "conclusion"
    REPORT = "report"
    DIRECTIVE = "directive"
    FOLLOWUP = "followup"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_enum_values=False)


class Agency(_Model):
    """An agency on the axis: its directory code and its name."""

    code: AgencyCode
    name: Label


class DocumentRef(_Model):
    """Number, notation and date of a document (e.g. the inspection decision closed)."""

    number: Label
    notation: Label
    date: Date


class InspectedParty(_Model):
    name: Label
    tax_code: TaxCode | None = None
    address: Label | None = None


class Violation(_Model):
    """One violation. ``number`` numbers it within the conclusion; follow-ups refer to it."""

    number: Annotated[int, Field(strict=True, ge=1, le=9999)]
    description: Text
    legal_basis: Text
    fine_vnd: Vnd = 0
    remedy: Text | None = None
    remedy_deadline: Date | None = None


class _Document(_Model):
    """Number, notation, date, place: the edXML Code and PromulgationInfo of every part."""

    number: Label
    notation: Label
    date: Date
    place: Label | None = None

    kind: ClassVar[PayloadKind]

    @property
    def code(self) -> str:
        return f"{self.number}/{self.notation}"


class Conclusion(_Document):
    """Kết luận thanh tra: sent in full to the Ministry Inspectorate on issue."""

    kind: ClassVar[PayloadKind] = PayloadKind.CONCLUSION

    issuer: Agency
    subject: Label | None = None
    decision: DocumentRef
    inspection_kind: InspectionKind
    field: InspectionField
    inspected_party: InspectedParty
    findings: Annotated[tuple[Text, ...], Field(min_length=1)]
    violations: tuple[Violation, ...] = ()
    referred_to_police: StrictBool = False
    warning_count: Count = 0

    @model_validator(mode="after")
    def _consistent(self) -> Conclusion:
        if self.decision.date > self.date:
            raise ValueError("decision.date: the inspection decision is dated after its conclusion")
        seen: set[int] = set()
        for i, v in enumerate(self.violations):
            if v.number in seen:
                raise ValueError(f"violations.{i}.number: violation {v.number} is listed twice")
            seen.add(v.number)
            if v.remedy_deadline is not None and v.remedy_deadline <= self.date:
                raise ValueError(
                    f"violations.{i}.remedy_deadline: {v.remedy_deadline} is not after "
                    f"the conclusion date {self.date}"
                )
        return self

    @property
    def total_fine_vnd(self) -> int:
        return sum(v.fine_vnd for v in self.violations)


class ReportPeriod(_Model):
    """A reporting period: kind, reporting year and index, and its exact first and last day.

    ``year`` is the year the period is reported for, not necessarily the year of ``first``:
    under circular 01/2024 Q1 2024 starts on 2023-12-15.
    """

    kind: PeriodKind
    year: Annotated[int, Field(strict=True, ge=1990, le=2200)]
    index: Annotated[int, Field(strict=True, ge=1, le=12)] = 1
    first: Date
    last: Date

    @model_validator(mode="after")
    def _consistent(self) -> ReportPeriod:
        if self.index > self.kind.max_index:
            raise ValueError(
                f"index: a year has no {self.kind.value} period number {self.index} "
                f"(1..{self.kind.max_index})"
            )
        if self.last < self.first:
            raise ValueError(f"last: {self.last} is before first {self.first}")
        return self


class InspectionFigures(_Model):
    """Figures of an inspection report. ``planned``/``ad_hoc`` count inspections in hand in the
    period (carried over + new), so ``finished`` cannot exceed their sum."""

    inspections_planned: Count
    inspections_ad_hoc: Count
    inspections_finished: Count
    conclusions_issued: Count
    violations: Count
    sanction_decisions: Count
    fines_imposed_vnd: Vnd
    fines_collected_vnd: Vnd

    @model_validator(mode="after")
    def _consistent(self) -> InspectionFigures:
        if self.inspections_finished > self.inspections_planned + self.inspections_ad_hoc:
            raise ValueError(
                "inspections_finished: more inspections finished than planned + ad-hoc"
            )
        if self.fines_collected_vnd > self.fines_imposed_vnd:
            raise ValueError("fines_collected_vnd: more collected than imposed")
        return self


class CitizenFigures(_Model):
    """Citizen reception, complaints and denunciations (received = in hand in the period)."""

    citizens_received: Count
    complaints_received: Count
    complaints_resolved: Count
    denunciations_received: Count
    denunciations_resolved: Count

    @model_validator(mode="after")
    def _consistent(self) -> CitizenFigures:
        if self.complaints_resolved > self.complaints_received:
            raise ValueError("complaints_resolved: more resolved than received")
        if self.denunciations_resolved > self.denunciations_received:
            raise ValueError("denunciations_resolved: more resolved than received")
        return self


class AntiCorruptionFigures(_Model):
    cases_found: Count
    cases_referred: Count

    @model_validator(mode="after")
    def _consistent(self) -> AntiCorruptionFigures:
        if self.cases_referred > self.cases_found:
            raise ValueError("cases_referred: more cases referred than found")
        return self


_FIGURES_FOR = {
    ReportKind.INSPECTION: "inspection",
    ReportKind.CITIZEN_COMPLAINTS: "citizen",
    ReportKind.ANTI_CORRUPTION: "anti_corruption",
}


class PeriodicReport(_Document):
    """Báo cáo định kỳ. Carries the figures group of its kind only (none where the calendar
    asks for a narrative only, e.g. Q1 under circular 01/2024), and the calendar it follows."""

    kind: ClassVar[PayloadKind] = PayloadKind.REPORT

    report_kind: ReportKind
    calendar: CalendarId
    period: ReportPeriod
    reporting_agency: Agency
    inspection: InspectionFigures | None = None
    citizen: CitizenFigures | None = None
    anti_corruption: AntiCorruptionFigures | None = None
    narrative: Text

    @model_validator(mode="after")
    def _consistent(self) -> PeriodicReport:
        from .calendar import narrative_only, period_mismatch  # calendar imports this module

        problem = period_mismatch(self.calendar, self.report_kind, self.period)
        if problem:
            raise ValueError(problem)
        wanted = _FIGURES_FOR[self.report_kind]
        for name in _FIGURES_FOR.values():
            present = getattr(self, name) is not None
            if name == wanted and not present and not narrative_only(self.calendar, self.period):
                raise ValueError(f"{name}: a {self.report_kind.value} report needs these figures")
            if name != wanted and present:
                raise ValueError(f"{name}: not allowed in a {self.report_kind.value} report")
        if self.date < self.period.first:
            raise ValueError(f"date: the report is dated before its period ({self.period.first})")
        return self


class Target(_Model):
    """A group of units named by the hierarchy: e.g. the districts of province ``000.00.00.H53``."""

    level: TargetLevel
    of: AgencyCode


class Directive(_Document):
    """Văn bản chỉ đạo: subject, required actions, response due date, the units it is for."""

    kind: ClassVar[PayloadKind] = PayloadKind.DIRECTIVE

    issuer: Agency
    form: DirectiveForm = DirectiveForm.OFFICIAL_LETTER
    subject: Label
    actions: Annotated[tuple[Text, ...], Field(min_length=1)]
    response_due: Date | None = None
    recipients: tuple[AgencyCode, ...] = ()
    targets: tuple[Target, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> Directive:
        if not self.recipients and not self.targets:
            raise ValueError("recipients: a directive needs recipients or targets")
        if len(set(self.recipients)) != len(self.recipients):
            raise ValueError("recipients: an agency is listed twice")
        if self.response_due is not None and self.response_due < self.date:
            raise ValueError(f"response_due: {self.response_due} is before the directive date")
        return self


class ConclusionRef(_Model):
    """The conclusion a follow-up answers (edXML ResponseFor)."""

    document_id: Label
    number: Label
    notation: Label
    date: Date
    issuer: Agency

    @property
    def code(self) -> str:
        return f"{self.number}/{self.notation}"


class Remedy(_Model):
    """What was done about one violation (``violation`` = its ``number`` in the conclusion)."""

    violation: Annotated[int, Field(strict=True, ge=1, le=9999)]
    done: StrictBool
    done_date: Date | None = None
    evidence: Text | None = None
    evidence_attachment: FileName | None = None


class FollowUpReport(_Document):
    """Báo cáo thực hiện kết luận thanh tra: inspected party or district → issuer."""

    kind: ClassVar[PayloadKind] = PayloadKind.FOLLOWUP

    reporter: Agency
    subject: Label | None = None
    conclusion: ConclusionRef
    remedies: Annotated[tuple[Remedy, ...], Field(min_length=1)]

    @model_validator(mode="after")
    def _consistent(self) -> FollowUpReport:
        if self.date < self.conclusion.date:
            raise ValueError("date: the follow-up is dated before the conclusion it answers")
        seen: set[int] = set()
        for i, r in enumerate(self.remedies):
            if r.violation in seen:
                raise ValueError(f"remedies.{i}.violation: violation {r.violation} listed twice")
            seen.add(r.violation)
            if r.done and r.done_date is None:
                raise ValueError(f"remedies.{i}.done_date: required when done")
            if not r.done and r.done_date is not None:
                raise ValueError(f"remedies.{i}.done_date: given but the remedy is not done")
            if r.done_date is not None and not (self.conclusion.date <= r.done_date <= self.date):
                raise ValueError(
                    f"remedies.{i}.done_date: {r.done_date} is outside "
                    f"{self.conclusion.date}..{self.date}"
                )
        return self


Payload = Conclusion | PeriodicReport | Directive | FollowUpReport

MODELS: dict[PayloadKind, type[Conclusion | PeriodicReport | Directive | FollowUpReport]] = {
    PayloadKind.CONCLUSION: Conclusion,
    PayloadKind.REPORT: PeriodicReport,
    PayloadKind.DIRECTIVE: Directive,
    PayloadKind.FOLLOWUP: FollowUpReport,
}
