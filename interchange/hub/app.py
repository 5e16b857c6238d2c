"""``create_hub_app``: the embedded hub as one FastAPI app (REST face + SOAP face)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import Response
from sqlalchemy.engine import Engine
from starlette.exceptions import HTTPException

from .config import HubConfig
from .rest import build_router, fail
from .service import HubService
from .soap import build_soap_router


def create_hub_app(config: HubConfig, *, engine: Engine | None = None) -> FastAPI:
    """Build the app; the database is migrated here (once), not per request.

    ``app.state.hub`` is the ``HubService`` (tests inspect it; the CLI disposes it).
    """
    service = HubService(config, engine)
    app = FastAPI(
        title="interchange hub",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.hub = service
    app.include_router(build_router(service))
    app.include_router(build_soap_router(service))

    async def health(_request: object) -> Response:
        return Response(b'{"status":"OK"}', media_type="application/json")

    app.add_route("/health", health, methods=["GET"])  # type: ignore[arg-type]

    async def http_error(_request: Request, exc: Exception) -> Response:
        # Even a wrong path or method answers the status triple the SDK insists on.
        code = exc.status_code if isinstance(exc, HTTPException) else 500
        return fail(str(code), f"HTTP {code}: no such operation", status_code=code)

    app.add_exception_handler(HTTPException, http_error)
    return app
