"""A national-scale synthetic directory for tests and benchmarks (every entry illustrative).

Shape of the real thing before 2025: a ministry with its Office and Inspectorate, the
Government Office, 63 provinces each with a People's Committee, a Department of Information
and Communications at a province-specific index (so nothing may derive it), and about 705
district-level units, optionally with communes. Deterministic for a given seed.
"""

from __future__ import annotations

import random

from .directory import Agency, AgencyKind, Directory

MINISTRY = "000.00.00.G14"
MINISTRY_OFFICE = "000.00.01.G14"
MINISTRY_INSPECTORATE = "000.00.02.G14"
GOVERNMENT_OFFICE = "000.00.00.G22"

_FIRST_DISTRICT_INDEX = 30


def generate_national(
    provinces: int = 63,
    districts_total: int = 705,
    seed: int = 0,
    *,
    communes_per_district: int = 0,
) -> Directory:
    """Build the synthetic directory; ``ValueError`` when the sizes do not fit the code form.

    Province ``p`` is ``000.00.00.H{p:02d}``; its districts take L2 indices from 30 upwards
    (wrapping below 30, skipping the department's index); communes take L3 indices 01...
    """
    if not 1 <= provinces <= 99:
        raise ValueError("provinces must be between 1 and 99 (H01..H99)")
    if districts_total < 0 or not 0 <= communes_per_district <= 99:
        raise ValueError("districts_total must be >= 0 and communes_per_district 0..99")
    base, extra = divmod(districts_total, provinces)
    if base + (1 if extra else 0) > 97:
        raise ValueError(f"{districts_total} districts do not fit in {provinces} provinces")
    rng = random.Random(seed)
    bigger = set(rng.sample(range(provinces), extra))
    out = [
        Agency(MINISTRY, "Bộ Thông tin và Truyền thông", AgencyKind.MINISTRY, illustrative=True),
        Agency(
            MINISTRY_OFFICE,
            "Văn phòng Bộ Thông tin và Truyền thông",
            AgencyKind.MINISTRY_UNIT,
            parent=MINISTRY,
            illustrative=True,
        ),
        Agency(
            MINISTRY_INSPECTORATE,
            "Thanh tra Bộ Thông tin và Truyền thông",
            AgencyKind.INSPECTORATE,
            parent=MINISTRY,
            illustrative=True,
        ),
        Agency(
            GOVERNMENT_OFFICE, "Văn phòng Chính phủ", AgencyKind.CENTRAL_BODY, illustrative=True
        ),
    ]
    for p in range(provinces):
        top = f"H{p + 1:02d}"
        province = f"000.00.00.{top}"
        label = f"Mẫu {p + 1:02d}"
        dic_index = rng.randint(2, _FIRST_DISTRICT_INDEX - 1)
        out.append(
            Agency(
                province, f"Ủy ban nhân dân tỉnh {label}", AgencyKind.PROVINCE, illustrative=True
            )
        )
        out.append(
            Agency(
                f"000.00.{dic_index:02d}.{top}",
                f"Sở Thông tin và Truyền thông tỉnh {label}",
                AgencyKind.DEPARTMENT_OF_IC,
                parent=province,
                illustrative=True,
            )
        )
        indices = [
            i
            for i in (*range(_FIRST_DISTRICT_INDEX, 100), *range(1, _FIRST_DISTRICT_INDEX))
            if i != dic_index
        ]
        for n in range(base + (1 if p in bigger else 0)):
            district = f"000.00.{indices[n]:02d}.{top}"
            out.append(
                Agency(
                    district,
                    f"Ủy ban nhân dân huyện {n + 1:02d} tỉnh {label}",
                    AgencyKind.DISTRICT,
                    parent=province,
                    illustrative=True,
                )
            )
            for c in range(1, communes_per_district + 1):
                out.append(
                    Agency(
                        f"000.{c:02d}.{indices[n]:02d}.{top}",
                        f"Ủy ban nhân dân xã {c:02d} huyện {n + 1:02d} tỉnh {label}",
                        AgencyKind.COMMUNE,
                        parent=district,
                        illustrative=True,
                    )
                )
    return Directory(out, strict_codes=True)
