"""Hypothesis strategies that build valid structured parts (consistent across fields)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from interchange.payloads import (
    Conclusion,
    Directive,
    FollowUpReport,
    InspectionField,
    InspectionKind,
    PeriodicReport,
    ReportKind,
    load_calendar,
)
from interchange.payloads.model import (
    Agency,
    AntiCorruptionFigures,
    CitizenFigures,
    ConclusionRef,
    DocumentRef,
    InspectedParty,
    InspectionFigures,
    Remedy,
    ReportPeriod,
    Target,
    Violation,
)
from interchange.payloads.types import DirectiveForm, Label, TargetLevel

_LABEL: TypeAdapter[str] = TypeAdapter(Label)

# Vietnamese letters, digits, punctuation, odd spaces and line breaks, astral characters.
_chars = st.characters(
    codec="utf-8",
    exclude_categories=("Cs", "Cc"),
    exclude_characters="\ufffe\uffff",
) | st.sampled_from("ăâđêôơưĂÂĐÊÔƠƯàảãáạ \t\r\n\u00a0&<>\"']]>")
texts = st.text(_chars, min_size=1, max_size=40).filter(lambda s: s.strip() != "")


def _is_label(s: str) -> bool:
    try:
        _LABEL.validate_python(s)
    except ValidationError:
        return False
    return True


labels = st.text(_chars, min_size=1, max_size=30).filter(_is_label)
codes = st.from_regex(r"[0-9A-Za-z]{1,4}(\.[0-9A-Za-z]{1,4}){0,3}", fullmatch=True)
tax_codes = st.from_regex(r"[0-9]{10}(-[0-9]{3})?", fullmatch=True)
file_names = st.from_regex(r"[a-z0-9][a-z0-9 ._-]{0,20}[a-z0-9]", fullmatch=True)
days = st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2150, 12, 31))
vnd = st.integers(min_value=0, max_value=2**63 - 1)
counts = st.integers(min_value=0, max_value=10_000)
agencies = st.builds(Agency, code=codes, name=labels)


def _opt(s: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | s


@st.composite
def conclusions(draw: st.DrawFn) -> Conclusion:
    date = draw(days)
    numbers = draw(st.lists(st.integers(1, 9999), max_size=4, unique=True))
    violations = tuple(
        Violation(
            number=n,
            description=draw(texts),
            legal_basis=draw(texts),
            fine_vnd=draw(vnd),
            remedy=draw(_opt(texts)),
            remedy_deadline=draw(
                _opt(st.dates(date + dt.timedelta(days=1), date + dt.timedelta(days=400)))
            ),
        )
        for n in numbers
    )
    return Conclusion(
        number=draw(labels),
        notation=draw(labels),
        date=date,
        place=draw(_opt(labels)),
        issuer=draw(agencies),
        subject=draw(_opt(labels)),
        decision=DocumentRef(
            number=draw(labels),
            notation=draw(labels),
            date=draw(st.dates(date - dt.timedelta(days=365), date)),
        ),
        inspection_kind=draw(st.sampled_from(InspectionKind)),
        field=draw(st.sampled_from(InspectionField)),
        inspected_party=InspectedParty(
            name=draw(labels), tax_code=draw(_opt(tax_codes)), address=draw(_opt(labels))
        ),
        findings=tuple(draw(st.lists(texts, min_size=1, max_size=3))),
        violations=violations,
        referred_to_police=draw(st.booleans()),
        warning_count=draw(counts),
    )


@st.composite
def _inspection_figures(draw: st.DrawFn) -> InspectionFigures:
    planned, ad_hoc = draw(counts), draw(counts)
    imposed = draw(vnd)
    return InspectionFigures(
        inspections_planned=planned,
        inspections_ad_hoc=ad_hoc,
        inspections_finished=draw(st.integers(0, planned + ad_hoc)),
        conclusions_issued=draw(counts),
        violations=draw(counts),
        sanction_decisions=draw(counts),
        fines_imposed_vnd=imposed,
        fines_collected_vnd=draw(st.integers(0, imposed)),
    )


@st.composite
def _citizen_figures(draw: st.DrawFn) -> CitizenFigures:
    complaints, denunciations = draw(counts), draw(counts)
    return CitizenFigures(
        citizens_received=draw(counts),
        complaints_received=complaints,
        complaints_resolved=draw(st.integers(0, complaints)),
        denunciations_received=denunciations,
        denunciations_resolved=draw(st.integers(0, denunciations)),
    )


@st.composite
def _anti_corruption_figures(draw: st.DrawFn) -> AntiCorruptionFigures:
    found = draw(counts)
    return AntiCorruptionFigures(cases_found=found, cases_referred=draw(st.integers(0, found)))


@st.composite
def reports(draw: st.DrawFn) -> PeriodicReport:
    cal = load_calendar(draw(st.sampled_from(["letter-4074", "circular-01-2024"])))
    rule = draw(st.sampled_from(cal.rules))
    p = cal.period(
        rule.kind, draw(st.integers(2000, 2100)), draw(st.integers(1, len(rule.end_months)))
    )
    kind = draw(st.sampled_from(ReportKind))
    figures: dict[str, Any] = {}
    if kind is ReportKind.INSPECTION:
        figures["inspection"] = draw(_inspection_figures())
    elif kind is ReportKind.CITIZEN_COMPLAINTS:
        figures["citizen"] = draw(_citizen_figures())
    else:
        figures["anti_corruption"] = draw(_anti_corruption_figures())
    if p.index in rule.narrative_only and draw(st.booleans()):
        figures = {}  # Q1 under 01/2024: text only
    return PeriodicReport(
        number=draw(labels),
        notation=draw(labels),
        date=draw(st.dates(p.first, p.last + dt.timedelta(days=60))),
        place=draw(_opt(labels)),
        report_kind=kind,
        calendar=cal.id,
        period=ReportPeriod(kind=p.kind, year=p.year, index=p.index, first=p.first, last=p.last),
        reporting_agency=draw(agencies),
        narrative=draw(texts),
        **figures,
    )


@st.composite
def directives(draw: st.DrawFn) -> Directive:
    date = draw(days)
    recipients = tuple(draw(st.lists(codes, max_size=3, unique=True)))
    targets = tuple(
        draw(
            st.lists(
                st.builds(Target, level=st.sampled_from(TargetLevel), of=codes),
                min_size=0 if recipients else 1,
                max_size=2,
            )
        )
    )
    return Directive(
        number=draw(labels),
        notation=draw(labels),
        date=date,
        place=draw(_opt(labels)),
        issuer=draw(agencies),
        form=draw(st.sampled_from(DirectiveForm)),
        subject=draw(labels),
        actions=tuple(draw(st.lists(texts, min_size=1, max_size=3))),
        response_due=draw(_opt(st.dates(date, date + dt.timedelta(days=90)))),
        recipients=recipients,
        targets=targets,
    )


@st.composite
def followups(draw: st.DrawFn) -> FollowUpReport:
    cdate = draw(days)
    date = draw(st.dates(cdate, cdate + dt.timedelta(days=400)))
    remedies = []
    for n in draw(st.lists(st.integers(1, 9999), min_size=1, max_size=4, unique=True)):
        done = draw(st.booleans())
        remedies.append(
            Remedy(
                violation=n,
                done=done,
                done_date=draw(st.dates(cdate, date)) if done else None,
                evidence=draw(_opt(texts)),
                evidence_attachment=draw(_opt(file_names)),
            )
        )
    return FollowUpReport(
        number=draw(labels),
        notation=draw(labels),
        date=date,
        place=draw(_opt(labels)),
        reporter=draw(agencies),
        subject=draw(_opt(labels)),
        conclusion=ConclusionRef(
            document_id=draw(labels),
            number=draw(labels),
            notation=draw(labels),
            date=cdate,
            issuer=draw(agencies),
        ),
        remedies=tuple(remedies),
    )


payloads = conclusions() | reports() | directives() | followups()
