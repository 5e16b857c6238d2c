"""Agency directory lookup: by code (old codes resolve to their successor) or by text."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request

from ...errors import NotFoundError, OrganError
from ..deps import Viewer
from ..schemas import AgencyOut
from .common import ERRORS

router = APIRouter(prefix="/directory", tags=["directory"], responses=ERRORS)


def _directory(request: Request) -> Any:
    directory = getattr(request.app.state, "directory", None)
    if directory is None:
        raise NotFoundError("this node has no agency directory loaded")
    return directory


def _out(a: Any, successor: str | None = None) -> AgencyOut:
    kind = getattr(a.kind, "value", a.kind)
    return AgencyOut(code=a.code, name=a.name, parent=a.parent, kind=kind, successor=successor)


@router.get("", response_model=list[AgencyOut], summary="Search agencies by name or code")
def search(
    user: Viewer,
    request: Request,
    q: Annotated[str, Query(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f]+$")],
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
) -> list[AgencyOut]:
    needle = q.casefold()
    out = []
    for a in _directory(request):
        if needle in a.code.casefold() or needle in a.name.casefold():
            out.append(_out(a))
            if len(out) >= limit:
                break
    return out


@router.get("/{code}", response_model=AgencyOut, summary="One agency by code")
def lookup(
    code: Annotated[str, Path(max_length=64, pattern=r"^[0-9A-Za-z.]+$")],
    user: Viewer,
    request: Request,
) -> AgencyOut:
    directory = _directory(request)
    agency = directory.find(code)
    if agency is not None:
        return _out(agency)
    try:
        resolved = directory.resolve(code)
    except OrganError:  # unknown or malformed: not found either way
        raise NotFoundError(f"no agency {code}") from None
    agency = directory.find(resolved.code)
    if agency is None:
        raise NotFoundError(f"no agency {code}")
    return _out(agency, successor=resolved.code if resolved.substituted else None)
