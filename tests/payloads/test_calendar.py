"""Reporting calendars: exact period days under letter 4074 and circular 01/2024."""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path
from typing import Any

import pytest
import yaml

from interchange.errors import ConfigError, PayloadError
from interchange.payloads import PeriodicReport, PeriodKind, load_calendar, payload_from_dict

from .helpers import EXAMPLES, raises_exactly

D = dt.date


@pytest.mark.parametrize(
    ("kind", "index", "first", "last"),
    [
        ("quarter", 1, D(2023, 12, 15), D(2024, 3, 14)),
        ("quarter", 2, D(2024, 3, 15), D(2024, 6, 14)),
        ("quarter", 4, D(2024, 9, 15), D(2024, 12, 14)),
        ("6-month", 1, D(2023, 12, 15), D(2024, 6, 14)),
        ("9-month", 1, D(2023, 12, 15), D(2024, 9, 14)),
        ("year", 1, D(2023, 12, 15), D(2024, 12, 14)),
    ],
)
def test_circular_01_2024(kind: str, index: int, first: dt.date, last: dt.date) -> None:
    p = load_calendar("circular-01-2024").period(kind, 2024, index)
    assert (p.first, p.last) == (first, last)


@pytest.mark.parametrize(
    ("kind", "index", "first", "last"),
    [
        ("month", 2, D(2024, 2, 1), D(2024, 2, 29)),
        ("month", 12, D(2024, 12, 1), D(2024, 12, 31)),
        ("quarter", 1, D(2024, 1, 1), D(2024, 3, 31)),
        ("quarter", 3, D(2024, 7, 1), D(2024, 9, 30)),
        ("year", 1, D(2024, 1, 1), D(2024, 12, 31)),
    ],
)
def test_letter_4074(kind: str, index: int, first: dt.date, last: dt.date) -> None:
    p = load_calendar("letter-4074").period(kind, 2024, index)
    assert (p.first, p.last) == (first, last)


@pytest.mark.parametrize("name", ["letter-4074", "circular-01-2024"])
def test_quarters_tile_the_year(name: str) -> None:
    cal = load_calendar(name)
    qs = cal.periods("quarter", 2025)
    assert qs[0].first == cal.period("year", 2025).first
    assert qs[-1].last == cal.period("year", 2025).last
    for a, b in itertools.pairwise(qs):
        assert b.first == a.last + dt.timedelta(days=1)


def test_period_containing() -> None:
    c = load_calendar("circular-01-2024")
    # 20 December 2024 is already in Q1 2025 under the cut-off on the 14th.
    p = c.period_containing("quarter", D(2024, 12, 20))
    assert (p.year, p.index, p.first) == (2025, 1, D(2024, 12, 15))
    p = c.period_containing(PeriodKind.QUARTER, D(2024, 12, 14))
    assert (p.year, p.index) == (2024, 4)
    p = load_calendar("letter-4074").period_containing("month", D(2024, 12, 20))
    assert (p.year, p.index, p.last) == (2024, 12, D(2024, 12, 31))


def test_regime_kinds() -> None:
    assert PeriodKind.MONTH not in load_calendar("circular-01-2024").period_kinds
    assert load_calendar("letter-4074").period_kinds == (
        PeriodKind.MONTH,
        PeriodKind.QUARTER,
        PeriodKind.YEAR,
    )
    with raises_exactly(PayloadError, match="has no month reports"):
        load_calendar("circular-01-2024").period("month", 2024, 1)
    with raises_exactly(PayloadError, match="index 5"):
        load_calendar("letter-4074").period("quarter", 2024, 5)


def test_due_dates_are_marked_illustrative() -> None:
    c = load_calendar("circular-01-2024")
    assert c.due_date("quarter", 2024, 1) == D(2024, 3, 20)
    due = c.rule("quarter").due
    assert due is not None and due.illustrative
    assert load_calendar("letter-4074").due_date("month", 2024, 12) == D(2025, 1, 5)


def test_check_report() -> None:
    data: dict[str, Any] = yaml.safe_load((EXAMPLES / "report.yaml").read_text(encoding="utf-8"))
    report = payload_from_dict("report", data)
    assert isinstance(report, PeriodicReport)
    load_calendar("circular-01-2024").check(report)  # matches its own regime
    with raises_exactly(PayloadError, match=r"runs 2024-01-01\.\.2024-03-31"):
        load_calendar("letter-4074").check(report)


def test_calendar_by_path_and_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "circular-06-2025.yaml").write_text(
        "id: circular-06-2025\ntitle: test\ncutoff_day: 14\nreports: [inspection]\n"
        "periods:\n  year: {span_months: 12, end_months: [12]}\n",
        encoding="utf-8",
    )
    cal = load_calendar(tmp_path / "circular-06-2025.yaml")
    assert cal.period("year", 2026).first == D(2025, 12, 15)
    with raises_exactly(ConfigError, match="unknown reporting calendar"):
        load_calendar("circular-06-2025")
    monkeypatch.setenv("INTERCHANGE_CALENDARS", str(tmp_path))
    assert load_calendar("circular-06-2025").id == "circular-06-2025"


def test_schedule_lists_every_report_of_the_year() -> None:
    c = load_calendar("circular-01-2024")
    sched = c.schedule(2024)
    assert len(sched) == 4 + 1 + 1 + 1
    assert [p.last for p in sched] == sorted(p.last for p in sched)
    assert sched[-1].kind is PeriodKind.YEAR  # the year ends with Q4 on the same day
    assert len(load_calendar("letter-4074").schedule(2024)) == 12 + 4 + 1
