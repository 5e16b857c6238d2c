"""``create_hub_app``: the embedded hub as one FastAPI app (REST face + SOAP face)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from sqlalchemy.engine import Engine
from starlette.exceptions import HTTPException
from starlette.types import Receive, Scope, Send

from .config import HubConfig, check_public_url
from .rest import Endpoint, fail, rest_routes
from .service import HubService
from .soap import build_soap_router


class HubApp(FastAPI):
    """FastAPI whose REST operations are dispatched directly, by exact path and method.

    A node's fan-out is thousands of tiny calls; FastAPI's middleware stack and router
    cost about as much per call as the handler's own work. The REST endpoints catch every
    error themselves (status triple or HTTP 500), so skipping those layers changes no
    answer. Anything else (SOAP, ``/health``, a wrong path or method) goes through FastAPI.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fast_routes: Mapping[tuple[str, str], Endpoint] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not self.root_path:
            endpoint = self.fast_routes.get((scope["path"], scope["method"]))
            if endpoint is not None:
                response = await endpoint(Request(scope, receive))
                await response(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


def create_hub_app(config: HubConfig, *, engine: Engine | None = None) -> FastAPI:
    """Build the app; the database is migrated here (once), not per request.

    ``app.state.hub`` is the ``HubService`` (tests inspect it; the CLI disposes it).
    """
    public_url = config.public_url
    if public_url is not None:
        public_url = check_public_url(public_url, option="public_url")
    service = HubService(config, engine)
    app = HubApp(
        title="interchange hub",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.hub = service
    routes = rest_routes(service)
    for path, endpoint, methods in routes:
        app.add_route(path, endpoint, methods=list(methods))  # type: ignore[arg-type]
    app.fast_routes = {(path, m): endpoint for path, endpoint, methods in routes for m in methods}
    app.include_router(build_soap_router(service, public_url=public_url))

    async def health(_request: object) -> Response:
        return Response(b'{"status":"OK"}', media_type="application/json")

    app.add_route("/health", health, methods=["GET"])  # type: ignore[arg-type]

    async def http_error(_request: Request, exc: Exception) -> Response:
        # Even a wrong path or method answers the status triple the SDK insists on.
        code = exc.status_code if isinstance(exc, HTTPException) else 500
        return fail(str(code), f"HTTP {code}: no such operation", status_code=code)

    app.add_exception_handler(HTTPException, http_error)
    return app
