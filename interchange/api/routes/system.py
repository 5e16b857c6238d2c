"""Liveness, readiness and metrics.

Why not all open: readiness details and metrics name the node's certificates (subjects) and
count its work, which is nobody's business but the operators'. ``/healthz`` stays open (it
says only that the process answers). ``/readyz`` answers anyone, since a load balancer's or
orchestrator's probe holds no token, but only whether the node is ready and which checks
passed; the detail (errors, certificate subjects, days left) needs a valid token. ``/metrics``
needs a valid token: Prometheus sends one (``authorization`` in its scrape config). Any role
will do, as these are node-wide figures, not documents.
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
from ..schemas import Check, ErrorOut, Health, Readiness

router = APIRouter(tags=["system"])


@router.get("/healthz", response_model=Health, summary="The process answers")
def healthz() -> Health:
    return Health(status="ok")


def _authenticated(request: Request, token: str | None) -> bool:
    """Whether the caller may see the detail: 401 for a token that is sent but unknown or
    revoked (as anywhere in the API). A token that cannot be checked because the database
    is down gets the short answer, which says that the database check failed."""
    if token is None:
        return False
    try:
        with reading(request.app.state.engine) as conn:
            authorize(conn, request, token, "viewer")
    except SQLAlchemyError:
        return False
    return True


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
    description="Open to probes: `ready` and each check's `name` and `ok`. With a valid "
    "bearer token (any role), each check's `detail` and `value` too.",
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
    summary="Prometheus metrics (a bearer token of any role)",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}, 401: {"model": ErrorOut}},
)
def metrics(request: Request, _caller: Viewer) -> Response:
    return Response(generate_latest(request.app.state.registry), media_type=CONTENT_TYPE_LATEST)
