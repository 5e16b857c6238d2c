"""The axis operator's reference files in ../shared/samples/vxp/ are read (never copied)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from interchange.edxml import (
    BussinessDocType,
    EdocMessage,
    StatusCode,
    StatusMessage,
    build,
    read_message,
    read_tree,
)
from interchange.errors import NotXMLError

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "samples" / "vxp"


def _samples_dir() -> Path:
    if not SAMPLES.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"reference samples missing at {SAMPLES}")
        pytest.skip(f"reference samples missing at {SAMPLES}")
    return SAMPLES


def _files(pattern: str) -> list[str]:
    return sorted(p.name for p in SAMPLES.glob(pattern)) if SAMPLES.is_dir() else []


WELL_FORMED = [n for n in _files("*.edxml") if not n.startswith("broken_")]
EDOC_TYPES = {
    "edoc_new.edxml": BussinessDocType.NEW,
    "edoc_revocation.edxml": BussinessDocType.REVOKE,
    "edoc_update.edxml": BussinessDocType.UPDATE,
    "edoc_replacement.edxml": BussinessDocType.REPLACE,
}


def _status_code_of(name: str) -> StatusCode:
    if name == "status.edxml":
        return StatusCode.ARRIVED
    return StatusCode(Path(name).stem.rsplit("_", 1)[1])


def test_samples_present() -> None:
    folder = _samples_dir()
    names = {p.name for p in folder.glob("*.edxml")}
    assert set(EDOC_TYPES) <= names
    assert {"broken_leading_bytes.edxml", "broken_undeclared_prefix.edxml"} <= names
    assert len([n for n in names if n.startswith("status")]) == 10


@pytest.mark.parametrize("name", WELL_FORMED)
def test_every_well_formed_sample_is_read(name: str) -> None:
    msg = read_message((_samples_dir() / name).read_bytes())
    assert msg.sender
    if isinstance(msg, EdocMessage):
        assert msg.recipients and msg.document_id
        for att in msg.attachments:
            assert att.data, att.name
    # What we read, we can write back and read again unchanged.
    assert read_tree(build(msg)) == msg


@pytest.mark.parametrize("name", sorted(EDOC_TYPES))
def test_edoc_sample_bussiness_type(name: str) -> None:
    msg = read_message((_samples_dir() / name).read_bytes())
    assert isinstance(msg, EdocMessage)
    assert msg.bussiness is not None
    assert msg.bussiness.doc_type is EDOC_TYPES[name]
    assert [a.content_id for a in msg.attachments] == ["209"]  # "cid:" removed
    if EDOC_TYPES[name] is BussinessDocType.UPDATE:
        info = msg.bussiness.document_info
        assert info is not None
        assert [r.organ_id for r in info.receivers] == ["000.00.00.H41", "000.00.00.H14"]
    if EDOC_TYPES[name] is BussinessDocType.REPLACE:
        assert msg.bussiness.replacements is not None
        assert len(msg.bussiness.replacements) == 2
        assert msg.bussiness.replacements[0].organ_ids == ("000.00.00.H41", "000.00.00.H14")


def test_legacy_and_opaque_codes_are_kept_as_data() -> None:
    new = read_message((_samples_dir() / "edoc_new.edxml").read_bytes())
    assert isinstance(new, EdocMessage)
    assert new.recipients == ("28.22.H17",)  # legacy three-group code
    assert new.header.to[0].organization_in_charge is not None
    assert not new.header.to[0].organization_in_charge.startswith(" ")  # text is stripped
    gw = read_message((_samples_dir() / "874e0f18-90dc-45fb-989a-65401470ba84.edxml").read_bytes())
    assert isinstance(gw, EdocMessage)
    assert gw.sender == "vxp.saas.03"
    # labelled application/pdf, but the gateway zips the PDF: bytes are kept as sent
    assert gw.attachments[0].data.startswith(b"PK\x03\x04")
    assert gw.attachments[0].content_type == "application/pdf"
    assert gw.attachments[0].description is None  # no Description anywhere
    assert len(gw.trace_headers) == 2 and gw.trace_headers[1].organ_id is None


@pytest.mark.parametrize("name", [n for n in WELL_FORMED if n.startswith("status")])
def test_status_sample_code(name: str) -> None:
    msg = read_message((_samples_dir() / name).read_bytes())
    assert isinstance(msg, StatusMessage)
    assert msg.status_code is _status_code_of(name)
    assert msg.response_for.document_id == "000.00.00.G22,2015/09/30,7816/VPCP-TTĐT"
    assert msg.timestamp is not None


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("broken_leading_bytes.edxml", "stray byte"),
        ("broken_undeclared_prefix.edxml", "xlink"),
    ],
)
def test_broken_samples_refused_on_one_line(name: str, words: str) -> None:
    with pytest.raises(NotXMLError) as info:
        read_message((_samples_dir() / name).read_bytes())
    assert type(info.value) is NotXMLError
    message = str(info.value)
    assert "\n" not in message and words in message
