"""Every example input loads, validates, round-trips and gives sensible header hints."""

from __future__ import annotations

import datetime as dt

import pytest

from interchange.payloads import (
    Conclusion,
    FollowUpReport,
    PayloadKind,
    PeriodicReport,
    header_hints,
    load_payload,
    payload_from_dict,
    payload_from_xml,
    payload_to_xml,
    validate_payload,
)
from interchange.payloads.model import MODELS

from .helpers import EXAMPLE_FILES, EXAMPLES


@pytest.mark.parametrize(("name", "kind"), EXAMPLE_FILES)
def test_example_loads_and_round_trips(name: str, kind: str) -> None:
    p = load_payload(kind, EXAMPLES / name)
    assert type(p) is MODELS[PayloadKind(kind)]
    xml = payload_to_xml(p)
    assert xml.startswith(b"<?xml")
    assert validate_payload(xml) is PayloadKind(kind)
    assert payload_from_xml(xml) == p
    # JSON (the HTTP API's form) round-trips too.
    assert type(p).model_validate_json(p.model_dump_json()) == p
    assert payload_from_dict(kind, p.model_dump(mode="json")) == p


def test_conclusion_example_content() -> None:
    p = load_payload("conclusion", EXAMPLES / "conclusion.yaml")
    assert isinstance(p, Conclusion)
    assert p.issuer.code == "000.00.13.H53"
    assert p.total_fine_vnd == 150_000_000
    assert p.violations[0].remedy_deadline == dt.date(2024, 6, 20)
    h = header_hints(p)
    assert (h.code_number, h.code_notation, h.type_name) == ("15", "KL-STTTT", "Kết luận")
    assert h.attachment_name == "ket-luan-thanh-tra.xml"
    assert h.content_type == "application/xml"
    assert h.promulgation_date == dt.date(2024, 5, 20)
    assert h.due_date is None and h.response_for is None


def test_report_hints_name_the_period() -> None:
    p = load_payload("report", EXAMPLES / "report.yaml")
    assert isinstance(p, PeriodicReport)
    h = header_hints(p)
    assert h.subject == "Báo cáo công tác thanh tra quý I năm 2024"
    assert (h.type_name, h.type) == ("Báo cáo", 2)


def test_directive_hints_carry_due_date() -> None:
    h = header_hints(load_payload("directive", EXAMPLES / "directive.yaml"))
    assert h.type_name == "Công văn"
    assert h.due_date == dt.date(2024, 6, 30)
    assert h.subject.startswith("Về việc tăng cường")


def test_followup_hints_answer_the_conclusion() -> None:
    p = load_payload("followup", EXAMPLES / "followup.yaml")
    assert isinstance(p, FollowUpReport)
    conclusion = load_payload("conclusion", EXAMPLES / "conclusion.yaml")
    assert isinstance(conclusion, Conclusion)
    # Every remedy refers to a violation of the conclusion it answers.
    assert {r.violation for r in p.remedies} <= {v.number for v in conclusion.violations}
    rf = header_hints(p).response_for
    assert rf is not None
    assert rf.organ_id == "000.00.13.H53"
    assert rf.code == "15/KL-STTTT"
    assert rf.promulgation_date == dt.date(2024, 5, 20)
    assert rf.document_id == "000.00.13.H53,2024/05/20,15/KL-STTTT"
