"""What every dashboard page shares: the templates, the signed-in user, CSRF, redirects.

Why here and not in each page: the rules that keep the dashboard as safe as the JSON API
(a session is required, every form carries the session's CSRF token, a cross-site origin is
refused, only operators act) must be written once so that no page can forget one.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from ...delivery.lifecycle import Action, State, can_apply
from ..problems import Forbidden
from .i18n import LANG_COOKIE, kind_label, lang_of, state_label, translator
from .session import Session, read_session

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
templates = Jinja2Templates(directory=str(TEMPLATES))
VN = dt.timezone(dt.timedelta(hours=7))
_KEEP = frozenset({"q", "state", "overdue", "tenant", "pending", "cursor"})  # for lang_url
FLASH_COOKIE = "ix_flash"  # the one-time message after a form
LOGIN_COOKIE = "ix_login"  # the login form's own CSRF nonce (no session exists yet)


class LoginRequired(Exception):
    def __init__(self, next_url: str) -> None:
        self.next_url = next_url


def _vn(value: dt.datetime | None) -> str:
    """Times are stored in naive UTC and shown in Vietnam's time (UTC+7)."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(VN).strftime("%d/%m/%Y %H:%M")


def _short(value: dt.datetime | None) -> str:
    """Day, month and time: the matrix's cells (the year is the document's)."""
    return _vn(value)[:5] + _vn(value)[10:] if value is not None else ""


def _day(value: dt.date | None) -> str:
    return "" if value is None else value.strftime("%d/%m/%Y")


def _can(state: str, action: str) -> bool:
    try:
        return can_apply(State(state), Action(action))
    except ValueError:
        return False


templates.env.filters["vn"] = _vn
templates.env.filters["day"] = _day
templates.env.filters["short"] = _short
templates.env.globals["can"] = _can


def current_session(request: Request) -> Session:
    """The signed-in user, or a redirect to the login page."""
    state = request.app.state
    session = read_session(request, state.engine, state.settings)
    if session is None:
        target = request.url.path if request.method == "GET" else "/ui/"
        raise LoginRequired(target)
    request.state.web_user = session.user
    return session


def render(
    request: Request, name: str, session: Session | None, status: int = 200, **values: Any
) -> HTMLResponse:
    settings = request.app.state.settings
    lang = lang_of(request, settings.default_lang)
    t = translator(lang)
    user = session.user if session else None
    flash = read_flash(request)
    other = "en" if lang == "vi" else "vi"
    keep = [(k, v) for k, v in request.query_params.multi_items() if k in _KEEP]
    context = {
        "request": request,
        "t": t,
        "lang": lang,
        "user": user,
        "can_act": bool(user and user.has_role("operator")),
        "csrf": session.csrf(settings.session_secret) if session else "",
        "state_label": lambda s: state_label(lang, s),
        "kind_label": lambda k: kind_label(lang, k),
        "node": settings.node_name,
        "msg": t(flash[0]) if flash[0] else "",
        # the action's own detail line is English (it is also what the audit log records);
        # the translated message already says what was done
        "msg_detail": flash[1] if lang == "en" else "",
        "err": flash[2],
        "refresh": None,
        "lang_url": f"{request.url.path}?{urlencode([*keep, ('lang', other)])}",
        "meta_refresh": True,  # pages with forms refresh only through refresh.js
        **values,
    }
    response = templates.TemplateResponse(request, name, context, status_code=status)
    if request.cookies.get(FLASH_COOKIE):
        response.delete_cookie(FLASH_COOKIE, path="/ui")
    if request.query_params.get("lang") in ("vi", "en"):
        response.set_cookie(
            LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax", httponly=True, path="/"
        )
    return response


def error_page(
    request: Request, session: Session | None, status: int, key: str, detail: str = ""
) -> HTMLResponse:
    return render(request, "error.html", session, status=status, key=key, detail=detail)


def check_csrf(request: Request, session: Session, token: str) -> None:
    """The form's token must be this session's, and a browser-sent Origin must be ours."""
    expected = session.csrf(request.app.state.settings.session_secret)
    if not hmac.compare_digest(expected, token or ""):
        raise Forbidden("the form expired: reload the page and try again")
    check_origin(request)


def check_origin(request: Request) -> None:
    origin = request.headers.get("origin")
    if origin and origin != "null" and origin.split("://", 1)[-1] != request.headers.get("host"):
        raise Forbidden("cross-site form refused")


def require_operator(session: Session) -> None:
    if not session.user.has_role("operator"):
        raise Forbidden("this needs the operator role")


def login_nonce() -> str:
    return secrets.token_urlsafe(24)


def back(
    request: Request, url: str, *, msg: str = "", detail: str = "", err: str = ""
) -> RedirectResponse:
    """Answer a form with a redirect (303) and a one-time message (post/redirect/get).

    The message travels in a signed, short-lived cookie rather than the URL, so that a link
    cannot make the dashboard display words of someone else's choosing."""
    response = RedirectResponse(url, status_code=303)
    body = json.dumps([msg[:64], detail[:300], err[:300]], separators=(",", ":"))
    secret = request.app.state.settings.session_secret
    value = base64.urlsafe_b64encode(body.encode()).decode()
    response.set_cookie(
        FLASH_COOKIE,
        f"{value}.{_mac(secret, value)}",
        max_age=120,
        httponly=True,
        samesite="strict",
        path="/ui",
        secure=request.app.state.settings.cookie_secure,
    )
    return response


def _mac(secret: str, value: str) -> str:
    return hmac.new(secret.encode(), b"flash:" + value.encode(), hashlib.sha256).hexdigest()


def read_flash(request: Request) -> tuple[str, str, str]:
    """(message key, detail, error) of the last form, once; empty when there is none."""
    raw = request.cookies.get(FLASH_COOKIE, "")
    value, _, mac = raw.partition(".")
    secret = request.app.state.settings.session_secret
    if not value or len(raw) > 2048 or not hmac.compare_digest(mac, _mac(secret, value)):
        return "", "", ""
    try:
        msg, detail, err = json.loads(base64.urlsafe_b64decode(value.encode()))
        return str(msg), str(detail), str(err)
    except (ValueError, TypeError):
        return "", "", ""
