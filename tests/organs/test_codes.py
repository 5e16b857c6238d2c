"""Agency codes: the four-group form parsed strictly, legacy ids accepted as opaque ids."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from interchange.errors import OrganCodeError
from interchange.organs import (
    OrganCode,
    check_organ_id,
    is_four_group,
    normalise_organ_id,
    parse_code,
)


def test_parse_four_group_levels() -> None:
    code = parse_code("000.00.13.H53")
    assert code == OrganCode("000", "00", "13", "H53")
    assert (code.l4, code.l3, code.l2, code.l1) == ("000", "00", "13", "H53")
    assert str(code) == code.text == "000.00.13.H53"
    assert code.letter == "H"
    assert code.is_province and not code.is_central
    assert str(code.top) == "000.00.00.H53"
    assert code.depth == 1 and not code.is_top


def test_central_and_top() -> None:
    ministry = parse_code("000.00.00.G14")
    assert ministry.is_central and not ministry.is_province
    assert ministry.is_top and ministry.depth == 0
    assert ministry.parent_candidate() is None


def test_parent_candidate_is_a_shape_hint() -> None:
    assert str(parse_code("000.20.31.H53").parent_candidate()) == "000.00.31.H53"
    assert str(parse_code("000.00.31.H53").parent_candidate()) == "000.00.00.H53"
    assert str(parse_code("001.01.28.G14").parent_candidate()) == "000.01.28.G14"


def test_surrounding_whitespace_is_stripped_by_parse() -> None:
    assert str(parse_code("  000.00.02.G14\n")) == "000.00.02.G14"
    assert not is_four_group(" 000.00.02.G14")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "000.00.13",
        "00.00.13.H53",
        "000.0.13.H53",
        "000.00.013.H53",
        "000.00.13.H5",
        "000.00.13.H533",
        "000.00.13.53",
        "000.00.13.h53",
        "000-00-13-H53",
        "000.00.13.H53.1",
        "000.00.1a.H53",
        "٠٠٠.00.13.H53",  # Arabic-Indic digits match \d, not the standard
        "000.00.13.JB2",
        "28.22.H17",
        "vxp.saas.03",
    ],
)
def test_malformed_codes_refused(text: str) -> None:
    with pytest.raises(OrganCodeError) as info:
        parse_code(text)
    assert "\n" not in str(info.value)
    assert not is_four_group(text)


def test_non_text_refused() -> None:
    with pytest.raises(OrganCodeError):
        parse_code(53)  # type: ignore[arg-type]
    with pytest.raises(OrganCodeError):
        normalise_organ_id(None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text", ["28.22.H17", "01.02.G22", "vxp.saas.03", "001.00.20.JB2", "000.00.13.H53"]
)
def test_legacy_ids_accepted_as_opaque(text: str) -> None:
    assert normalise_organ_id(f" {text} ") == text
    assert check_organ_id(text) == text


@pytest.mark.parametrize("text", ["", "   ", "a b", "x/y", "<OrganId>", "a" * 65, "mã.định.danh"])
def test_opaque_ids_with_bad_characters_refused(text: str) -> None:
    with pytest.raises(OrganCodeError):
        normalise_organ_id(text)


def test_check_without_legacy_requires_four_group() -> None:
    assert check_organ_id("000.00.31.H53", allow_legacy=False) == "000.00.31.H53"
    with pytest.raises(OrganCodeError, match=re.escape("28.22.H17")):
        check_organ_id("28.22.H17", allow_legacy=False)


def test_codes_order_and_hash() -> None:
    codes = {parse_code("000.00.31.H53"), parse_code("000.00.31.H53"), parse_code("000.00.13.H53")}
    assert sorted(map(str, codes)) == ["000.00.13.H53", "000.00.31.H53"]


@given(
    st.integers(0, 999),
    st.integers(0, 99),
    st.integers(0, 99),
    st.sampled_from("AGHIKW"),
    st.integers(0, 99),
)
def test_four_group_round_trip(l4: int, l3: int, l2: int, letter: str, top: int) -> None:
    text = f"{l4:03d}.{l3:02d}.{l2:02d}.{letter}{top:02d}"
    code = parse_code(text)
    assert str(code) == text and is_four_group(text)
    assert parse_code(str(code.top)).is_top
    assert normalise_organ_id(text) == check_organ_id(text, allow_legacy=False) == text


@given(st.text(max_size=30))
def test_arbitrary_text_never_crashes(text: str) -> None:
    try:
        parse_code(text)
    except OrganCodeError as exc:
        assert "\n" not in str(exc)
    try:
        normalise_organ_id(text)
    except OrganCodeError as exc:
        assert "\n" not in str(exc)
