"""FastAPI dependencies as ``Annotated`` aliases: the database, the caller, the caller's role.

Why bearer tokens here and cookies only on the dashboard: an API client holds its token; a
browser holds a session cookie whose forms carry a CSRF token (see ``web/session.py``). A
request without valid credentials never reaches a route.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Iterator
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.engine import Connection, Engine

from ..store import auth_tables as auth
from .config import ApiSettings
from .problems import Forbidden, Unauthorized
from .queries import Scope

_bearer = HTTPBearer(auto_error=False, description="An operator token (interchange users add)")


# Dependencies that do no I/O are ``async def``: FastAPI runs a plain ``def`` dependency in the
# thread pool, and each such hop costs more than the work itself on a hot path.


async def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


async def get_settings(request: Request) -> ApiSettings:
    settings: ApiSettings = request.app.state.settings
    return settings


def db_conn(engine: Annotated[Engine, Depends(get_engine)]) -> Iterator[Connection]:
    """One pooled connection for the duration of a (thread-pool) route."""
    with engine.connect() as conn:
        yield conn


EngineDep = Annotated[Engine, Depends(get_engine)]
SettingsDep = Annotated[ApiSettings, Depends(get_settings)]
Conn = Annotated[Connection, Depends(db_conn)]


async def bearer_token(
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    """The request's bearer token, not yet looked up (401 when there is none)."""
    if creds is None or creds.scheme.lower() != "bearer":
        raise Unauthorized("a bearer token is required")
    return creds.credentials


Token = Annotated[str, Depends(bearer_token)]


async def optional_bearer_token(
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str | None:
    """The request's bearer token if it sends one, not yet looked up: for a route open to
    anyone that tells an authenticated caller more (``/readyz``)."""
    if creds is None or creds.scheme.lower() != "bearer":
        return None
    return creds.credentials


OptionalToken = Annotated[str | None, Depends(optional_bearer_token)]


def authorize(conn: Connection, request: Request, token: str, role: str) -> auth.User:
    """The token's user if it holds ``role``: 401 for an unknown or revoked token, 403 for
    a role too low. The hot read routes call this on their own connection, inside the
    transaction of their query (one connection, one round trip fewer per request)."""
    user = auth.find_user_by_token(conn, token)
    if user is None:
        raise Unauthorized("the token is unknown or revoked")
    request.state.user = user  # known before a 403, which is audited under this user
    if not user.has_role(role):
        raise Forbidden(f"this needs the {role} role")
    return user


def reading(engine: Engine) -> Connection:
    """A connection for reads on the loop, without a transaction to open and roll back (two
    round trips on PostgreSQL). Nothing is lost: at PostgreSQL's READ COMMITTED each
    statement sees its own snapshot inside a transaction too, and SQLite's driver opens none
    for a SELECT."""
    return engine.connect().execution_options(isolation_level="AUTOCOMMIT")


def require(role: str) -> Callable[..., Awaitable[auth.User]]:
    """The caller holding ``role``, looked up on the event loop with a connection held only
    for the lookup.

    Why on the loop and not in the thread pool: the lookup is one indexed query, well under
    a millisecond, while each hand-off to a worker thread costs about as much again in GIL
    contention (the document list used 5.1 ms of CPU per request with thread-pool
    dependencies and route, 2.8 ms without). The connection is returned before anything is
    awaited, so the loop never holds more than one, and it can never wait for a connection
    that only the loop could give back. The hot read routes (``async def``) hold theirs the
    same way, calling ``authorize`` themselves."""

    async def dep(
        request: Request, engine: Annotated[Engine, Depends(get_engine)], token: Token
    ) -> auth.User:
        with reading(engine) as conn:
            return authorize(conn, request, token, role)

    dep.__name__ = f"require_{role}"
    return dep


Viewer = Annotated[auth.User, Depends(require("viewer"))]
Operator = Annotated[auth.User, Depends(require("operator"))]
Admin = Annotated[auth.User, Depends(require("admin"))]


def today() -> dt.date:
    """Due dates are calendar days in Vietnam (UTC+7, no daylight saving)."""
    return (dt.datetime.now(dt.UTC) + dt.timedelta(hours=7)).date()


async def _today() -> dt.date:
    return today()


Today = Annotated[dt.date, Depends(_today)]


def scope_of(user: auth.User) -> Scope:
    return Scope.of(user)


def names_of(request: Request) -> Callable[[str], str | None] | None:
    names: Any = getattr(request.app.state, "names", None)
    return names  # type: ignore[no-any-return]
