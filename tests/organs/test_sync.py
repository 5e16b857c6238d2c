"""The directory from the axis's agency list (getAgenciesList: pid, oldCode) and back."""

from __future__ import annotations

import pytest

from adapters.base import AgencyInfo
from interchange.errors import DirectoryError
from interchange.organs import AgencyKind, Directory, guess_kind, load_demo_directory


def test_round_trip_keeps_codes_parents_and_kinds() -> None:
    demo = load_demo_directory()
    rows = demo.to_agency_list()
    assert len(rows) == len(demo)
    vinh = next(r for r in rows if r.code == "000.00.40.H41")
    assert vinh == AgencyInfo(
        "000.00.40.H41",
        "Ủy ban nhân dân thành phố Vinh",
        parent="000.00.00.H41",
        old_code="000.00.41.H41",
    )
    synced = Directory.from_agency_list(rows)
    assert synced.to_agency_list() == rows
    # Kinds come back from the official names alone.
    assert {a.code: a.kind for a in synced} == {a.code: a.kind for a in demo}
    assert [a.code for a in synced.districts_of("000.00.00.H53")] == [
        a.code for a in demo.districts_of("000.00.00.H53")
    ]
    assert synced.department_of_ic("000.00.00.H41").code == "000.00.19.H41"
    assert synced.resolve("000.00.41.H41").code == "000.00.40.H41"
    assert not any(a.illustrative for a in synced)  # the axis lists them


def test_sync_over_base_keeps_kinds_and_history() -> None:
    base = Directory.from_agency_list(
        [
            AgencyInfo("000.00.00.H53", "UBND tỉnh Tây Ninh"),
            AgencyInfo("000.00.31.H53", "Bến Cầu", parent="000.00.00.H53", old_code="28.22.H17"),
        ],
        kinds={"000.00.31.H53": AgencyKind.DISTRICT},
    )
    assert base.get("000.00.31.H53").kind is AgencyKind.DISTRICT
    # Later the district became another code: the axis lists only the new one.
    later = Directory.from_agency_list(
        [
            AgencyInfo("000.00.00.H53", "UBND tỉnh Tây Ninh"),
            AgencyInfo(
                "000.01.00.H53",
                "UBND xã Bến Cầu",
                parent="000.00.00.H53",
                old_code="000.00.31.H53",
                mail="bc@tayninh.gov.vn",
            ),
        ],
        base=base,
    )
    assert later.resolve("000.00.31.H53").code == "000.01.00.H53"
    assert later.resolve("28.22.H17").code == "000.01.00.H53"  # chain kept across syncs
    assert later.get("000.01.00.H53").kind is AgencyKind.COMMUNE
    assert later.get("000.01.00.H53").email == "bc@tayninh.gov.vn"


def test_sync_accepts_legacy_ids_and_empty_fields() -> None:
    d = Directory.from_agency_list(
        [
            AgencyInfo("vxp.saas.03", "Đơn vị test vxp 3", parent="", old_code=""),
            AgencyInfo(
                "000.00.00.G22",
                "Văn phòng Chính phủ",
                parent="000.00.00.G22",
                old_code="000.00.00.G22",
            ),
        ]
    )
    assert d.get("vxp.saas.03").parent is None and d.get("000.00.00.G22").old_codes == ()
    assert d.get("000.00.00.G22").kind is AgencyKind.CENTRAL_BODY


def test_unknown_parents_dropped_on_request() -> None:
    rows = [AgencyInfo("000.00.31.H53", "UBND huyện Bến Cầu", parent="4711")]
    with pytest.raises(DirectoryError, match="unknown parent 4711"):
        Directory.from_agency_list(rows)
    d = Directory.from_agency_list(rows, drop_unknown_parents=True)
    assert d.get("000.00.31.H53").parent is None


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([AgencyInfo("000.00.00.H53", "A"), AgencyInfo("000.00.00.H53", "B")], "duplicate"),
        ([AgencyInfo("000.00.31.H53", "A", parent="000.00.00.H53")], "unknown parent"),
        (
            [
                AgencyInfo("000.00.01.H53", "A", parent="000.00.02.H53"),
                AgencyInfo("000.00.02.H53", "B", parent="000.00.01.H53"),
            ],
            "parent cycle",
        ),
        ([AgencyInfo("bad id", "A")], "bad code"),
    ],
)
def test_bad_agency_lists_refused(rows: list[AgencyInfo], message: str) -> None:
    with pytest.raises(DirectoryError, match=message):
        Directory.from_agency_list(rows)


@pytest.mark.parametrize(
    ("name", "parent", "kind"),
    [
        ("Bộ Tư pháp", None, AgencyKind.MINISTRY),
        ("UBND Tỉnh Nghệ An", None, AgencyKind.PROVINCE),
        ("Văn phòng Chính phủ", None, AgencyKind.CENTRAL_BODY),
        ("Thanh tra Bộ", AgencyKind.MINISTRY, AgencyKind.INSPECTORATE),
        ("Cục An toàn thông tin", AgencyKind.MINISTRY, AgencyKind.MINISTRY_UNIT),
        (
            "Sở Thông tin và Truyền thông tỉnh Tây Ninh",
            AgencyKind.PROVINCE,
            AgencyKind.DEPARTMENT_OF_IC,
        ),
        ("Sở Tư pháp", AgencyKind.PROVINCE, AgencyKind.DEPARTMENT),
        ("Uỷ ban nhân dân thị xã Hòa Thành", AgencyKind.PROVINCE, AgencyKind.DISTRICT),
        ("UBND quận Ba Đình", AgencyKind.PROVINCE, AgencyKind.DISTRICT),
        ("UBND phường Cửa Nam", AgencyKind.PROVINCE, AgencyKind.COMMUNE),
        ("UBND thị trấn Bến Cầu", AgencyKind.DISTRICT, AgencyKind.COMMUNE),
        ("Trường học", AgencyKind.DISTRICT, AgencyKind.OTHER),
        ("Công an tỉnh", AgencyKind.PROVINCE, AgencyKind.OTHER),
    ],
)
def test_guess_kind(name: str, parent: AgencyKind | None, kind: AgencyKind) -> None:
    assert guess_kind(name, parent) is kind
