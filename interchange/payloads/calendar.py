"""Reporting calendars: which periodic reports a regime asks for and their exact days.

Regimes change (letter 4074's monthly/quarterly/yearly set-up in 2020; circular 01/2024 with
no monthly report and a cut-off on the 14th), so they are data files in
``interchange/data/calendars/`` (plus ``INTERCHANGE_CALENDARS`` for an operator's own), never
code. One rule computes every period: a period of ``span`` months *ends* on the cut-off day
of its end month (the month's last day when there is no cut-off) and *starts* the day after
the cut-off ``span`` months earlier. So Q1 2024 with cut-off 14 is 2023-12-15..2024-03-14 and
with none 2024-01-01..2024-03-31.
"""

from __future__ import annotations

import calendar as _cal
import datetime as dt
import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from ..errors import ConfigError, PayloadError
from ..resources import data_dir
from .types import PeriodKind, ReportKind

if TYPE_CHECKING:
    from .model import PeriodicReport
    from .model import ReportPeriod as PeriodModel


@dataclass(frozen=True, slots=True)
class Period:
    """The exact days of one reporting period (both inclusive)."""

    kind: PeriodKind
    year: int
    index: int
    first: dt.date
    last: dt.date

    def __contains__(self, day: object) -> bool:
        return isinstance(day, dt.date) and self.first <= day <= self.last


@dataclass(frozen=True, slots=True)
class DueRule:
    """Submission deadline: ``day`` of the month ``months_after`` the period's end month."""

    day: int
    months_after: int = 0
    illustrative: bool = False


@dataclass(frozen=True, slots=True)
class PeriodRule:
    kind: PeriodKind
    span_months: int
    end_months: tuple[int, ...]
    due: DueRule | None = None
    narrative_only: tuple[int, ...] = ()  # indices reported as text, without figure tables


@dataclass(frozen=True, slots=True)
class Calendar:
    """A reporting regime loaded from a calendar file."""

    id: str
    title: str
    cutoff_day: int | None
    report_kinds: tuple[ReportKind, ...]
    rules: tuple[PeriodRule, ...]
    source: str = ""
    illustrative: bool = False

    def rule(self, kind: PeriodKind | str) -> PeriodRule:
        kind = PeriodKind(kind)
        for r in self.rules:
            if r.kind is kind:
                return r
        raise PayloadError(f"calendar {self.id} has no {kind.value} reports")

    @property
    def period_kinds(self) -> tuple[PeriodKind, ...]:
        return tuple(r.kind for r in self.rules)

    def period(self, kind: PeriodKind | str, year: int, index: int = 1) -> Period:
        """The ``index``-th period of ``kind`` reported for ``year`` (1-based)."""
        rule = self.rule(kind)
        if not 1 <= index <= len(rule.end_months):
            raise PayloadError(
                f"calendar {self.id}: {rule.kind.value} index {index} is not in "
                f"1..{len(rule.end_months)}"
            )
        end_month = rule.end_months[index - 1]
        last = self._cut(year, end_month)
        first = self._cut(year, end_month - rule.span_months) + dt.timedelta(days=1)
        return Period(rule.kind, year, index, first, last)

    def periods(self, kind: PeriodKind | str, year: int) -> tuple[Period, ...]:
        rule = self.rule(kind)
        return tuple(self.period(kind, year, i + 1) for i in range(len(rule.end_months)))

    def schedule(self, year: int) -> tuple[Period, ...]:
        """Every period of every kind reported for ``year``, by last day (then shortest first):
        what the Ministry expects from each reporting agency that year."""
        every = [p for r in self.rules for p in self.periods(r.kind, year)]
        return tuple(sorted(every, key=lambda p: (p.last, -p.first.toordinal())))

    def period_containing(self, kind: PeriodKind | str, day: dt.date) -> Period:
        """The period of ``kind`` whose days include ``day`` (for cumulative kinds such as the
        9-month report, the one that ends first)."""
        for year in (day.year, day.year + 1):
            for p in self.periods(kind, year):
                if day in p:
                    return p
        raise PayloadError(f"calendar {self.id}: no {PeriodKind(kind).value} period holds {day}")

    def due_date(self, kind: PeriodKind | str, year: int, index: int = 1) -> dt.date | None:
        rule = self.rule(kind)
        if rule.due is None:
            return None
        end = self.period(kind, year, index).last
        y, m = _add_months(end.year, end.month, rule.due.months_after)
        return dt.date(y, m, min(rule.due.day, _cal.monthrange(y, m)[1]))

    def check(self, report: PeriodicReport) -> None:
        """Raise ``PayloadError`` unless the report's kind and days fit this regime."""
        problem = self.mismatch(report.report_kind, report.period)
        if problem:
            raise PayloadError(f"report: {problem}")

    def mismatch(self, report_kind: ReportKind, period: PeriodModel) -> str | None:
        if report_kind not in self.report_kinds:
            return f"report_kind: calendar {self.id} has no {report_kind.value} reports"
        try:
            expected = self.period(period.kind, period.year, period.index)
        except PayloadError as exc:
            return f"period: {exc}"
        if (period.first, period.last) != (expected.first, expected.last):
            return (
                f"period: {period.kind.value} {period.index}/{period.year} under {self.id} runs "
                f"{expected.first}..{expected.last}, not {period.first}..{period.last}"
            )
        return None

    def _cut(self, year: int, month: int) -> dt.date:
        # month may be 0 or negative: months of the previous year.
        y, m = _add_months(year, 1, month - 1)
        last_day = _cal.monthrange(y, m)[1]
        return dt.date(y, m, min(self.cutoff_day, last_day) if self.cutoff_day else last_day)


def _add_months(year: int, month: int, n: int) -> tuple[int, int]:
    total = year * 12 + (month - 1) + n
    return total // 12, total % 12 + 1


def calendar_dirs() -> tuple[Path, ...]:
    extra = os.environ.get("INTERCHANGE_CALENDARS")
    dirs = [Path(p) for p in extra.split(os.pathsep) if p] if extra else []
    return (*dirs, data_dir() / "calendars")


def load_calendar(name_or_path: str | Path) -> Calendar:
    """A shipped calendar by id (``letter-4074``, ``circular-01-2024``) or a YAML file path."""
    path = Path(name_or_path)
    if isinstance(name_or_path, str) and path.suffix not in (".yaml", ".yml"):
        for d in calendar_dirs():
            if (d / f"{name_or_path}.yaml").is_file():
                return _load_file(d / f"{name_or_path}.yaml")
        raise ConfigError(f"unknown reporting calendar {name_or_path!r}")
    return _load_file(path.resolve())


@functools.lru_cache(maxsize=32)
def _load_file(path: Path) -> Calendar:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read calendar {path}: {exc}") from None
    try:
        return _parse(raw, default_id=path.stem)
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"calendar {path}: invalid ({exc})") from None


def _parse(raw: Any, default_id: str) -> Calendar:
    if not isinstance(raw, dict):
        raise TypeError("expected a mapping")
    cutoff = raw.get("cutoff_day")
    if cutoff is not None and not (isinstance(cutoff, int) and 1 <= cutoff <= 28):
        raise ValueError("cutoff_day must be 1..28 or null")
    rules = []
    for kind, spec in (raw.get("periods") or {}).items():
        due = spec.get("due")
        rule = PeriodRule(
            kind=PeriodKind(kind),
            span_months=int(spec["span_months"]),
            end_months=tuple(int(m) for m in spec["end_months"]),
            due=DueRule(
                day=int(due["day"]),
                months_after=int(due.get("months_after", 0)),
                illustrative=bool(due.get("illustrative", False)),
            )
            if due
            else None,
            narrative_only=tuple(int(i) for i in spec.get("narrative_only", ())),
        )
        if not 1 <= rule.span_months <= 12 or not all(1 <= m <= 12 for m in rule.end_months):
            raise ValueError(f"{kind}: months out of range")
        if len(rule.end_months) > rule.kind.max_index:
            raise ValueError(f"{kind}: more than {rule.kind.max_index} periods a year")
        rules.append(rule)
    if not rules:
        raise ValueError("no periods")
    return Calendar(
        id=str(raw.get("id", default_id)),
        title=str(raw.get("title", "")),
        cutoff_day=cutoff,
        report_kinds=tuple(
            ReportKind(k) for k in raw.get("reports", [k.value for k in ReportKind])
        ),
        rules=tuple(rules),
        source=str(raw.get("source", "")),
        illustrative=bool(raw.get("illustrative", False)),
    )


def narrative_only(calendar_id: str, period: PeriodModel) -> bool:
    """Whether the calendar asks for this period's report as text only (no figure tables)."""
    try:
        rule = load_calendar(calendar_id).rule(period.kind)
    except (ConfigError, PayloadError):
        return False
    return period.index in rule.narrative_only


def period_mismatch(calendar_id: str, report_kind: ReportKind, period: PeriodModel) -> str | None:
    """Used by the ``PeriodicReport`` model: why the period does not fit its calendar, if not."""
    try:
        cal = load_calendar(calendar_id)
    except ConfigError as exc:
        return f"calendar: {exc}"
    return cal.mismatch(report_kind, period)
