"""``interchange directory check | show | districts | generate``: the agency directory.

Exit codes as everywhere: 0 ok, 1 a typed error (one line on stderr), 2 usage.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from ..errors import InterchangeError
from ..organs.directory import Agency, Directory
from .files import write_via_temp

DirectoryFile = Annotated[Path, typer.Argument(help="A directory file (.yaml/.yml or .json).")]
JsonFlag = Annotated[bool, typer.Option("--json", help="JSON on stdout.")]

T = TypeVar("T")


class LevelChoice(StrEnum):
    district = "district"
    commune = "commune"


def _run(action: Callable[[], T]) -> T:
    """Typed errors (and a bad file size request) become one line on stderr and exit 1."""
    try:
        return action()
    except (InterchangeError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


def _load(path: Path) -> Directory:
    from ..organs.files import load_directory

    return _run(lambda: load_directory(path))


def _agency_json(agency: Agency) -> dict[str, Any]:
    return {
        "code": agency.code,
        "name": agency.name,
        "kind": agency.kind.value,
        "parent": agency.parent,
        "old_codes": list(agency.old_codes),
        "address": agency.address,
        "email": agency.email,
        "phone": agency.phone,
        "illustrative": agency.illustrative,
    }


def _emit(obj: object) -> None:
    typer.echo(json.dumps(obj, ensure_ascii=False, indent=None))


def _table(title: str, agencies: Iterable[Agency]) -> None:
    table = Table(title=title)
    for column in ("code", "kind", "name", "parent", "note"):
        table.add_column(column, overflow="fold")
    for a in agencies:
        notes = []
        if a.old_codes:
            notes.append("was " + ", ".join(a.old_codes))
        if a.illustrative:
            notes.append("illustrative")
        table.add_row(a.code, a.kind.value, a.name, a.parent or "", "; ".join(notes))
    Console(soft_wrap=False).print(table)


def check(file: DirectoryFile) -> None:
    """Load and validate a directory file."""
    d = _load(file)
    illustrative = sum(1 for a in d if a.illustrative)
    typer.echo(
        f"ok: {file}: {len(d)} agencies, {len(d.old_codes())} old codes, "
        f"{illustrative} illustrative"
    )


def show(
    file: DirectoryFile,
    code: Annotated[str | None, typer.Argument(help="An agency code (old codes resolved).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Show one agency with its parent and children, or the whole directory."""
    d = _load(file)
    if code is None:
        if as_json:
            from ..organs.files import directory_to_data

            _emit(directory_to_data(d))
        else:
            _table(str(file), d)
        return
    resolution = _run(lambda: d.resolve(code))
    agency = d.get(resolution.code)
    parent = d.parent(agency.code)
    children = d.children(agency.code)
    if as_json:
        _emit(
            {
                "agency": _agency_json(agency),
                "substituted_from": resolution.substituted_from,
                "parent": _agency_json(parent) if parent else None,
                "children": [_agency_json(c) for c in children],
            }
        )
        return
    if resolution.substituted_from:
        typer.echo(f"{resolution.substituted_from} is an old code of {agency.code}")
    _table("agency", [agency])
    if parent is not None:
        _table("parent", [parent])
    if children:
        _table(f"children ({len(children)})", children)


def districts(
    file: DirectoryFile,
    province_code: Annotated[str, typer.Argument(help="The province's People's Committee code.")],
    level: Annotated[LevelChoice, typer.Option("--level")] = LevelChoice.district,
    as_json: JsonFlag = False,
) -> None:
    """The districts (or, after 2025, communes) of a province, as the directory says."""
    d = _load(file)
    found = _run(lambda: d.districts_of(province_code, level=level.value))
    if as_json:
        _emit([_agency_json(a) for a in found])
    else:
        _table(f"{level.value}s of {province_code} ({len(found)})", found)


def generate(
    out: Annotated[Path, typer.Option("--out", help="Where to write (.json or .yaml).")],
    provinces: Annotated[int, typer.Option("--provinces", min=1, max=99)] = 63,
    districts_total: Annotated[int, typer.Option("--districts", min=0)] = 705,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    communes: Annotated[int, typer.Option("--communes", min=0, max=99)] = 0,
) -> None:
    """Write a national-scale synthetic directory (every entry illustrative)."""
    from ..organs.files import dump_directory
    from ..organs.synthetic import generate_national

    d = _run(
        lambda: generate_national(provinces, districts_total, seed, communes_per_district=communes)
    )
    try:
        write_via_temp(
            out, lambda tmp: dump_directory(d, tmp, name=f"synthetic national (seed {seed})")
        )
    except InterchangeError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"wrote {out}: {len(d)} agencies")


def register(app: typer.Typer) -> None:
    group = typer.Typer(
        help="The agency directory: check, show, districts, generate.", no_args_is_help=True
    )
    group.command("check")(check)
    group.command("show")(show)
    group.command("districts")(districts)
    group.command("generate")(generate)
    app.add_typer(group, name="directory")
