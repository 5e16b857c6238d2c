"""Owned by the dashboard helper (the lead's decision): the operator helper mounts `web.router` and does not edit this package.

The dashboard: server-rendered pages under ``/ui`` over the same read queries
(``api.queries``) and audited actions (``api.actions``) as the JSON API, with the same
least privilege. ``router`` is self-contained: its route class turns a missing session into
a redirect to the login page and a typed error into an HTML error page, so mounting it is
``app.include_router(web.router)`` plus the static files at ``/static``.
"""  # noqa: E501

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from . import forms, pages
from .routing import PageRoute

router = APIRouter(prefix="/ui", include_in_schema=False, route_class=PageRoute)
router.include_router(pages.router)
router.include_router(forms.router)


def register_web(app: FastAPI) -> None:
    """Kept for the app factory's first wiring: the same as ``app.include_router(router)``."""
    app.include_router(router)


__all__ = ["PageRoute", "register_web", "router"]
