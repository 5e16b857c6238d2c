"""The dashboard's forms: sign in and out, and each operator action as a plain POST.

Every action form carries the session's CSRF token and is answered by a redirect back (303)
with a one-line message, so it works without JavaScript. The order of the checks is the
API's: the target must be in the user's scope (else "not found"), then the token, then the
role; the work itself is ``api.actions.Actions`` (scoped, audited), never a rule of its own.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ...edxml.model import StatusCode
from ...errors import DeliveryError, InterchangeError, NotFoundError
from ...store import auth_tables as auth
from ..actions import Done
from ..deps import today
from ..queries import Scope, delivery_in_scope, inbox_item, sent_detail, sent_document
from ..routes.common import MAX_ID
from .i18n import done_texts, error_texts, word_texts
from .refusals import FormExpired
from .render import (
    LOGIN_COOKIE,
    Flash,
    back,
    check_csrf,
    check_origin,
    current_session,
    login_nonce,
    render,
    require_operator,
)
from .routing import PageRoute
from .session import Session, clear_cookie, issue_cookie

router = APIRouter(route_class=PageRoute)

Csrf = Annotated[str, Form(max_length=128)]
Reason = Annotated[str, Form(max_length=2000)]

#: The answers that the services refuse without a reason (a plain ``DeliveryError``).
NEEDS_REASON = frozenset({StatusCode.REFUSED, StatusCode.CHANGE_REFUSED})

#: Inbox answers: form action word → the status code sent back to the sender.
ANSWERS = {
    "accept": StatusCode.ACCEPTED,
    "refuse": StatusCode.REFUSED,
    "assign": StatusCode.ASSIGNED,
    "in-progress": StatusCode.IN_PROGRESS,
    "completed": StatusCode.COMPLETED,
    "recall-agree": StatusCode.CHANGE_ACCEPTED,
    "recall-refuse": StatusCode.CHANGE_REFUSED,
}


def _ids(*values: int) -> None:
    if not all(1 <= v <= MAX_ID for v in values):
        raise NotFoundError("not found")


def _safe_next(value: str) -> str:
    """Only a path of this dashboard: never an open redirect."""
    ok = value.startswith("/ui/") and "//" not in value and "\\" not in value
    return value if ok else "/ui/"


# --- sign in and out ---------------------------------------------------------------------


def _login_page(request: Request, status: int = 200, **values: Any) -> HTMLResponse:
    nonce = login_nonce()
    nxt = _safe_next(request.query_params.get("next", "/ui/"))
    response = render(
        request, "login.html", None, status=status, nonce=nonce, **{"next": nxt, **values}
    )
    response.set_cookie(
        LOGIN_COOKIE,
        nonce,
        max_age=3600,
        httponly=True,
        samesite="strict",
        secure=request.app.state.settings.cookie_secure,
        path="/ui/login",
    )
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request) -> HTMLResponse:
    return _login_page(request)


@router.post("/login")
def login(
    request: Request,
    token: Annotated[str, Form(max_length=512)] = "",
    nonce: Annotated[str, Form(max_length=128)] = "",
    next_url: Annotated[str, Form(alias="next", max_length=500)] = "/ui/",
) -> Response:
    """Exchange the token for a session cookie; the form's nonce must match its cookie
    (login CSRF: nobody can sign a victim's browser into another account)."""
    check_origin(request)
    cookie = request.cookies.get(LOGIN_COOKIE, "")
    if not (cookie and nonce and hmac.compare_digest(cookie, nonce)):
        raise FormExpired("the form expired: reload the page and try again")
    state = request.app.state
    with state.engine.connect() as conn:
        user = auth.find_user_by_token(conn, token.strip())
        facts = auth.session_facts(conn, user.id) if user else None
    if user is None or facts is None:
        return _login_page(request, status=401, failed=True)
    response = RedirectResponse(_safe_next(next_url), status_code=303)
    issue_cookie(response, state.settings, user.id, facts.token_hash, facts.sessions_after)
    response.delete_cookie(LOGIN_COOKIE, path="/ui/login")
    return response


@router.post("/logout")
def logout(request: Request, csrf: Csrf = "") -> Response:
    """End the session on the server, not only in this browser: a copy of the cookie is
    refused from now on, and so is every other session of this user (``session.py``).

    The moment recorded is never before this cookie's issue time, so this cookie ends even
    if another process issued it with a clock ahead of ours."""
    session = current_session(request)
    check_csrf(request, session, csrf)
    with request.app.state.engine.begin() as conn:
        auth.end_sessions(conn, session.user.id, max(auth.utcnow(), session.issued_at))
    response = RedirectResponse("/ui/login", status_code=303)
    clear_cookie(response, request.app.state.settings)
    return response


# --- actions -----------------------------------------------------------------------------------


def _act(
    request: Request,
    session: Session,
    csrf: str,
    url: str,
    key: str,
    work: Callable[[], Done],
    *,
    hint: str | None = None,
    delivery: int | None = None,
    assigned_to: str | None = None,
) -> Response:
    """Run the action; answer with its sentence (from its facts) or its error's sentence.

    ``hint`` (a ``_WORDS`` key) says what a plain ``DeliveryError`` means for this form and
    these inputs (e.g. an empty reason), since that class alone cannot; the precise English
    message always follows as technical detail."""
    check_csrf(request, session, csrf)
    require_operator(session)
    try:
        done = work()
    except InterchangeError as exc:  # audited by Actions; shown on the page it came from
        plain = hint is not None and type(exc) is DeliveryError
        said = word_texts(hint) if plain and hint else error_texts(exc)
        return back(request, url, Flash(err=said, tech=str(exc)))
    detail = done_texts(
        key,
        done.detail,
        state=done.state,
        count=done.count,
        delivery=delivery,
        assigned_to=assigned_to,
    )
    return back(request, url, Flash(msg=key, detail=detail))


@router.post("/documents/{document}/deliveries/{delivery}/{action}")
def delivery_action(
    request: Request, document: int, delivery: int, action: str, csrf: Csrf = ""
) -> Response:
    """Retry a failed or dead-lettered delivery, or resend to one recipient."""
    session = current_session(request)
    _ids(document, delivery)
    if action not in ("retry", "resend"):
        raise NotFoundError(f"no action {action}")
    with request.app.state.engine.connect() as conn:
        row = delivery_in_scope(conn, Scope.of(session.user), document, delivery)
    if row is None:
        raise NotFoundError(f"no delivery {delivery}")
    actions, user, tenant = request.app.state.actions, session.user, str(row.tenant)
    fn = actions.retry if action == "retry" else actions.resend
    return _act(
        request,
        session,
        csrf,
        f"/ui/documents/{document}",
        f"done_{action}",
        lambda: fn(user, tenant, delivery),
        delivery=delivery,
    )


@router.post("/documents/{document}/{action}")
def document_action(
    request: Request, document: int, action: str, csrf: Csrf = "", reason: Reason = ""
) -> Response:
    """Resend to the late recipients, cancel what is still queued, recall (13)."""
    session = current_session(request)
    _ids(document)
    if action not in ("resend-late", "cancel", "recall"):
        raise NotFoundError(f"no action {action}")
    scope = Scope.of(session.user)
    with request.app.state.engine.connect() as conn:
        row = sent_document(conn, scope, document)
        detail = sent_detail(conn, scope, document, today()) if row is not None else None
    if row is None or detail is None:
        raise NotFoundError(f"no document {document}")
    actions, user, tenant = request.app.state.actions, session.user, str(row.tenant)
    work: Callable[[], Done]
    hint = "err_nothing_to_cancel" if action == "cancel" else None
    if action == "recall":
        hint = "err_nothing_to_recall" if reason.strip() else "err_reason_required"
    if action == "resend-late":
        late = [d.id for d in detail.deliveries if d.overdue and not d.answered]
        work = lambda: actions.resend_late(user, tenant, document, late)  # noqa: E731
    elif action == "cancel":
        work = lambda: actions.cancel(user, tenant, document)  # noqa: E731
    else:
        work = lambda: actions.recall(user, tenant, document, reason)  # noqa: E731
    return _act(
        request,
        session,
        csrf,
        f"/ui/documents/{document}",
        f"done_{action.replace('-', '_')}",
        work,
        hint=hint,
    )


@router.post("/inbox/{item}/{action}")
def inbox_action(
    request: Request,
    item: int,
    action: str,
    csrf: Csrf = "",
    reason: Reason = "",
    to: Annotated[str, Form(max_length=255)] = "",
) -> Response:
    """Answer a received document: the status is signed and queued to its sender."""
    session = current_session(request)
    _ids(item)
    code = ANSWERS.get(action)
    if code is None:
        raise NotFoundError(f"no action {action}")
    with request.app.state.engine.connect() as conn:
        row = inbox_item(conn, Scope.of(session.user), item)
    if row is None:
        raise NotFoundError(f"no inbox item {item}")
    actions, user, tenant = request.app.state.actions, session.user, str(row.tenant)
    blank = code in NEEDS_REASON and not reason.strip()
    return _act(
        request,
        session,
        csrf,
        f"/ui/inbox/{item}",
        f"done_{code.value}",
        lambda: actions.answer(
            user, tenant, item, code, reason=reason.strip() or None, assigned_to=to.strip() or None
        ),
        hint="err_reason_required" if blank else None,
        assigned_to=to.strip() or None,
    )
