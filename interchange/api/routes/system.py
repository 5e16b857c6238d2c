"""Liveness, readiness and metrics.

Why not all open: readiness details and metrics name the node's certificates (subjects) and
count its work, which is nobody's business but the operators'. ``/healthz`` stays open (it
says only that the process answers). ``/readyz`` answers anyone, since a load balancer's or
orchestrator's probe holds no token, but only whether the node is ready and which checks
passed. The detail (errors, certificate subjects, days left) and ``/metrics`` (Prometheus
sends a token: ``authorization`` in its scrape config) cover every agency the node hosts, so
they need a token of every tenant (scope ``*``), of any role: an operator scoped to one
district must not read the others' certificates and counts.
"""

from __future__ import annotations

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from ..deps import OptionalToken, Viewer, authorize, reading
from ..metrics import certificate_days
from ..problems import Forbidden
from ..schemas import Check, ErrorOut, Health, Readiness

router = APIRouter(tags=["system"])


@router.get("/healthz", response_model=Health, summary="The process answers")
def healthz() -> Health:
    return Health(status="ok")


def _authenticated(request: Request, token: str | None) -> bool:
    """Whether the caller may see the detail: a token of every tenant. 401 for a token that
    is sent but unknown or revoked (as anywhere in the API); a scoped token gets the short
    answer. A token that cannot be checked because the database is down gets the short
    answer too, which says that the database check failed."""
    if token is None:
        return False
    try:
        with reading(request.app.state.engine) as conn:
            return authorize(conn, request, token, "viewer").all_tenants
    except SQLAlchemyError:
        return False


def _checks(request: Request) -> list[Check]:
    state = request.app.state
    checks: list[Check] = []
    try:
        with state.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks.append(Check(name="database", ok=True, detail="reachable"))
    except Exception as exc:  # any driver error means not ready
        checks.append(Check(name="database", ok=False, detail=type(exc).__name__))
    hub = state.settings.hub_url
    if hub:
        try:
            httpx.get(hub, timeout=2.0)
            checks.append(Check(name="hub", ok=True, detail="reachable"))
        except httpx.HTTPError as exc:
            checks.append(Check(name="hub", ok=False, detail=type(exc).__name__))
    for path in state.certificates():
        try:
            subject, days = certificate_days(path)
        except (OSError, ValueError):
            checks.append(Check(name="certificate", ok=False, detail="unreadable"))
            continue
        checks.append(Check(name="certificate", ok=days > 0, detail=subject, value=round(days, 1)))
    return checks


@router.get(
    "/readyz",
    response_model=Readiness,
    summary="Database, hub, certificate",
    description="Open to probes: `ready` and each check's `name` and `ok`. With a bearer "
    "token of every tenant (scope `*`, any role), each check's `detail` and `value` too.",
    responses={401: {"model": ErrorOut}, 503: {"model": Readiness}},
)
def readyz(request: Request, token: OptionalToken) -> Response:
    full = _authenticated(request, token)
    checks = _checks(request)
    ready = all(c.ok for c in checks)
    if full:
        body = Readiness(ready=ready, checks=checks).model_dump(mode="json")
    else:
        body = {"ready": ready, "checks": [{"name": c.name, "ok": c.ok} for c in checks]}
    return JSONResponse(body, status_code=200 if ready else 503)


@router.get(
    "/metrics",
    summary="Prometheus metrics (a bearer token of every tenant, any role)",
    response_class=Response,
    responses={
        200: {"content": {"text/plain": {}}},
        401: {"model": ErrorOut},
        403: {"model": ErrorOut},
    },
)
def metrics(request: Request, caller: Viewer) -> Response:
    if not caller.all_tenants:
        raise Forbidden("the node's metrics cover every agency: they need a token of every tenant")
    return Response(generate_latest(request.app.state.registry), media_type=CONTENT_TYPE_LATEST)
