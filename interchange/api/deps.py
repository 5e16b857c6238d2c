"""FastAPI dependencies as ``Annotated`` aliases: the database, the caller, the caller's role.

Why bearer tokens here and cookies only on the dashboard: an API client holds its token; a
browser holds a session cookie whose forms carry a CSRF token (see ``web/session.py``). A
request without valid credentials never reaches a route.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.engine import Connection, Engine

from ..store import auth_tables as auth
from .config import ApiSettings
from .problems import Forbidden, Unauthorized
from .queries import Scope

_bearer = HTTPBearer(auto_error=False, description="An operator token (interchange users add)")


def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def get_settings(request: Request) -> ApiSettings:
    settings: ApiSettings = request.app.state.settings
    return settings


def db_conn(engine: Annotated[Engine, Depends(get_engine)]) -> Iterator[Connection]:
    with engine.connect() as conn:
        yield conn


EngineDep = Annotated[Engine, Depends(get_engine)]
SettingsDep = Annotated[ApiSettings, Depends(get_settings)]
Conn = Annotated[Connection, Depends(db_conn)]


def bearer_user(
    request: Request,
    conn: Conn,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> auth.User:
    """The caller, looked up on the request's own connection (one connection per request)."""
    if creds is None or creds.scheme.lower() != "bearer":
        raise Unauthorized("a bearer token is required")
    user = auth.find_user_by_token(conn, creds.credentials)
    if user is None:
        raise Unauthorized("the token is unknown or revoked")
    request.state.user = user
    return user


def require(role: str) -> Callable[..., auth.User]:
    def dep(user: Annotated[auth.User, Depends(bearer_user)]) -> auth.User:
        if not user.has_role(role):
            raise Forbidden(f"this needs the {role} role")
        return user

    dep.__name__ = f"require_{role}"
    return dep


Viewer = Annotated[auth.User, Depends(require("viewer"))]
Operator = Annotated[auth.User, Depends(require("operator"))]
Admin = Annotated[auth.User, Depends(require("admin"))]


def today() -> dt.date:
    """Due dates are calendar days in Vietnam (UTC+7, no daylight saving)."""
    return (dt.datetime.now(dt.UTC) + dt.timedelta(hours=7)).date()


Today = Annotated[dt.date, Depends(today)]


def scope_of(user: auth.User) -> Scope:
    return Scope.of(user)


def names_of(request: Request) -> Callable[[str], str | None] | None:
    names: Any = getattr(request.app.state, "names", None)
    return names  # type: ignore[no-any-return]
