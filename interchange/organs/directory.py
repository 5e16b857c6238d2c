"""The agency directory: who exists, who answers to whom, which old code became which.

The hierarchy is data (a directory file, or the axis's agency list), never derived from the
shape of codes: agencies are merged and renamed, and in 2025 districts were abolished with
communes answering to the province. Every question routing asks ("the districts of province
X", "X's Department of Information and Communications", "where does old code Y go now") is
a dictionary lookup, because routing asks it for every document. A ``Directory`` is checked
once when it is built (duplicates, unknown parents, parent cycles, rename chains) and is
immutable afterwards.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Literal

from ..edxml.model import Organ
from ..errors import DirectoryError, OrganCodeError, OrganError, UnknownOrganError
from .codes import is_four_group, normalise_organ_id

if TYPE_CHECKING:
    from adapters.base import AgencyInfo

Level = Literal["district", "commune"]


class AgencyKind(StrEnum):
    """What an agency is; routing asks by kind, never by code shape."""

    MINISTRY = "ministry"
    INSPECTORATE = "inspectorate"  # a ministry's Inspectorate (Thanh tra Bộ)
    MINISTRY_UNIT = "ministry_unit"
    CENTRAL_BODY = "central_body"
    PROVINCE = "province"  # the Provincial People's Committee
    DEPARTMENT = "department"
    DEPARTMENT_OF_IC = "department_of_ic"  # Sở Thông tin và Truyền thông
    DISTRICT = "district"
    COMMUNE = "commune"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Agency:
    """One agency. ``illustrative`` is true when no public source confirms the code."""

    code: str
    name: str
    kind: AgencyKind = AgencyKind.OTHER
    parent: str | None = None
    old_codes: tuple[str, ...] = ()
    address: str | None = None
    email: str | None = None
    phone: str | None = None
    illustrative: bool = False


@dataclass(frozen=True, slots=True)
class Resolution:
    """Where a code goes now. ``substituted_from`` is the old code when one was replaced."""

    code: str
    substituted_from: str | None = None

    @property
    def substituted(self) -> bool:
        return self.substituted_from is not None


class Directory:
    """An immutable, validated set of agencies with O(1) lookups.

    Construction raises ``DirectoryError`` (one line) for: a malformed code, a duplicate
    code, an unknown parent, a parent cycle, an old code that is also a live code or is
    claimed twice, a rename chain that loops or ends nowhere, two Departments of IC under one
    parent. ``strict_codes`` demands the four-group form of live codes (files we write);
    synced lists may carry legacy ids, kept opaque.
    """

    __slots__ = ("_agencies", "_by_kind", "_children", "_renames", "_successor")

    def __init__(
        self,
        agencies: Iterable[Agency],
        *,
        renames: Mapping[str, str] | None = None,
        strict_codes: bool = False,
    ) -> None:
        table: dict[str, Agency] = {}
        for agency in agencies:
            code = _checked(agency.code, strict_codes, "agency code")
            if code in table:
                raise DirectoryError(f"duplicate agency code {code}")
            if not agency.name or not agency.name.strip():
                raise DirectoryError(f"agency {code} has no name")
            if not isinstance(agency.kind, AgencyKind):
                raise DirectoryError(f"agency {code} has an unknown kind {agency.kind!r}")
            table[code] = agency
        self._agencies: dict[str, Agency] = table
        self._children: dict[str, list[str]] = {}
        self._by_kind: dict[AgencyKind, list[str]] = {}
        for code, agency in table.items():
            self._by_kind.setdefault(agency.kind, []).append(code)
            if agency.parent is None:
                continue
            if agency.parent not in table:
                raise DirectoryError(f"agency {code} names an unknown parent {agency.parent}")
            self._children.setdefault(agency.parent, []).append(code)
        _check_parent_cycles(table)
        _check_single_department_of_ic(self)
        self._renames: dict[str, str] = {}
        direct: dict[str, str] = {}
        for code, agency in table.items():
            for old in agency.old_codes:
                _add_rename(direct, table, _checked(old, False, "old code"), code)
        for old, new in (renames or {}).items():
            old_id = _checked(old, False, "old code")
            new_id = _checked(new, False, "rename target")
            _add_rename(direct, table, old_id, new_id)
            self._renames[old_id] = new_id
        self._successor: dict[str, str] = _follow_chains(direct, table)

    # --- lookups -------------------------------------------------------------------------

    def __contains__(self, code: object) -> bool:
        """Live codes only; use ``knows`` to include old codes."""
        return isinstance(code, str) and code.strip() in self._agencies

    def __len__(self) -> int:
        return len(self._agencies)

    def __iter__(self) -> Iterator[Agency]:
        return iter(self._agencies.values())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Directory):
            return NotImplemented
        return self._agencies == other._agencies and self._renames == other._renames

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<Directory {len(self)} agencies, {len(self._successor)} old codes>"

    def knows(self, code: str) -> bool:
        """True for a live code or an old code that resolves to one."""
        code = code.strip()
        return code in self._agencies or code in self._successor

    def codes(self) -> tuple[str, ...]:
        return tuple(self._agencies)

    @property
    def renames(self) -> Mapping[str, str]:
        """Explicit renames (retired code → the code it became), besides agencies' old codes."""
        return dict(self._renames)

    def old_codes(self) -> Mapping[str, str]:
        """Every old code → the live code it resolves to (chains followed)."""
        return dict(self._successor)

    def get(self, code: str) -> Agency:
        """The live agency with exactly this code; ``UnknownOrganError`` otherwise."""
        key = code.strip() if isinstance(code, str) else code
        agency = self._agencies.get(key)
        if agency is not None:
            return agency
        if key in self._successor:
            raise UnknownOrganError(
                f"agency code {key} is no longer in use: it became {self._successor[key]}"
            )
        raise UnknownOrganError(f"unknown agency {key!r}")

    def find(self, code: str) -> Agency | None:
        return self._agencies.get(code.strip())

    def resolve(self, code: str) -> Resolution:
        """The live code a document addressed to ``code`` must reach, recording a substitution."""
        try:
            key = normalise_organ_id(code)
        except OrganCodeError as exc:
            raise UnknownOrganError(str(exc)) from None
        if key in self._agencies:
            return Resolution(key)
        successor = self._successor.get(key)
        if successor is None:
            raise UnknownOrganError(f"unknown agency {key!r}")
        return Resolution(successor, substituted_from=key)

    def lookup(self, code: str) -> Agency:
        """The agency for a live or old code (old codes resolved to their successor)."""
        return self._agencies[self.resolve(code).code]

    def parent(self, code: str) -> Agency | None:
        agency = self.get(code)
        return None if agency.parent is None else self._agencies[agency.parent]

    def children(self, code: str) -> tuple[Agency, ...]:
        agency = self.get(code)
        return tuple(self._agencies[c] for c in self._children.get(agency.code, ()))

    def ancestors(self, code: str) -> tuple[Agency, ...]:
        """Parent first, the top body last."""
        out: list[Agency] = []
        current = self.get(code).parent
        while current is not None:
            agency = self._agencies[current]
            out.append(agency)
            current = agency.parent
        return tuple(out)

    def descendants(self, code: str) -> tuple[Agency, ...]:
        """Every agency below ``code``, breadth first."""
        out: list[Agency] = []
        queue = [self.get(code).code]
        while queue:
            nxt: list[str] = []
            for c in queue:
                for child in self._children.get(c, ()):
                    out.append(self._agencies[child])
                    nxt.append(child)
            queue = nxt
        return tuple(out)

    def by_kind(self, kind: AgencyKind | str) -> tuple[Agency, ...]:
        return tuple(self._agencies[c] for c in self._by_kind.get(AgencyKind(kind), ()))

    def province_of(self, code: str) -> Agency | None:
        """The Provincial People's Committee an agency belongs to (itself for a province)."""
        agency = self.lookup(code)
        if agency.kind is AgencyKind.PROVINCE:
            return agency
        for ancestor in self.ancestors(agency.code):
            if ancestor.kind is AgencyKind.PROVINCE:
                return ancestor
        return None

    def _province(self, province_code: str) -> Agency:
        agency = self.lookup(province_code)
        if agency.kind is not AgencyKind.PROVINCE:
            raise OrganError(
                f"{agency.code} ({agency.name}) is a {agency.kind.value}, "
                "not a Provincial People's Committee"
            )
        return agency

    def districts_of(self, province_code: str, level: Level = "district") -> tuple[Agency, ...]:
        """The children of the province's People's Committee marked as districts (or communes).

        ``level="commune"`` asks for communes answering directly to the province (the 2025
        structure). An old province code is resolved to its successor first.
        """
        if level not in ("district", "commune"):
            raise ValueError(f"level must be 'district' or 'commune', not {level!r}")
        province = self._province(province_code)
        kind = AgencyKind.DISTRICT if level == "district" else AgencyKind.COMMUNE
        return tuple(
            self._agencies[c]
            for c in self._children.get(province.code, ())
            if self._agencies[c].kind is kind
        )

    def department_of_ic(self, province_code: str) -> Agency:
        """The province's Department of Information and Communications, as the directory says."""
        province = self._province(province_code)
        for c in self._children.get(province.code, ()):
            if self._agencies[c].kind is AgencyKind.DEPARTMENT_OF_IC:
                return self._agencies[c]
        raise UnknownOrganError(
            f"no Department of Information and Communications under {province.code} "
            "in the directory"
        )

    def ministry_inspectorate(self, ministry_code: str | None = None) -> Agency:
        """The Inspectorate of ``ministry_code``, or the only ministry inspectorate there is."""
        if ministry_code is not None:
            ministry = self.lookup(ministry_code)
            found = [a for a in self.children(ministry.code) if a.kind is AgencyKind.INSPECTORATE]
            where = f" under {ministry.code}"
        else:
            found = [
                a
                for a in self.by_kind(AgencyKind.INSPECTORATE)
                if a.parent is not None and self._agencies[a.parent].kind is AgencyKind.MINISTRY
            ]
            where = ""
        if len(found) == 1:
            return found[0]
        if not found:
            raise UnknownOrganError(f"no ministry inspectorate{where} in the directory")
        raise OrganError(f"{len(found)} ministry inspectorates{where}: name the ministry")

    def to_organ(self, code: str) -> Organ:
        """The edXML ``From``/``To`` block for an agency (old codes resolved)."""
        agency = self.lookup(code)
        ancestors = self.ancestors(agency.code)
        in_charge = ancestors[-1].name if ancestors else agency.name
        return Organ(
            organ_id=agency.code,
            organization_in_charge=in_charge,
            organ_name=agency.name,
            organ_add=agency.address,
            email=agency.email,
            telephone=agency.phone,
        )

    # --- the axis's agency list ------------------------------------------------------------

    @classmethod
    def from_agency_list(
        cls,
        infos: Iterable[AgencyInfo],
        *,
        base: Directory | None = None,
        kinds: Mapping[str, AgencyKind] | None = None,
        drop_unknown_parents: bool = False,
    ) -> Directory:
        """Build from ``getAgenciesList`` rows (``parent`` and ``old_code`` are codes).

        Kinds come from ``kinds``, else ``base``, else the official name (``guess_kind``).
        A parent missing from the list is refused unless ``drop_unknown_parents``.
        """
        from .sync import directory_from_agency_list

        return directory_from_agency_list(
            infos, base=base, kinds=kinds, drop_unknown_parents=drop_unknown_parents
        )

    def to_agency_list(self) -> list[AgencyInfo]:
        """Rows for ``getAgenciesList``: one old code per agency (the most recent, listed first)."""
        from adapters.base import AgencyInfo

        return [
            AgencyInfo(
                code=a.code,
                name=a.name,
                parent=a.parent,
                old_code=a.old_codes[0] if a.old_codes else None,
                mail=a.email,
            )
            for a in self._agencies.values()
        ]


# --- construction checks -------------------------------------------------------------------


def _checked(code: object, strict: bool, what: str) -> str:
    if not isinstance(code, str):
        raise DirectoryError(f"{what} must be text, not {type(code).__name__} {code!r}")
    try:
        value = normalise_organ_id(code)
    except OrganCodeError as exc:
        raise DirectoryError(f"{what}: {exc}") from None
    if value != code:
        raise DirectoryError(f"{what} {code!r} has surrounding whitespace")
    if strict and not is_four_group(value):
        raise DirectoryError(f"{what} {value} is not a four-group code (L4.L3.L2.L1)")
    return value


def _check_parent_cycles(table: Mapping[str, Agency]) -> None:
    done: set[str] = set()
    for start in table:
        path: list[str] = []
        on_path: set[str] = set()
        current: str | None = start
        while current is not None and current not in done:
            if current in on_path:
                loop = " -> ".join([*path[path.index(current) :], current])
                raise DirectoryError(f"parent cycle: {loop}")
            path.append(current)
            on_path.add(current)
            current = table[current].parent
        done.update(path)


def _check_single_department_of_ic(directory: Directory) -> None:
    seen: dict[str | None, str] = {}
    for agency in directory.by_kind(AgencyKind.DEPARTMENT_OF_IC):
        if agency.parent in seen:
            raise DirectoryError(
                f"two Departments of IC under {agency.parent}: "
                f"{seen[agency.parent]} and {agency.code}"
            )
        seen[agency.parent] = agency.code


def _add_rename(direct: dict[str, str], live: Mapping[str, Agency], old: str, new: str) -> None:
    if old in live:
        raise DirectoryError(f"old code {old} (of {new}) is also a live agency code")
    if old == new:
        raise DirectoryError(f"code {old} is renamed to itself")
    previous = direct.get(old)
    if previous is not None and previous != new:
        raise DirectoryError(f"old code {old} is claimed by both {previous} and {new}")
    direct[old] = new


def _follow_chains(direct: Mapping[str, str], live: Mapping[str, Agency]) -> dict[str, str]:
    """Old code → live code, following renames of renames; loops and dead ends refused."""
    resolved: dict[str, str] = {}
    for start in direct:
        path: list[str] = []
        current = start
        while current not in live and current not in resolved:
            if current in path:
                loop = " -> ".join([*path[path.index(current) :], current])
                raise DirectoryError(f"rename cycle: {loop}")
            if current not in direct:
                raise DirectoryError(
                    f"old code {start} leads to {current}, which is not in the directory"
                )
            path.append(current)
            current = direct[current]
        target = current if current in live else resolved[current]
        for old in path:
            resolved[old] = target
    return resolved
