"""The directory: hierarchy, districts, Departments of IC, old codes, edXML organs."""

from __future__ import annotations

import pytest

from interchange.edxml.model import Organ
from interchange.errors import DirectoryError, OrganError, UnknownOrganError
from interchange.organs import (
    Agency,
    AgencyKind,
    Directory,
    Resolution,
    demo_directory_path,
    load_demo_directory,
    load_directory,
)

TAY_NINH = "000.00.00.H53"
TAY_NINH_DIC = "000.00.13.H53"
BEN_CAU = "000.00.31.H53"
BEN_CAU_TOWNSHIP = "000.20.31.H53"
MINISTRY = "000.00.00.G14"
INSPECTORATE = "000.00.02.G14"


@pytest.fixture(scope="module")
def demo() -> Directory:
    return load_demo_directory()


def test_demo_file_is_shipped_and_loads(demo: Directory) -> None:
    assert demo_directory_path().is_file()
    assert load_directory(demo_directory_path()) == demo
    assert len(demo) == len(list(demo)) >= 40
    assert TAY_NINH_DIC in demo and "nope" not in demo and 42 not in demo


def test_confirmed_codes_are_not_illustrative(demo: Directory) -> None:
    confirmed = {
        MINISTRY,
        "000.00.01.G14",
        INSPECTORATE,
        "000.00.00.G22",
        TAY_NINH,
        TAY_NINH_DIC,
        BEN_CAU,
        BEN_CAU_TOWNSHIP,
    }
    for code in confirmed:
        assert not demo.get(code).illustrative, code
    assert demo.get("000.00.30.H53").illustrative  # Tây Ninh city: no source for its code


def test_hierarchy(demo: Directory) -> None:
    assert demo.get(BEN_CAU).name == "Ủy ban nhân dân huyện Bến Cầu"
    assert demo.parent(BEN_CAU_TOWNSHIP) == demo.get(BEN_CAU)
    assert demo.parent(TAY_NINH) is None
    assert [a.code for a in demo.ancestors(BEN_CAU_TOWNSHIP)] == [BEN_CAU, TAY_NINH]
    assert demo.ancestors(TAY_NINH) == ()
    assert {a.code for a in demo.children(BEN_CAU)} == {BEN_CAU_TOWNSHIP, "000.21.31.H53"}
    assert BEN_CAU_TOWNSHIP in {a.code for a in demo.descendants(TAY_NINH)}
    assert demo.province_of(BEN_CAU_TOWNSHIP) == demo.get(TAY_NINH)
    assert demo.province_of(INSPECTORATE) is None


def test_districts_of_tay_ninh(demo: Directory) -> None:
    names = {a.name.split(" ", 4)[-1] for a in demo.districts_of(TAY_NINH)}
    assert names == {
        "thành phố Tây Ninh",
        "thị xã Hòa Thành",
        "thị xã Trảng Bàng",
        "huyện Gò Dầu",
        "huyện Bến Cầu",
        "huyện Dương Minh Châu",
        "huyện Tân Châu",
        "huyện Tân Biên",
        "huyện Châu Thành",
    }
    assert all(
        a.kind is AgencyKind.DISTRICT and a.parent == TAY_NINH for a in demo.districts_of(TAY_NINH)
    )
    # The department is a child of the province but not a district; communes are grandchildren.
    codes = {a.code for a in demo.districts_of(TAY_NINH)}
    assert TAY_NINH_DIC not in codes and BEN_CAU_TOWNSHIP not in codes
    assert demo.districts_of(TAY_NINH, level="commune") == ()


def test_districts_of_other_provinces(demo: Directory) -> None:
    assert len(demo.districts_of("000.00.00.H41")) == 20  # Nghệ An after Cửa Lò joined Vinh
    assert len(demo.districts_of("000.00.00.H14")) == 10  # Cao Bằng after the 2020 mergers


def test_districts_of_needs_a_province(demo: Directory) -> None:
    with pytest.raises(OrganError, match="not a Provincial People's Committee"):
        demo.districts_of(TAY_NINH_DIC)
    with pytest.raises(UnknownOrganError):
        demo.districts_of("000.00.00.H99")
    with pytest.raises(ValueError):
        demo.districts_of(TAY_NINH, level="ward")  # type: ignore[arg-type]


def test_communes_after_2025_answer_to_the_province() -> None:
    d = Directory(
        [
            Agency("000.00.00.H53", "Ủy ban nhân dân tỉnh Tây Ninh", AgencyKind.PROVINCE),
            Agency("000.00.13.H53", "Sở", AgencyKind.DEPARTMENT, parent="000.00.00.H53"),
            Agency(
                "000.01.00.H53", "Ủy ban nhân dân xã A", AgencyKind.COMMUNE, parent="000.00.00.H53"
            ),
            Agency(
                "000.02.00.H53",
                "Ủy ban nhân dân phường B",
                AgencyKind.COMMUNE,
                parent="000.00.00.H53",
            ),
        ]
    )
    assert [a.code for a in d.districts_of("000.00.00.H53", level="commune")] == [
        "000.01.00.H53",
        "000.02.00.H53",
    ]
    assert d.districts_of("000.00.00.H53") == ()


def test_department_of_ic_is_looked_up(demo: Directory) -> None:
    assert demo.department_of_ic(TAY_NINH).code == TAY_NINH_DIC
    # A different index in each province: never derived from Tây Ninh's 13.
    assert demo.department_of_ic("000.00.00.H41").code == "000.00.19.H41"
    assert demo.department_of_ic("000.00.00.H14").code == "000.00.08.H14"
    d = Directory([Agency("000.00.00.H01", "Ủy ban nhân dân tỉnh X", AgencyKind.PROVINCE)])
    with pytest.raises(UnknownOrganError):
        d.department_of_ic("000.00.00.H01")


def test_ministry_inspectorate(demo: Directory) -> None:
    assert demo.ministry_inspectorate().code == INSPECTORATE
    assert demo.ministry_inspectorate(MINISTRY).code == INSPECTORATE
    assert [a.code for a in demo.by_kind("inspectorate")] == [INSPECTORATE]
    with pytest.raises(UnknownOrganError):
        demo.ministry_inspectorate("000.00.00.G22")
    two = Directory(
        [
            Agency("000.00.00.G14", "Bộ A", AgencyKind.MINISTRY),
            Agency(
                "000.00.02.G14", "Thanh tra Bộ A", AgencyKind.INSPECTORATE, parent="000.00.00.G14"
            ),
            Agency("000.00.00.G15", "Bộ B", AgencyKind.MINISTRY),
            Agency(
                "000.00.02.G15", "Thanh tra Bộ B", AgencyKind.INSPECTORATE, parent="000.00.00.G15"
            ),
        ]
    )
    with pytest.raises(OrganError, match="name the ministry"):
        two.ministry_inspectorate()
    assert two.ministry_inspectorate("000.00.00.G15").code == "000.00.02.G15"


def test_old_code_resolves_to_successor(demo: Directory) -> None:
    assert demo.resolve(TAY_NINH_DIC) == Resolution(TAY_NINH_DIC)
    assert not demo.resolve(TAY_NINH_DIC).substituted
    cua_lo = demo.resolve(" 000.00.41.H41 ")
    assert cua_lo == Resolution("000.00.40.H41", substituted_from="000.00.41.H41")
    assert cua_lo.substituted
    assert demo.resolve("000.00.42.H14").code == "000.00.37.H14"  # Phục Hòa → Quảng Hòa
    assert demo.knows("000.00.41.H41") and "000.00.41.H41" not in demo
    assert demo.lookup("000.00.43.H14").name == "Ủy ban nhân dân huyện Trùng Khánh"
    with pytest.raises(UnknownOrganError, match=r"became 000\.00\.40\.H41"):
        demo.get("000.00.41.H41")
    with pytest.raises(UnknownOrganError):
        demo.resolve("000.00.99.H41")
    with pytest.raises(UnknownOrganError):
        demo.resolve("not an id")


def test_chain_of_renames_followed() -> None:
    d = Directory(
        [
            Agency(
                "000.00.00.H53",
                "Ủy ban nhân dân tỉnh Tây Ninh",
                AgencyKind.PROVINCE,
                old_codes=("000.00.00.H99",),
            ),
        ],
        renames={"28.22.H17": "000.00.00.H98", "000.00.00.H98": "000.00.00.H99"},
    )
    assert d.resolve("28.22.H17") == Resolution("000.00.00.H53", substituted_from="28.22.H17")
    assert d.resolve("000.00.00.H98").code == "000.00.00.H53"
    assert d.old_codes() == {
        "000.00.00.H99": "000.00.00.H53",
        "28.22.H17": "000.00.00.H53",
        "000.00.00.H98": "000.00.00.H53",
    }
    assert d.districts_of("000.00.00.H99") == ()  # an old province code is resolved first


def test_to_organ(demo: Directory) -> None:
    organ = demo.to_organ(TAY_NINH_DIC)
    assert organ == Organ(
        organ_id=TAY_NINH_DIC,
        organization_in_charge="Ủy ban nhân dân tỉnh Tây Ninh",
        organ_name="Sở Thông tin và Truyền thông tỉnh Tây Ninh",
    )
    assert demo.to_organ(MINISTRY).organization_in_charge == "Bộ Thông tin và Truyền thông"
    assert demo.to_organ(MINISTRY).organ_add == "18 Nguyễn Du, Hai Bà Trưng, Hà Nội"
    assert demo.to_organ("000.00.41.H41").organ_id == "000.00.40.H41"


@pytest.mark.parametrize(
    ("agencies", "renames", "message"),
    [
        ([Agency("000.00.00.H53", "A"), Agency("000.00.00.H53", "B")], None, "duplicate"),
        ([Agency("000.00.31.H53", "A", parent="000.00.00.H53")], None, "unknown parent"),
        ([Agency("000.00.31.H53", "A", parent="000.00.31.H53")], None, "parent cycle"),
        ([Agency("000.00.00.H53", "A", old_codes=("000.00.00.H53",))], None, "also a live"),
        (
            [
                Agency("000.00.00.H53", "A"),
                Agency("000.00.00.H54", "B", old_codes=("000.00.00.H53",)),
            ],
            None,
            "also a live",
        ),
        (
            [
                Agency("000.00.00.H53", "A", old_codes=("x.1",)),
                Agency("000.00.00.H54", "B", old_codes=("x.1",)),
            ],
            None,
            "claimed by both",
        ),
        ([Agency("000.00.00.H53", "A")], {"x.1": "x.2", "x.2": "x.1"}, "rename cycle"),
        ([Agency("000.00.00.H53", "A")], {"x.1": "x.2"}, "not in the directory"),
        ([Agency("000.00.00.H53", "A")], {"000.00.00.H53": "000.00.00.H53"}, "also a live"),
        ([Agency("000.00.00.H53", " ")], None, "no name"),
        ([Agency(" 000.00.00.H53", "A")], None, "whitespace"),
        ([Agency("a b", "A")], None, "agency code"),
        (
            [
                Agency("000.00.00.H53", "A", AgencyKind.PROVINCE),
                Agency("000.00.13.H53", "B", AgencyKind.DEPARTMENT_OF_IC, parent="000.00.00.H53"),
                Agency("000.00.14.H53", "C", AgencyKind.DEPARTMENT_OF_IC, parent="000.00.00.H53"),
            ],
            None,
            "two Departments of IC",
        ),
    ],
)
def test_invalid_directories_refused(
    agencies: list[Agency], renames: dict[str, str] | None, message: str
) -> None:
    with pytest.raises(DirectoryError, match=message) as info:
        Directory(agencies, renames=renames)
    assert "\n" not in str(info.value)


def test_longer_parent_cycle_named() -> None:
    with pytest.raises(DirectoryError, match=r"parent cycle: .*000\.00\.01\.H53.*000\.00\.02\.H53"):
        Directory(
            [
                Agency("000.00.00.H53", "root"),
                Agency("000.00.01.H53", "A", parent="000.00.02.H53"),
                Agency("000.00.02.H53", "B", parent="000.00.03.H53"),
                Agency("000.00.03.H53", "C", parent="000.00.01.H53"),
            ]
        )


def test_strict_codes_refuse_legacy_live_codes() -> None:
    assert "vxp.saas.03" in Directory([Agency("vxp.saas.03", "test system")])
    with pytest.raises(DirectoryError, match="four-group"):
        Directory([Agency("vxp.saas.03", "test system")], strict_codes=True)
