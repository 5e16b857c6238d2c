"""The XSDs themselves: they compile alone and with xmlschema, and errors on in-memory trees."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import xmlschema
from lxml import etree

from interchange.errors import SchemaError
from interchange.payloads import (
    NS,
    Conclusion,
    Directive,
    FollowUpReport,
    PeriodicReport,
    load_payload,
    payload_to_xml,
    validate_payload,
)
from interchange.payloads.xml import payload_to_element
from interchange.resources import schemas_dir

from .helpers import EXAMPLE_FILES, EXAMPLES, raises_exactly

V1 = schemas_dir() / "payloads" / "v1"


@pytest.mark.parametrize("name", ["conclusion", "report", "directive", "followup", "payloads"])
def test_each_xsd_compiles_alone(name: str) -> None:
    schema = etree.XMLSchema(etree.parse(str(V1 / f"{name}.xsd")))
    assert schema is not None
    root = etree.parse(str(V1 / f"{name}.xsd")).getroot()
    assert root.get("targetNamespace") == NS == "urn:interchange:inspection:1"


def test_examples_are_valid_for_xmlschema_too() -> None:
    # A second, independent XSD implementation: receivers may not use libxml2.
    schema = xmlschema.XMLSchema(str(V1 / "payloads.xsd"))
    for name, kind in EXAMPLE_FILES:
        xml = payload_to_xml(load_payload(kind, EXAMPLES / name))
        schema.validate(xmlschema.XMLResource(xml, defuse="always"))


def test_in_memory_tree_error_has_path_without_line() -> None:
    p = load_payload("report", EXAMPLES / "report.yaml")
    root = payload_to_element(p)
    period = root.find(f"{{{NS}}}period")
    assert period is not None
    first = period.find(f"{{{NS}}}first")
    assert first is not None
    first.text = "15/12/2023"
    with raises_exactly(SchemaError) as info:
        validate_payload(root)
    assert info.value.path == "/periodicReport/period/first"
    assert info.value.line is None


def test_validation_from_threads() -> None:
    xml = payload_to_xml(load_payload("conclusion", EXAMPLES / "conclusion.yaml"))
    bad = xml.replace(b"<warningCount>2<", b"<warningCount>x<")

    def check(i: int) -> str:
        if i % 2:
            return validate_payload(xml).value
        try:
            validate_payload(bad)
        except SchemaError as exc:
            return exc.path or ""
        return "accepted"

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(check, range(40)))
    assert set(results) == {"conclusion", "/inspectionConclusion/warningCount"}


@pytest.mark.parametrize("cls", [Conclusion, PeriodicReport, Directive, FollowUpReport])
def test_json_schema_is_strict(cls: type[Conclusion]) -> None:
    schema = cls.model_json_schema()
    assert schema["additionalProperties"] is False
    defs = schema.get("$defs", {})
    for sub in [schema, *defs.values()]:
        for name, prop in sub.get("properties", {}).items():
            if name.endswith("_vnd"):
                assert prop["type"] == "integer" and prop["minimum"] == 0
            if name in ("date", "first", "last", "response_due", "done_date"):
                options = prop.get("anyOf", [prop])
                assert any(o.get("type") == "string" and o.get("format") == "date" for o in options)
