"""Typed errors of the HTTP face, and the handlers that turn every error into clean JSON.

Why one place: a client (or schemathesis) must never see a 500 or an HTML page; each answer
is ``{"detail": one line, "code": short code}`` with a status that says who must act.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import errors

log = logging.getLogger(__name__)


class Unauthorized(errors.InterchangeError):
    code = "unauthorized"


class Forbidden(errors.PermissionDeniedError):
    pass


class BadRequest(errors.InterchangeError):
    code = "bad-request"


_STATUS: tuple[tuple[type[Exception], int], ...] = (
    (Unauthorized, 401),
    (errors.PermissionDeniedError, 403),
    (errors.NotFoundError, 404),
    (errors.DeliveryError, 409),
    (errors.AuditChainError, 409),
    (errors.FormatError, 422),
    (errors.SignatureError, 422),
    (errors.OrganError, 422),
    (errors.ConfigError, 422),
    (BadRequest, 400),
    (errors.TransportError, 503),
    (errors.RefusedError, 502),
)


def status_of(exc: Exception) -> int:
    for cls, status in _STATUS:
        if isinstance(exc, cls):
            return status
    return 400


def error_response(
    status: int, detail: str, code: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    """The one error shape, also for answers given before routing (``bodies.BodyLimit``)."""
    return JSONResponse({"detail": " ".join(detail.split()), "code": code}, status, headers)


def _audit_denied(request: Request, exc: errors.InterchangeError, status: int) -> None:
    """A refused action (wrong role, another tenant's document, bad input) is audited too,
    unless the action itself already wrote its entry."""
    user = getattr(request.state, "user", None)
    if request.method != "POST" or user is None or getattr(exc, "audited", False):
        return
    from ..store.auth_tables import append_audit

    with request.app.state.engine.begin() as conn:
        append_audit(
            conn,
            actor=user.name,
            action=f"{request.method} {request.url.path}"[:64],
            target=request.url.path[:255],
            result=f"refused: {status} {exc.code}",
            detail={"error": str(exc)},
        )


def install_handlers(app: FastAPI) -> None:
    @app.exception_handler(errors.InterchangeError)
    async def _typed(request: Request, exc: errors.InterchangeError) -> Response:
        status = status_of(exc)
        _audit_denied(request, exc, status)
        html = getattr(request.app.state, "html_error", None)
        if html is not None and request.url.path.startswith("/ui"):
            return html(request, exc, status)  # type: ignore[no-any-return]
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return error_response(status, str(exc), exc.code, headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "request"
        return error_response(422, f"{where}: {first.get('msg', 'invalid')}", "invalid")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not-found", 405: "method-not-allowed", 401: "unauthorized"}.get(
            exc.status_code, "http"
        )
        return error_response(exc.status_code, str(exc.detail), code, getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected %s on %s %s", type(exc).__name__, request.method, request.url.path)
        return error_response(500, f"internal error ({type(exc).__name__})", "internal")
