"""The operator face of one node: ``create_api_app`` builds the FastAPI app.

One app serves the JSON API under ``/api/v1`` (OpenAPI at ``/api/v1/openapi.json``), the
dashboard under ``/ui`` (server-rendered, vendored static files), ``/healthz``, ``/readyz``
and ``/metrics``. The node mounts it with its own engine, codec (to sign answers) and
directory: ``create_api_app(settings, node=node)``; tests and ``interchange serve`` without a
node pass an engine.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import Engine

from .actions import Actions
from .bodies import BodyLimit
from .config import ApiSettings
from .database import open_database
from .metrics import make_registry
from .problems import install_handlers
from .routes import admin, documents, inbox, submit, system
from .routes import directory as directory_api
from .turns import Turns

API_PREFIX = "/api/v1"
STATIC_DIR = Path(__file__).resolve().parent / "static"

_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
}


class SecurityHeaders:
    """Pure ASGI middleware (cheaper than ``@app.middleware``): safe headers on every answer,
    ``Cache-Control: no-store`` on the API and the dashboard."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        private = str(scope.get("path", "")).startswith(("/api/", "/ui"))

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                extra = dict(_HEADERS)
                if private:
                    extra["Cache-Control"] = "no-store"
                for key, value in extra.items():
                    if key.lower().encode() not in present:
                        headers.append((key.lower().encode(), value.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _names(directory: Any) -> Callable[[str], str | None] | None:
    if directory is None:
        return None

    def name(code: str) -> str | None:
        agency = directory.find(code)
        return None if agency is None else str(agency.name)

    return name


def create_api_app(
    settings: ApiSettings,
    *,
    node: Any | None = None,
    engine: Engine | None = None,
    codec: Any | None = None,
    directory: Any | None = None,
    certificates: Sequence[Path] = (),
) -> FastAPI:
    """Build the operator app. ``node`` (if given) supplies ``engine``, ``codec`` and
    ``directory`` attributes; explicit arguments win. Without either an engine is opened (and
    migrated) from ``settings.database_url``."""
    engine = engine or getattr(node, "engine", None) or open_database(settings.database_url)
    codec = codec or getattr(node, "codec", None)
    directory = directory or getattr(node, "directory", None)
    certs = [*certificates, *([settings.certificate] if settings.certificate else [])]
    node_config = getattr(node, "config", None)
    certs += [Path(t.cert) for t in getattr(node_config, "tenants", ())]  # readiness, metrics
    hub_url = getattr(getattr(node_config, "axis", None), "url", None)
    if settings.hub_url is None and hub_url:
        settings = settings.model_copy(update={"hub_url": str(hub_url)})

    app = FastAPI(
        title="interchange operator API",
        version="1",
        summary="Where every document is, what failed, what arrived: act on it.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,  # Swagger UI loads from a CDN: not served
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.turns = Turns()
    app.state.node = node
    app.state.directory = directory
    app.state.names = _names(directory)
    app.state.actions = Actions(engine, codec, node)
    app.state.certificates = lambda: list(certs)
    app.state.registry = make_registry(engine, app.state.certificates)
    install_handlers(app)

    api = APIRouter(prefix=API_PREFIX)
    for module in (documents, inbox, submit, admin, directory_api):
        api.include_router(module.router)
    app.include_router(api)
    app.include_router(system.router)

    from . import web  # dashboard (web/)

    app.include_router(web.router)  # dashboard (web/)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")  # dashboard (web/)

    @app.get("/", include_in_schema=False)
    def root() -> Response:
        return RedirectResponse("/ui/", status_code=303)

    # Body caps before anything reads a body (the token check included); the safe headers
    # outside them, so that a 413 carries them too.
    app.add_middleware(
        BodyLimit,
        limit=settings.max_body_bytes,
        upload_limit=settings.max_upload_bytes,
        upload_paths=(f"{API_PREFIX}/submit",),
    )
    app.add_middleware(SecurityHeaders)
    return app


def app_from_env() -> FastAPI:
    """``uvicorn --factory interchange.api.app:app_from_env``: settings from ``INTERCHANGE_API_*``
    (at least ``INTERCHANGE_API_DATABASE_URL``); no signing keys, so answers are refused."""
    from ..gctune import tune_for_server
    from .config import load_settings

    app = create_api_app(load_settings())
    tune_for_server()
    return app
