"""The directory file format (JSON or YAML), loaded strictly and written back losslessly.

Format, version 1 (YAML shown; JSON has the same shape)::

    version: 1
    name: demo                       # optional, free text
    description: ...                 # optional, free text
    agencies:
      - code: 000.00.13.H53          # four-group code, unique
        name: Sở Thông tin và Truyền thông tỉnh Tây Ninh
        kind: department_of_ic       # AgencyKind value
        parent: 000.00.00.H53        # a code in this file, or absent / null for a top body
        old_codes: [000.00.41.H53]   # optional: previous codes, most recent first
        address: ...                 # optional
        email: ...                   # optional
        phone: ...                   # optional
        illustrative: true           # optional (false): no public source confirms the code
    renames:                         # optional: retired code -> the code it became
      - {old: 28.22.H17, new: 000.00.41.H53}

Unknown keys are refused (a typo must not silently drop a parent). YAML is read with the
safe loader only. Every failure is a one-line ``DirectoryError`` naming the file and entry.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from ..errors import DirectoryError
from .directory import Agency, AgencyKind, Directory

FORMAT_VERSION = 1

_TOP_KEYS = {"version", "name", "description", "agencies", "renames"}
_AGENCY_KEYS = {
    "code",
    "name",
    "kind",
    "parent",
    "old_codes",
    "address",
    "email",
    "phone",
    "illustrative",
}
_OPTIONAL_TEXT = ("address", "email", "phone")

try:  # libyaml's safe loader when present: the national directory loads ~10x faster
    _SafeLoader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - pure-Python PyYAML
    _SafeLoader = yaml.SafeLoader


def load_directory(path: str | Path, *, strict_codes: bool = True) -> Directory:
    """Read and validate a directory file (``.json`` as JSON, anything else as YAML)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise DirectoryError(f"{p}: cannot read: {reason}") from None
    try:
        if p.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            data = yaml.load(text, Loader=_SafeLoader)  # noqa: S506 - a safe loader
    except (ValueError, yaml.YAMLError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        form = "JSON" if p.suffix.lower() == ".json" else "YAML"
        raise DirectoryError(f"{p}: not valid {form}: {first}") from None
    return parse_directory(data, source=str(p), strict_codes=strict_codes)


def parse_directory(
    data: Any, *, source: str = "directory", strict_codes: bool = True
) -> Directory:
    """Validate already-decoded data (a mapping in the format above) into a ``Directory``."""
    try:
        return _parse(data, strict_codes)
    except DirectoryError as exc:
        raise DirectoryError(f"{source}: {exc}") from None


def directory_to_data(directory: Directory, *, name: str | None = None) -> dict[str, Any]:
    """The file format as plain data; optional fields are omitted when empty."""
    agencies: list[dict[str, Any]] = []
    for a in directory:
        entry: dict[str, Any] = {"code": a.code, "name": a.name, "kind": a.kind.value}
        if a.parent is not None:
            entry["parent"] = a.parent
        if a.old_codes:
            entry["old_codes"] = list(a.old_codes)
        for key in _OPTIONAL_TEXT:
            value = getattr(a, key)
            if value is not None:
                entry[key] = value
        if a.illustrative:
            entry["illustrative"] = True
        agencies.append(entry)
    data: dict[str, Any] = {"version": FORMAT_VERSION}
    if name:
        data["name"] = name
    data["agencies"] = agencies
    if directory.renames:
        data["renames"] = [{"old": o, "new": n} for o, n in directory.renames.items()]
    return data


def dump_directory(directory: Directory, path: str | Path, *, name: str | None = None) -> None:
    """Write ``directory`` as JSON (``.json``) or YAML (anything else), UTF-8."""
    p = Path(path)
    data = directory_to_data(directory, name=name)
    if p.suffix.lower() == ".json":
        text = json.dumps(data, ensure_ascii=False, indent=1) + "\n"
    else:
        text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)
    p.write_text(text, encoding="utf-8")


# --- parsing ----------------------------------------------------------------------------


def _parse(data: Any, strict_codes: bool) -> Directory:
    if not isinstance(data, Mapping):
        raise DirectoryError("expected a mapping with 'version' and 'agencies'")
    unknown = sorted(set(map(str, data)) - _TOP_KEYS)
    if unknown:
        raise DirectoryError(f"unknown top-level key {unknown[0]!r}")
    version = data.get("version")
    if version != FORMAT_VERSION:
        raise DirectoryError(
            f"unsupported directory format version {version!r} (expected {FORMAT_VERSION})"
        )
    raw_agencies = data.get("agencies")
    if not isinstance(raw_agencies, list):
        raise DirectoryError("'agencies' must be a list")
    agencies = [_agency(i, entry) for i, entry in enumerate(raw_agencies, 1)]
    renames = _renames(data.get("renames"))
    return Directory(agencies, renames=renames, strict_codes=strict_codes)


def _agency(index: int, entry: Any) -> Agency:
    where = f"agency #{index}"
    if not isinstance(entry, Mapping):
        raise DirectoryError(f"{where} is not a mapping")
    code = entry.get("code")
    if isinstance(code, str):
        where = f"agency #{index} ({code})"
    unknown = sorted(set(map(str, entry)) - _AGENCY_KEYS)
    if unknown:
        raise DirectoryError(f"{where}: unknown key {unknown[0]!r}")
    if not isinstance(code, str):
        raise DirectoryError(f"{where}: 'code' must be text (quote it in YAML), got {code!r}")
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        raise DirectoryError(f"{where}: 'name' is missing or empty")
    try:
        kind = AgencyKind(entry.get("kind", AgencyKind.OTHER.value))
    except ValueError:
        allowed = ", ".join(k.value for k in AgencyKind)
        kind_text = entry.get("kind")
        raise DirectoryError(f"{where}: unknown kind {kind_text!r} (one of {allowed})") from None
    parent = entry.get("parent")
    if parent is not None and not isinstance(parent, str):
        raise DirectoryError(f"{where}: 'parent' must be a code, got {parent!r}")
    old = entry.get("old_codes", ())
    if old is None:
        old = ()
    if isinstance(old, str):
        old = (old,)
    if not isinstance(old, list | tuple) or not all(isinstance(o, str) for o in old):
        raise DirectoryError(f"{where}: 'old_codes' must be a list of codes")
    extras: dict[str, str | None] = {}
    for key in _OPTIONAL_TEXT:
        value = entry.get(key)
        if value is not None and not isinstance(value, str):
            raise DirectoryError(f"{where}: '{key}' must be text")
        extras[key] = value
    illustrative = entry.get("illustrative", False)
    if not isinstance(illustrative, bool):
        raise DirectoryError(f"{where}: 'illustrative' must be true or false")
    return Agency(
        code=code,
        name=name.strip(),
        kind=kind,
        parent=parent,
        old_codes=tuple(old),
        address=extras["address"],
        email=extras["email"],
        phone=extras["phone"],
        illustrative=illustrative,
    )


def _renames(raw: Any) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, list):
        raise DirectoryError("'renames' must be a list of {old, new}")
    out: dict[str, str] = {}
    for i, item in enumerate(raw, 1):
        if (
            not isinstance(item, Mapping)
            or set(item) != {"old", "new"}
            or not isinstance(item["old"], str)
            or not isinstance(item["new"], str)
        ):
            raise DirectoryError(f"rename #{i} must be a mapping {{old: CODE, new: CODE}}")
        if item["old"] in out and out[item["old"]] != item["new"]:
            raise DirectoryError(f"rename #{i}: old code {item['old']} is renamed twice")
        out[item["old"]] = item["new"]
    return out
