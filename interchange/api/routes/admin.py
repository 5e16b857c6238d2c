"""Who am I, the overview, and what only an admin does: users and the audit log."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Path, Query

from ...errors import NotFoundError
from ...store import auth_tables as auth
from ..deps import Admin, Conn, EngineDep, Today, Viewer, scope_of
from ..problems import Forbidden
from ..queries import overview
from ..schemas import AuditOut, AuditVerifyOut, Me, Overview, UserCreated, UserIn, UserOut
from .common import ERRORS

router = APIRouter(responses=ERRORS)

UserName = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f/]+$")]


@router.get("/me", response_model=Me, tags=["account"], summary="The caller")
async def me(user: Viewer) -> Me:
    return Me(name=user.name, role=user.role, tenants=list(user.tenants))


@router.get(
    "/overview",
    response_model=Overview,
    tags=["overview"],
    summary="Counts by state, overdue, dead letters, oldest undelivered, per tenant",
)
def get_overview(user: Viewer, conn: Conn, today: Today) -> Overview:
    return overview(conn, scope_of(user), today)


def _user_out(u: auth.User) -> UserOut:
    return UserOut(
        name=u.name,
        role=u.role,
        tenants=list(u.tenants),
        created_at=u.created_at,
        revoked_at=u.revoked_at,
    )


def _within(admin: auth.User, tenants: tuple[str, ...] | list[str]) -> bool:
    """An admin manages only users whose every tenant is one of its own."""
    return admin.all_tenants or all(t in admin.tenants for t in tenants)


@router.get("/users", response_model=list[UserOut], tags=["admin"], summary="Users (no tokens)")
def list_users(user: Admin, conn: Conn) -> list[UserOut]:
    return [_user_out(u) for u in auth.list_users(conn) if _within(user, u.tenants)]


@router.post(
    "/users",
    response_model=UserCreated,
    status_code=201,
    tags=["admin"],
    summary="Create a user; the token is in this answer only",
)
def create_user(body: UserIn, user: Admin, engine: EngineDep) -> UserCreated:
    if not _within(user, body.tenants):
        raise Forbidden("an admin can only create users within its own tenants")
    with engine.begin() as conn:
        created = auth.add_user(conn, body.name, body.role, body.tenants)
        auth.append_audit(
            conn,
            actor=user.name,
            action="users.add",
            target=created.user.name,
            result="ok",
            detail={"role": body.role, "tenants": list(created.user.tenants)},
        )
    return UserCreated(**_user_out(created.user).model_dump(), token=created.token)


@router.post(
    "/users/{name}/revoke", response_model=UserOut, tags=["admin"], summary="Revoke a user's token"
)
def revoke_user(name: UserName, user: Admin, engine: EngineDep) -> UserOut:
    with engine.begin() as conn:
        target = next((u for u in auth.list_users(conn) if u.name == name), None)
        if target is None or not _within(user, target.tenants):
            raise NotFoundError(f"no user named {name!r}")
        revoked = auth.revoke_user(conn, name)
        auth.append_audit(conn, actor=user.name, action="users.revoke", target=name, result="ok")
    return _user_out(revoked)


@router.get(
    "/audit", response_model=list[AuditOut], tags=["admin"], summary="The newest audit entries"
)
def list_audit(
    user: Admin, conn: Conn, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[AuditOut]:
    return [
        AuditOut(
            seq=e.seq,
            at=e.at,
            actor=e.actor,
            action=e.action,
            target=e.target,
            tenant=e.tenant,
            result=e.result,
            detail=json.loads(e.detail),
        )
        for e in auth.list_audit(conn, limit, tenants=None if user.all_tenants else user.tenants)
    ]


@router.get(
    "/audit/verify",
    response_model=AuditVerifyOut,
    tags=["admin"],
    summary="Check the audit log's hash chain",
)
def verify_audit(user: Admin, conn: Conn) -> AuditVerifyOut:
    """Only for an admin of every tenant (``*``); an admin scoped to some agencies gets 403.

    The hash chain runs through every tenant's entries, so its check can only be made, and
    answered (count, first broken entry, unfinished actions), for the whole log: facts about
    other agencies' actions. A scoped admin reads its own agencies' entries with ``/audit``.
    """
    if not user.all_tenants:
        raise Forbidden("checking the whole audit log needs an admin of every tenant")
    r = auth.verify_audit(conn)
    return AuditVerifyOut(
        ok=r.ok,
        count=r.count,
        broken_seq=r.broken_seq,
        reason=r.reason,
        unfinished=list(r.unfinished),
    )
