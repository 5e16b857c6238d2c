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
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from ...delivery.lifecycle import Action, State, can_apply
from .i18n import (
    LANG_COOKIE,
    Texts,
    code_sentence,
    detail_text,
    error_texts,
    event_label,
    kind_label,
    lang_of,
    pick,
    report_label,
    report_value,
    state_label,
    translator,
)
from .refusals import CrossSiteForm, FormExpired, OperatorRoleNeeded
from .session import Session, read_session

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
templates = Jinja2Templates(directory=str(TEMPLATES))
VN = dt.timezone(dt.timedelta(hours=7))
_KEEP = frozenset({"q", "state", "overdue", "tenant", "pending", "cursor"})  # for lang_url
FLASH_COOKIE = "ix_flash"  # the one-time message after a form
LOGIN_COOKIE = "ix_login"  # the login form's own CSRF nonce (no session exists yet)
_FLASH_MAX = 3800  # bytes of the signed cookie (browsers keep at least 4096)


@dataclass(frozen=True, slots=True)
class Flash:
    """The one-time message after a form: a ``_WORDS`` key, then sentences in both languages
    (the page's language is only known when the redirect is followed), and for a failure the
    error's own precise English line (``tech``)."""

    msg: str = ""
    detail: Texts = ("", "")
    err: Texts = ("", "")
    tech: str = ""


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
        "report_label": lambda f: report_label(lang, f),
        "event_label": lambda e: event_label(lang, e),
        "detail_text": lambda d: detail_text(lang, d),
        "code_sentence": lambda c: code_sentence(lang, c),
        "report_value": lambda v: report_value(lang, v),
        "node": settings.node_name,
        "msg": t(flash.msg) if flash.msg else "",
        "msg_detail": pick(flash.detail, lang),
        "err": pick(flash.err, lang),
        "err_tech": flash.tech,
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
    request: Request,
    session: Session | None,
    status: int,
    key: str,
    detail: str = "",
    error: BaseException | None = None,
) -> HTMLResponse:
    """A page for ``error``: its sentence in the page's language, ``detail`` (the precise
    English line) below it as technical detail."""
    lang = lang_of(request, request.app.state.settings.default_lang)
    text = pick(error_texts(error), lang) if error is not None else ""
    return render(
        request,
        "error.html",
        session,
        status=status,
        key=key,
        detail=detail,
        error_text=text,
    )


def check_csrf(request: Request, session: Session, token: str) -> None:
    """The form's token must be this session's, and a browser-sent Origin must be ours."""
    expected = session.csrf(request.app.state.settings.session_secret)
    if not hmac.compare_digest(expected, token or ""):
        raise FormExpired("the form expired: reload the page and try again")
    check_origin(request)


def check_origin(request: Request) -> None:
    origin = request.headers.get("origin")
    if origin and origin != "null" and origin.split("://", 1)[-1] != request.headers.get("host"):
        raise CrossSiteForm("cross-site form refused")


def require_operator(session: Session) -> None:
    if not session.user.has_role("operator"):
        raise OperatorRoleNeeded("this needs the operator role")


def login_nonce() -> str:
    return secrets.token_urlsafe(24)


def back(request: Request, url: str, flash: Flash) -> RedirectResponse:
    """Answer a form with a redirect (303) and a one-time message (post/redirect/get).

    The message travels in a signed, short-lived cookie rather than the URL, so that a link
    cannot make the dashboard display words of someone else's choosing."""
    response = RedirectResponse(url, status_code=303)
    fields = [flash.msg[:64], *(x[:240] for x in (*flash.detail, *flash.err, flash.tech))]
    body = json.dumps(fields, separators=(",", ":"), ensure_ascii=False)
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


def read_flash(request: Request) -> Flash:
    """The message of the last form, once; empty when there is none."""
    raw = request.cookies.get(FLASH_COOKIE, "")
    value, _, mac = raw.partition(".")
    secret = request.app.state.settings.session_secret
    if not value or len(raw) > _FLASH_MAX or not hmac.compare_digest(mac, _mac(secret, value)):
        return Flash()
    try:
        msg, d_vi, d_en, e_vi, e_en, tech = map(
            str, json.loads(base64.urlsafe_b64decode(value.encode()))
        )
    except (ValueError, TypeError):
        return Flash()
    return Flash(msg, (d_vi, d_en), (e_vi, e_en), tech)
