"""A directory from the axis's agency list (``getAgenciesList``: code, name, pid, oldCode).

The axis gives the hierarchy and the previous code but not the kind of each agency, which
routing needs ("the districts of X"). The kind comes, in order, from an explicit mapping, from
a base directory that already knew the agency, or from its official name, which in Vietnamese
administration says what the body is ("Ủy ban nhân dân huyện ...", "Sở ..."), read together
with the parent's kind. Codes are never interpreted.

Syncing over a ``base`` keeps history: an agency that left the list because it became
another keeps its own old codes, as renames, so chains of renames still resolve.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from ..errors import DirectoryError
from .codes import normalise_organ_id
from .directory import Agency, AgencyKind, Directory

if TYPE_CHECKING:
    from adapters.base import AgencyInfo

_PEOPLES_COMMITTEE = ("ủy ban nhân dân ", "uỷ ban nhân dân ", "ubnd ")
_DISTRICT_WORDS = ("huyện ", "quận ", "thị xã ", "thành phố ")
_COMMUNE_WORDS = ("xã ", "phường ", "thị trấn ", "đặc khu ")
_DEPT_OF_IC = ("sở thông tin và truyền thông", "sở thông tin truyền thông", "sở tt&tt", "sở tttt")


def guess_kind(name: str, parent_kind: AgencyKind | None) -> AgencyKind:
    """The kind an official name and its parent's kind imply (``OTHER`` when unsure)."""
    text = " ".join(unicodedata.normalize("NFC", name).casefold().split()) + " "
    committee_of = next(
        (text[len(p) :] for p in _PEOPLES_COMMITTEE if text.startswith(p)),
        None,
    )
    if parent_kind is None:
        if text.startswith("bộ "):
            return AgencyKind.MINISTRY
        if committee_of is not None:
            return AgencyKind.PROVINCE
        return AgencyKind.CENTRAL_BODY
    if parent_kind is AgencyKind.MINISTRY:
        return AgencyKind.INSPECTORATE if text.startswith("thanh tra") else AgencyKind.MINISTRY_UNIT
    if parent_kind is AgencyKind.PROVINCE:
        if text.startswith(_DEPT_OF_IC):
            return AgencyKind.DEPARTMENT_OF_IC
        if committee_of is not None:
            if committee_of.startswith(_DISTRICT_WORDS):
                return AgencyKind.DISTRICT
            if committee_of.startswith(_COMMUNE_WORDS):
                return AgencyKind.COMMUNE
        if text.startswith(("sở ", "ban ", "thanh tra tỉnh", "văn phòng")):
            return AgencyKind.DEPARTMENT
        return AgencyKind.OTHER
    if parent_kind is AgencyKind.DISTRICT and committee_of is not None:
        if committee_of.startswith(_COMMUNE_WORDS):
            return AgencyKind.COMMUNE
    return AgencyKind.OTHER


def directory_from_agency_list(
    infos: Iterable[AgencyInfo],
    *,
    base: Directory | None = None,
    kinds: Mapping[str, AgencyKind] | None = None,
    drop_unknown_parents: bool = False,
) -> Directory:
    """See ``Directory.from_agency_list``. Legacy ids in the list are kept as opaque codes."""
    rows: dict[str, AgencyInfo] = {}
    parents: dict[str, str | None] = {}
    for info in infos:
        code = _id(info.code, "code")
        if code in rows:
            raise DirectoryError(f"agency list: duplicate agency code {code}")
        rows[code] = info
        parent = _id(info.parent, "parent") if info.parent else None
        parents[code] = None if parent == code else parent

    if drop_unknown_parents:  # a list that names parents outside itself: treat them as tops
        parents = {c: (p if p in rows else None) for c, p in parents.items()}
    resolved_kinds: dict[str, AgencyKind] = {}

    def kind_of(code: str, seen: frozenset[str] = frozenset()) -> AgencyKind | None:
        if code in resolved_kinds:
            return resolved_kinds[code]
        if code not in rows or code in seen:  # unknown parent or a cycle: the Directory refuses
            return None
        if kinds and code in kinds:
            kind = AgencyKind(kinds[code])
        elif base is not None and (known := base.find(code)) is not None:
            kind = known.kind
        else:
            parent = parents[code]
            parent_kind = kind_of(parent, seen | {code}) if parent else None
            kind = guess_kind(rows[code].name, parent_kind)
        resolved_kinds[code] = kind
        return kind

    agencies: list[Agency] = []
    for code, info in rows.items():
        old = _id(info.old_code, "oldCode") if info.old_code else None
        known = base.find(code) if base is not None else None
        old_codes = [old] if old and old != code else []
        if known is not None:
            old_codes += [o for o in known.old_codes if o not in old_codes and o not in rows]
        agencies.append(
            Agency(
                code=code,
                name=(info.name or "").strip() or code,
                kind=kind_of(code) or AgencyKind.OTHER,
                parent=parents[code],
                old_codes=tuple(o for o in old_codes if o not in rows),
                address=known.address if known else None,
                email=info.mail or (known.email if known else None),
                phone=known.phone if known else None,
                illustrative=False,  # the axis lists it: confirmed
            )
        )
    renames = _inherited_renames(base, rows, agencies) if base is not None else {}
    return Directory(agencies, renames=renames)


def _id(value: str | None, what: str) -> str:
    try:
        return normalise_organ_id(value or "")
    except Exception as exc:
        raise DirectoryError(f"agency list: bad {what}: {exc}") from None


def _inherited_renames(
    base: Directory, rows: Mapping[str, AgencyInfo], agencies: Iterable[Agency]
) -> dict[str, str]:
    """Renames of the base that still lead somewhere live, plus retired agencies' old codes."""
    claimed = {o for a in agencies for o in a.old_codes}
    candidates: dict[str, str] = dict(base.renames)
    for agency in base:
        if agency.code not in rows:
            for old in agency.old_codes:
                candidates.setdefault(old, agency.code)
    candidates = {o: n for o, n in candidates.items() if o not in rows and o not in claimed}
    # Keep only chains that end at a live code (an agency dissolved without successor drops).
    kept: dict[str, str] = {}
    for old in candidates:
        current, steps = old, 0
        while current in candidates and steps <= len(candidates):
            current, steps = candidates[current], steps + 1
        if current in rows or current in claimed:
            kept[old] = candidates[old]
    return kept
