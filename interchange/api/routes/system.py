"""Liveness, readiness and metrics: unauthenticated, and free of secrets by construction."""

from __future__ import annotations

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from ..metrics import certificate_days
from ..schemas import Check, Health, Readiness

router = APIRouter(tags=["system"])


@router.get("/healthz", response_model=Health, summary="The process answers")
def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Readiness,
    summary="Database, hub, certificate",
    responses={503: {"model": Readiness}},
)
def readyz(request: Request) -> Response:
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
    ready = all(c.ok for c in checks)
    body = Readiness(ready=ready, checks=checks)
    return JSONResponse(body.model_dump(mode="json"), status_code=200 if ready else 503)


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}},
)
def metrics(request: Request) -> Response:
    return Response(generate_latest(request.app.state.registry), media_type=CONTENT_TYPE_LATEST)
