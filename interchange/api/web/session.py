"""Dashboard sessions: a signed cookie, and a CSRF token bound to it.

Why not the token in the cookie: the operator's token is a long-lived credential; the cookie
carries only the user id, a fragment of the token's hash (so revoking the token ends the
session) and an expiry, signed with the server's session secret. Forms carry a CSRF token
derived from the session, and the cookie is ``SameSite=Strict`` and ``HttpOnly``.
"""

from __future__ import annotations

import base64
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


@dataclass(frozen=True, slots=True)
class Session:
    user: auth.User
    raw: str

    def csrf(self, secret: str) -> str:
        return hmac.new(secret.encode(), b"csrf:" + self.raw.encode(), hashlib.sha256).hexdigest()


def _sign(secret: str, body: str) -> str:
    return hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()


def issue_cookie(response: Response, settings: ApiSettings, user_id: int, token_hash: str) -> None:
    body = base64.urlsafe_b64encode(
        json.dumps(
            {
                "u": user_id,
                "h": token_hash[:24],
                "e": int(time.time()) + settings.session_hours * 3600,
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
    raw = request.cookies.get(COOKIE)
    if not raw or len(raw) > 1024 or "." not in raw:
        return None
    body, sig = raw.rsplit(".", 1)
    if not hmac.compare_digest(sig, _sign(settings.session_secret, body)):
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(body.encode()))
        user_id, fragment, expires = int(data["u"]), str(data["h"]), int(data["e"])
    except (ValueError, KeyError, TypeError):
        return None
    if expires < time.time():
        return None
    with engine.connect() as conn:
        current = auth.token_hash_of(conn, user_id)
        user = auth.get_user(conn, user_id) if current else None
    if user is None or user.revoked_at is not None or current is None:
        return None
    if not hmac.compare_digest(current[:24], fragment):
        return None
    return Session(user, raw)
