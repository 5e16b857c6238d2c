"""Dashboard sessions: a signed cookie, and a CSRF token bound to it.

Why not the token in the cookie: the operator's token is a long-lived credential; the cookie
carries only the user id, a fragment of the token's hash (so revoking the token ends the
session), the moment it was issued and an expiry, signed with the server's session secret.
Forms carry a CSRF token derived from the session, and the cookie is ``SameSite=Strict`` and
``HttpOnly``.

Why an issue time: the server keeps no session, so signing out records the moment in
``users.sessions_after`` and every cookie of that user issued at or before it is refused
(a copied cookie dies with the sign-out, in every browser of that user). Times are whole
microseconds since the epoch, compared as integers: a sign-in in the same second as the
sign-out still counts, and a new cookie is always issued after the last sign-out even if
this process's clock is behind the one that recorded it. A cookie without an issue time
(issued before this rule) is refused like any malformed cookie.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import time
from dataclasses import dataclass

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy.engine import Engine

from ...store import auth_tables as auth
from ..config import ApiSettings

COOKIE = "ix_session"
_EPOCH = dt.datetime(1970, 1, 1)
_MICRO = dt.timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class Session:
    user: auth.User
    raw: str
    issued: int  # microseconds since the epoch (UTC)

    @property
    def issued_at(self) -> dt.datetime:
        return at_micros(self.issued)

    def csrf(self, secret: str) -> str:
        return hmac.new(secret.encode(), b"csrf:" + self.raw.encode(), hashlib.sha256).hexdigest()


def micros(at: dt.datetime) -> int:
    """A naive UTC time as whole microseconds since the epoch (exact, no float)."""
    return (at - _EPOCH) // _MICRO


def at_micros(value: int) -> dt.datetime:
    return _EPOCH + value * _MICRO


def now_micros() -> int:
    return time.time_ns() // 1000


def _sign(secret: str, body: str) -> str:
    return hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()


def issue_cookie(
    response: Response,
    settings: ApiSettings,
    user_id: int,
    token_hash: str,
    sessions_after: dt.datetime | None = None,
) -> None:
    """Set a new session cookie; ``sessions_after`` is the user's last sign-out, which the
    cookie is always issued after. Its expiry counts from this process's clock, not from
    the issue time: a sign-out recorded by a clock far ahead must not lengthen sessions."""
    now = now_micros()
    issued = now if sessions_after is None else max(now, micros(sessions_after) + 1)
    body = base64.urlsafe_b64encode(
        json.dumps(
            {
                "u": user_id,
                "h": token_hash[:24],
                "i": issued,
                "e": now // 1_000_000 + settings.session_hours * 3600,
            },
            separators=(",", ":"),
        ).encode()
    ).decode()
    response.set_cookie(
        COOKIE,
        f"{body}.{_sign(settings.session_secret, body)}",
        max_age=settings.session_hours * 3600,
        httponly=True,
        samesite="strict",
        secure=settings.cookie_secure,
        path="/",
    )


def clear_cookie(response: Response, settings: ApiSettings) -> None:
    response.delete_cookie(
        COOKIE, path="/", httponly=True, samesite="strict", secure=settings.cookie_secure
    )


def read_session(request: Request, engine: Engine, settings: ApiSettings) -> Session | None:
    """The request's session, or None: no cookie, a bad signature or shape, expired, the
    user revoked or holding another token, or signed out since the cookie was issued."""
    raw = request.cookies.get(COOKIE)
    if not raw or len(raw) > 1024 or "." not in raw:
        return None
    body, sig = raw.rsplit(".", 1)
    if not hmac.compare_digest(sig, _sign(settings.session_secret, body)):
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(body.encode()))
        user_id, fragment = int(data["u"]), str(data["h"])
        issued, expires = int(data["i"]), int(data["e"])
    except (ValueError, KeyError, TypeError):  # binascii.Error is a ValueError
        return None
    if expires < time.time():
        return None
    with engine.connect() as conn:
        facts = auth.session_facts(conn, user_id)
        user = auth.get_user(conn, user_id) if facts else None
    if user is None or user.revoked_at is not None or facts is None:
        return None
    if not hmac.compare_digest(facts.token_hash[:24], fragment):
        return None
    if facts.sessions_after is not None and issued <= micros(facts.sessions_after):
        return None
    return Session(user, raw, issued)
