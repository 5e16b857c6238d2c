"""Every bad input is refused with the exact error class and a one-line message naming where."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from interchange.errors import ConfigError, NotXMLError, PayloadError, SchemaError, UnsafeXMLError
from interchange.payloads import (
    load_payload,
    payload_from_dict,
    payload_from_xml,
    payload_to_xml,
    validate_payload,
)

from .helpers import EXAMPLES, raises_exactly


def _example(name: str) -> dict[str, Any]:
    data = yaml.safe_load((EXAMPLES / name).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


@pytest.fixture
def conclusion() -> dict[str, Any]:
    return _example("conclusion.yaml")


@pytest.fixture
def report() -> dict[str, Any]:
    return _example("report.yaml")


def _refused(kind: str, data: dict[str, Any], match: str) -> str:
    before = copy.deepcopy(data)
    with raises_exactly(PayloadError, match=match) as info:
        payload_from_dict(kind, data)
    assert data == before  # the input is not changed
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"{kind}: ")
    return message


def test_negative_fine(conclusion: dict[str, Any]) -> None:
    conclusion["violations"][0]["fine_vnd"] = -1
    _refused("conclusion", conclusion, r"violations\.0\.fine_vnd: .*greater than or equal to 0")


def test_float_amount_in_json(tmp_path: Path, conclusion: dict[str, Any]) -> None:
    data = json.loads(json.dumps(conclusion, default=str))
    data["violations"][1]["fine_vnd"] = 40000000.0
    path = tmp_path / "c.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with raises_exactly(PayloadError, match=r"violations\.1\.fine_vnd: .*valid integer"):
        load_payload("conclusion", path)


def test_amount_as_string(conclusion: dict[str, Any]) -> None:
    conclusion["violations"][0]["fine_vnd"] = "60000000"
    _refused("conclusion", conclusion, r"violations\.0\.fine_vnd")


def test_unknown_field(conclusion: dict[str, Any]) -> None:
    conclusion["inspected_party"]["phone"] = "0276 3822 123"
    _refused("conclusion", conclusion, r"inspected_party\.phone: Extra inputs are not permitted")


def test_wrong_enum(conclusion: dict[str, Any]) -> None:
    conclusion["field"] = "sim-rac"
    _refused("conclusion", conclusion, r"^conclusion: field: Input should be")


def test_missing_required_field(conclusion: dict[str, Any]) -> None:
    del conclusion["decision"]
    _refused("conclusion", conclusion, r"decision: Field required")


def test_remedy_deadline_not_after_conclusion(conclusion: dict[str, Any]) -> None:
    conclusion["violations"][2]["remedy_deadline"] = conclusion["date"]
    _refused("conclusion", conclusion, r"violations\.2\.remedy_deadline: .*not after")


def test_duplicate_violation_number(conclusion: dict[str, Any]) -> None:
    conclusion["violations"][1]["number"] = 1
    _refused("conclusion", conclusion, r"violations\.1\.number: violation 1 is listed twice")


def test_datetime_is_not_a_date(conclusion: dict[str, Any]) -> None:
    conclusion["date"] = "2024-05-20T10:00:00"
    _refused("conclusion", conclusion, r"date: .*YYYY-MM-DD")


def test_text_xml_cannot_carry(conclusion: dict[str, Any]) -> None:
    conclusion["findings"][0] = "bad \x01 control"
    _refused("conclusion", conclusion, r"findings\.0: .*XML cannot carry")


def test_blank_text(conclusion: dict[str, Any]) -> None:
    conclusion["findings"][1] = " \n\t "
    _refused("conclusion", conclusion, r"findings\.1: text is blank")


def test_bad_tax_code(conclusion: dict[str, Any]) -> None:
    conclusion["inspected_party"]["tax_code"] = "39-0123"
    _refused("conclusion", conclusion, r"inspected_party\.tax_code")


def test_period_last_before_first(report: dict[str, Any]) -> None:
    report["period"]["last"] = "2023-12-01"
    _refused("report", report, r"period\.last: 2023-12-01 is before first")


def test_quarter_with_wrong_cutoff_under_01_2024(report: dict[str, Any]) -> None:
    report["period"].update(first="2024-01-01", last="2024-03-31")
    _refused("report", report, r"runs 2023-12-15\.\.2024-03-14, not 2024-01-01\.\.2024-03-31")


def test_monthly_report_under_01_2024(report: dict[str, Any]) -> None:
    report["period"] = {
        "kind": "month",
        "year": 2024,
        "index": 2,
        "first": "2024-01-15",
        "last": "2024-02-14",
    }
    _refused("report", report, r"has no month reports")


def test_unknown_calendar(report: dict[str, Any]) -> None:
    report["calendar"] = "circular-99-2030"
    _refused("report", report, r"unknown reporting calendar")


def test_figures_of_another_kind(report: dict[str, Any]) -> None:
    report["citizen"] = {
        "citizens_received": 1,
        "complaints_received": 0,
        "complaints_resolved": 0,
        "denunciations_received": 0,
        "denunciations_resolved": 0,
    }
    _refused("report", report, r"citizen: not allowed in a inspection report")


def test_missing_figures(report: dict[str, Any]) -> None:
    report["period"].update(index=2, first="2024-03-15", last="2024-06-14")
    report["date"] = "2024-06-18"
    del report["inspection"]
    _refused("report", report, r"inspection: a inspection report needs these figures")


def test_q1_under_01_2024_may_be_narrative_only(report: dict[str, Any]) -> None:
    del report["inspection"]
    p = payload_from_dict("report", report)
    assert payload_from_xml(payload_to_xml(p)) == p


def test_collected_more_than_imposed(report: dict[str, Any]) -> None:
    report["inspection"]["fines_collected_vnd"] = 215000001
    _refused("report", report, r"inspection\.fines_collected_vnd: more collected than imposed")


def test_finished_more_than_in_hand(report: dict[str, Any]) -> None:
    report["inspection"]["inspections_finished"] = 7
    _refused("report", report, r"inspection\.inspections_finished")


def test_resolved_more_than_received() -> None:
    data = _example("report-monthly-4074.yaml")
    data["citizen"]["denunciations_resolved"] = 2
    _refused("report", data, r"citizen\.denunciations_resolved")


def test_directive_without_recipients() -> None:
    data = _example("directive.yaml")
    del data["targets"]
    _refused("directive", data, r"recipients: a directive needs recipients or targets")


def test_followup_done_without_date() -> None:
    data = _example("followup.yaml")
    del data["remedies"][0]["done_date"]
    _refused("followup", data, r"remedies\.0\.done_date: required when done")


def test_followup_evidence_name_with_path() -> None:
    data = _example("followup.yaml")
    data["remedies"][0]["evidence_attachment"] = "../etc/passwd"
    _refused("followup", data, r"remedies\.0\.evidence_attachment")


def test_many_errors_still_one_line(conclusion: dict[str, Any]) -> None:
    conclusion["violations"][0]["fine_vnd"] = -1
    conclusion["warning_count"] = -1
    message = _refused("conclusion", conclusion, r"\(and 1 more\)")
    assert message.count("\n") == 0


# --- files --------------------------------------------------------------------------------


def test_unknown_kind(tmp_path: Path) -> None:
    with raises_exactly(PayloadError, match="unknown payload kind"):
        load_payload("memo", EXAMPLES / "conclusion.yaml")


def test_wrong_extension(tmp_path: Path) -> None:
    path = tmp_path / "c.txt"
    path.write_text("{}", encoding="utf-8")
    with raises_exactly(PayloadError, match=r"must be \.json, \.yaml or \.yml"):
        load_payload("conclusion", path)


def test_missing_file(tmp_path: Path) -> None:
    with raises_exactly(PayloadError, match="cannot read"):
        load_payload("conclusion", tmp_path / "absent.yaml")


def test_broken_yaml(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("number: [1,\nnotation: x\n", encoding="utf-8")
    with raises_exactly(PayloadError, match=r"not valid YAML \(line \d+"):
        load_payload("conclusion", path)


def test_broken_json(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text('{"number": }', encoding="utf-8")
    with raises_exactly(PayloadError, match=r"not valid JSON \(line 1"):
        load_payload("conclusion", path)


def test_top_level_list(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("- a\n- b\n", encoding="utf-8")
    with raises_exactly(PayloadError, match="expected a mapping"):
        load_payload("conclusion", path)


def test_impossible_yaml_date(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("number: '1'\ndate: 2024-02-30\n", encoding="utf-8")
    with raises_exactly(PayloadError, match="day is out of range"):
        load_payload("conclusion", path)


def test_impossible_json_date(tmp_path: Path, conclusion: dict[str, Any]) -> None:
    conclusion["date"] = "2024-02-30"
    _refused("conclusion", conclusion, r"^conclusion: date: not a calendar day: 2024-02-30")


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_deeply_nested_input(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"c{suffix}"
    path.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    with raises_exactly(PayloadError, match="nested too deeply"):
        load_payload("conclusion", path)


def test_yaml_python_tags_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("number: !!python/object/apply:os.system ['true']\n", encoding="utf-8")
    with raises_exactly(PayloadError, match="not valid YAML"):
        load_payload("conclusion", path)


# --- XML ----------------------------------------------------------------------------------


@pytest.fixture
def conclusion_xml() -> bytes:
    return payload_to_xml(load_payload("conclusion", EXAMPLES / "conclusion.yaml"))


def test_xml_breaking_xsd_names_path_and_line(conclusion_xml: bytes) -> None:
    bad = conclusion_xml.replace(b"<fineVnd>40000000<", b"<fineVnd>-4<")
    with raises_exactly(SchemaError) as info:
        payload_from_xml(bad)
    err = info.value
    assert err.path == "/inspectionConclusion/violations/violation[2]/fineVnd"
    assert err.line == bad[: bad.index(b"<fineVnd>-4")].count(b"\n") + 1
    assert "minimum" in str(err) and f"line {err.line}" in str(err)


def test_xml_blank_finding(conclusion_xml: bytes) -> None:
    start = conclusion_xml.index(b"<finding>") + len(b"<finding>")
    end = conclusion_xml.index(b"</finding>")
    bad = conclusion_xml[:start] + b"  " + conclusion_xml[end:]
    with raises_exactly(PayloadError, match=r"^conclusion: findings\.0: text is blank$"):
        payload_from_xml(bad)


def test_xml_float_amount(conclusion_xml: bytes) -> None:
    bad = conclusion_xml.replace(b"<fineVnd>40000000<", b"<fineVnd>40000000.5<")
    with raises_exactly(SchemaError, match="fineVnd"):
        payload_from_xml(bad)


def test_xml_unknown_element(conclusion_xml: bytes) -> None:
    bad = conclusion_xml.replace(b"<warningCount>", b"<extra>x</extra><warningCount>")
    with raises_exactly(SchemaError, match=r"extra.*\(/inspectionConclusion/extra, line \d+\)"):
        payload_from_xml(bad)


def test_xml_missing_element(conclusion_xml: bytes) -> None:
    start = conclusion_xml.index(b"  <decision>")
    end = conclusion_xml.index(b"</decision>") + len(b"</decision>\n")
    with raises_exactly(SchemaError, match="decision"):
        payload_from_xml(conclusion_xml[:start] + conclusion_xml[end:])


def test_xml_wrong_schema_version_attribute(conclusion_xml: bytes) -> None:
    bad = conclusion_xml.replace(b'schemaVersion="1"', b'schemaVersion="2"')
    with raises_exactly(SchemaError, match="schemaVersion"):
        payload_from_xml(bad)


def test_xml_duplicate_violation_number(conclusion_xml: bytes) -> None:
    bad = conclusion_xml.replace(b"<number>2</number>", b"<number>1</number>")
    with raises_exactly(SchemaError, match="violationNo"):
        payload_from_xml(bad)


def test_xml_valid_schema_but_inconsistent(conclusion_xml: bytes) -> None:
    bad = conclusion_xml.replace(b"<remedyDeadline>2024-06-20<", b"<remedyDeadline>2024-01-01<")
    with raises_exactly(PayloadError, match=r"violations\.0\.remedy_deadline"):
        payload_from_xml(bad)


def test_xml_other_version_namespace(conclusion_xml: bytes) -> None:
    bad = conclusion_xml.replace(b"urn:interchange:inspection:1", b"urn:interchange:inspection:2")
    with raises_exactly(PayloadError, match="unsupported structured-part version"):
        payload_from_xml(bad)


def test_xml_not_ours() -> None:
    with raises_exactly(PayloadError, match="not a structured part we know"):
        payload_from_xml(b"<edXML xmlns='http://www.mic.gov.vn/TBT/QCVN_102_2016'/>")
    with raises_exactly(PayloadError, match="not a structured part we know"):
        validate_payload(b"<inspectionConclusion/>")


def test_xml_not_xml() -> None:
    with raises_exactly(NotXMLError):
        payload_from_xml(b"number: 15\n")


def test_xml_with_doctype_is_unsafe(conclusion_xml: bytes) -> None:
    bad = conclusion_xml.replace(
        b"?>\n", b'?>\n<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>\n', 1
    )
    with raises_exactly(UnsafeXMLError):
        payload_from_xml(bad)


def test_comment_inside_text_keeps_the_full_text(conclusion_xml: bytes) -> None:
    xml = conclusion_xml.replace(b"<notation>KL-STTTT<", b"<notation>KL-<!--x-->STTTT<", 1)
    p = payload_from_xml(xml)
    assert p.notation == "KL-STTTT"


def test_bad_calendar_file_is_config_error(tmp_path: Path) -> None:
    from interchange.payloads import load_calendar

    path = tmp_path / "x.yaml"
    path.write_text("id: x\ncutoff_day: 31\nperiods: {}\n", encoding="utf-8")
    with raises_exactly(ConfigError, match="cutoff_day"):
        load_calendar(path)
