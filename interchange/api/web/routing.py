"""The dashboard's route class: a page answers with a login redirect or an HTML error page.

Why a route class and not app-wide exception handlers: the router then works wherever it is
mounted, and the JSON API keeps its own JSON errors untouched.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.routing import APIRoute

from ...errors import InterchangeError, NotFoundError
from ...store import auth_tables as auth
from ..problems import status_of
from .render import LoginRequired, error_page
from .session import read_session

_KEYS = {403: "forbidden", 404: "not_found"}


def _audit_refusal(request: Request, exc: InterchangeError, status: int) -> None:
    """A refused dashboard form (no CSRF token, wrong role) is audited like the API's."""
    user = getattr(request.state, "web_user", None)
    if request.method != "POST" or user is None or getattr(exc, "audited", False):
        return
    with request.app.state.engine.begin() as conn:
        auth.append_audit(
            conn,
            actor=user.name,
            action=f"POST {request.url.path}"[:64],
            target=request.url.path[:255],
            result=f"refused: {status} {exc.code}",
            detail={"error": str(exc), "via": "dashboard"},
        )


def _page_error(
    request: Request, status: int, key: str, detail: str, error: BaseException
) -> Response:
    state = request.app.state
    session = read_session(request, state.engine, state.settings)
    return error_page(request, session, status, key, detail, error)


def _first_problem(exc: RequestValidationError) -> str:
    """The first invalid field and pydantic's reason, e.g. ``reason: String should have at
    most 2000 characters``: the technical detail under the page's sentence."""
    first = exc.errors()[0] if exc.errors() else {}
    where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "form"
    return f"the form's fields are invalid ({where}: {first.get('msg', 'invalid')})"


class PageRoute(APIRoute):
    """Answers the browser with pages, never JSON: login redirects and error pages."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired as exc:
                return RedirectResponse(f"/ui/login?next={quote(exc.next_url)}", status_code=303)
            except InterchangeError as exc:
                status = status_of(exc)
                _audit_refusal(request, exc, status)
                return _page_error(request, status, _KEYS.get(status, "error"), str(exc), exc)
            except RequestValidationError as bad:  # a bad id in a URL: "not found"; a form: 422
                if request.method == "GET":
                    return _page_error(request, 404, "not_found", "", NotFoundError("not found"))
                return _page_error(request, 422, "error", _first_problem(bad), bad)

        return run
