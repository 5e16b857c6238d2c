"""The national-scale synthetic directory: sizes, uniqueness, determinism."""

from __future__ import annotations

import pytest

from interchange.organs import AgencyKind, generate_national, is_four_group


def test_national_sizes() -> None:
    d = generate_national()
    provinces = d.by_kind(AgencyKind.PROVINCE)
    assert len(provinces) == 63
    assert len(d.by_kind(AgencyKind.DISTRICT)) == 705
    assert sum(len(d.districts_of(p.code)) for p in provinces) == 705
    counts = {len(d.districts_of(p.code)) for p in provinces}
    assert counts <= {11, 12}
    assert len(d.by_kind(AgencyKind.DEPARTMENT_OF_IC)) == 63
    assert d.ministry_inspectorate().code == "000.00.02.G14"
    codes = [a.code for a in d]
    assert len(codes) == len(set(codes)) == len(d)
    assert all(is_four_group(c) for c in codes)
    assert all(a.illustrative for a in d)


def test_department_index_varies_and_is_looked_up() -> None:
    d = generate_national()
    indices = {d.department_of_ic(p.code).code.split(".")[2] for p in d.by_kind("province")}
    assert len(indices) > 5
    for p in d.by_kind("province"):
        dic = d.department_of_ic(p.code).code
        assert dic not in {a.code for a in d.districts_of(p.code)}


def test_deterministic_by_seed() -> None:
    assert generate_national(seed=3) == generate_national(seed=3)
    assert generate_national(seed=3) != generate_national(seed=4)


def test_small_and_with_communes() -> None:
    d = generate_national(provinces=2, districts_total=3, communes_per_district=4)
    assert len(d.by_kind(AgencyKind.DISTRICT)) == 3
    assert len(d.by_kind(AgencyKind.COMMUNE)) == 12
    district = d.by_kind(AgencyKind.DISTRICT)[0]
    assert all(c.kind is AgencyKind.COMMUNE for c in d.children(district.code))


@pytest.mark.parametrize(
    ("provinces", "districts", "communes"),
    [(0, 10, 0), (100, 10, 0), (1, 98, 0), (2, 5, 100), (2, -1, 0)],
)
def test_impossible_sizes_refused(provinces: int, districts: int, communes: int) -> None:
    with pytest.raises(ValueError):
        generate_national(provinces, districts, communes_per_district=communes)
