"""Finding our structured part among an edXML message's attachments."""

from __future__ import annotations

from interchange.edxml.model import Attachment
from interchange.errors import PayloadError, SchemaError
from interchange.payloads import (
    PAYLOAD_CONTENT_TYPE,
    find_payload_attachment,
    header_hints,
    load_payload,
    missing_evidence,
    payload_from_attachments,
    payload_from_xml,
    payload_to_xml,
)

from .helpers import EXAMPLES, raises_exactly


def _att(cid: str, ctype: str, data: bytes, name: str = "x") -> Attachment:
    return Attachment(content_id=cid, name=name, content_type=ctype, data=data)


def test_finds_the_part_among_other_attachments() -> None:
    p = load_payload("directive", EXAMPLES / "directive.yaml")
    h = header_hints(p)
    ours = _att("3", PAYLOAD_CONTENT_TYPE, payload_to_xml(p), h.attachment_name)
    others = [
        _att("1", "application/pdf", b"%PDF-1.7 urn:interchange:inspection:1"),
        _att("2", "application/xml", b"<other xmlns='urn:x'>urn:interchange:inspection:1</other>"),
        _att("4", "text/xml", b"<broken urn:interchange:inspection:1"),
    ]
    found = find_payload_attachment([*others, ours])
    assert found is ours
    assert payload_from_xml(found.data) == p


def test_content_type_with_parameters() -> None:
    p = load_payload("followup", EXAMPLES / "followup.yaml")
    att = _att("1", "Application/XML; charset=utf-8", payload_to_xml(p))
    assert find_payload_attachment([att]) is att


def test_none_when_absent() -> None:
    assert find_payload_attachment([]) is None
    assert find_payload_attachment([_att("1", "application/pdf", b"%PDF")]) is None


def test_payload_from_attachments() -> None:
    p = load_payload("report", EXAMPLES / "report.yaml")
    xml = payload_to_xml(p)
    pdf = _att("1", "application/pdf", b"%PDF")
    assert payload_from_attachments([pdf, _att("2", "application/xml", xml)]) == p
    assert payload_from_attachments([pdf]) is None
    bad = xml.replace(b"<violations>9<", b"<violations>-9<")
    with raises_exactly(SchemaError, match=r"/periodicReport/inspection/violations, line \d+"):
        payload_from_attachments([_att("2", "application/xml", bad)])
    worse = xml.replace(b"<finesCollectedVnd>180000000<", b"<finesCollectedVnd>990000000<")
    with raises_exactly(PayloadError, match="more collected than imposed"):
        payload_from_attachments([_att("2", "application/xml", worse)])


def test_part_of_an_unknown_version_is_not_ours() -> None:
    p = load_payload("directive", EXAMPLES / "directive.yaml")
    v2 = payload_to_xml(p).replace(b"inspection:1", b"inspection:2")
    assert find_payload_attachment([_att("1", "application/xml", v2)]) is None


def test_missing_evidence() -> None:
    p = load_payload("followup", EXAMPLES / "followup.yaml")
    assert missing_evidence(p, []) == ("bien-ban-huy-sim.pdf",)
    assert missing_evidence(p, ["bien-ban-huy-sim.pdf"]) == ()
    assert missing_evidence(load_payload("report", EXAMPLES / "report.yaml"), []) == ()
