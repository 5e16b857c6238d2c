"""Signing out of the dashboard ends the session on the server, not only in the browser.

The cookie is stateless, so a copy of it used to stay valid until it expired (12 hours);
now the sign-out is recorded in ``users.sessions_after`` (migration 0012) and every cookie of
that user issued at or before it is refused. Storage and migration on SQLite and on
PostgreSQL (``INTERCHANGE_TEST_PG_URL``; a failure, not a skip, when ``CI`` is set).
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from interchange.api import ApiSettings, create_api_app
from interchange.api.web.session import COOKIE, micros
from interchange.store import auth_tables as auth
from interchange.store.db import make_engine, metadata
from interchange.store.migrate import alembic_config, upgrade_database
from interchange.store.tables import deliveries
from tests.delivery.conftest import pg_schema_engine

from .world import A, World, csrf_of, sign_in

SECRET = "k3y-for-these-tests-only-0123456789abcdefXYZ"
BOTH = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def _client(world: World) -> TestClient:
    app = create_api_app(
        ApiSettings(database_url=world.url, session_secret=SECRET),
        engine=world.engine,
        codec=world.codec,
        directory=world.directory,
    )
    return TestClient(app, raise_server_exceptions=False)


def _login(world: World, who: str, c: TestClient | None = None) -> TestClient:
    return sign_in(c or _client(world), world, who)


def _csrf(c: TestClient) -> str:
    return csrf_of(c.get("/ui/").text)


def _logout(c: TestClient) -> None:
    r = c.post("/ui/logout", data={"csrf": _csrf(c)}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/ui/login"


def _holding(world: World, cookie: str) -> TestClient:
    """Another browser holding a copy of the cookie (a stolen or shared one)."""
    c = _client(world)
    c.cookies.set(COOKIE, cookie)
    return c


def _signed_in(c: TestClient) -> bool:
    r = c.get("/ui/", follow_redirects=False)
    assert r.status_code in (200, 303), r.text  # never a 500
    if r.status_code == 303:
        assert r.headers["location"].startswith("/ui/login?next=")
    return r.status_code == 200


def _user(world: World, name: str, role: str = "operator") -> str:
    """A user of its own for a test that ends its sessions (the world is shared)."""
    with world.engine.begin() as conn:
        world.tokens[name] = auth.add_user(conn, name, role, [A]).token
    return name


def _sessions_after(world: World, name: str) -> dt.datetime | None:
    with world.engine.connect() as conn:
        return conn.execute(
            sa.select(auth.users.c.sessions_after).where(auth.users.c.name == name)
        ).scalar_one()


# --- over HTTP ----------------------------------------------------------------------------


def test_a_cookie_copied_before_logout_is_refused_after_it(world: World) -> None:
    who = _user(world, "copied")
    c = _login(world, who)
    cookie = c.cookies[COOKIE]
    copy = _holding(world, cookie)
    assert _signed_in(copy)
    token = _csrf(copy)  # the copy's forms carry the same session's CSRF token
    _logout(c)
    assert not _signed_in(c)
    assert not _signed_in(copy)
    item = world.ids[f"inbox:{A}"]
    page = copy.get(f"/ui/inbox/{item}", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/ui/login")
    with world.engine.connect() as conn:
        states = conn.execute(sa.select(deliveries.c.id, deliveries.c.state)).all()
    r = copy.post(f"/ui/inbox/{item}/accept", data={"csrf": token}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/ui/login")
    with world.engine.connect() as conn:
        assert conn.execute(sa.select(deliveries.c.id, deliveries.c.state)).all() == states
    assert _sessions_after(world, who) is not None


def test_logout_leaves_other_users_sessions_alone(world: World) -> None:
    mine, theirs = _user(world, "leaving"), _user(world, "staying", "viewer")
    me, other = _login(world, mine), _login(world, theirs)
    elsewhere = _login(world, mine)  # the same user in another browser: ended too
    _logout(me)
    assert not _signed_in(me)
    assert not _signed_in(elsewhere)
    assert _signed_in(other)
    assert _sessions_after(world, theirs) is None
    assert _sessions_after(world, mine) is not None


def test_signing_in_again_right_after_logout_works(world: World) -> None:
    """In the same second, and even when the sign-out was recorded by a process whose clock
    is ahead of this one's: a new cookie is always issued after the last sign-out."""
    who = _user(world, "returning")
    c = _login(world, who)
    for _ in range(3):
        _logout(c)
        _login(world, who, c)
        assert _signed_in(c)
    ahead = auth.utcnow() + dt.timedelta(seconds=5)
    with world.engine.begin() as conn:
        auth.end_sessions(conn, world_user_id(world, who), ahead)
    assert not _signed_in(c)
    _login(world, who, c)
    assert _signed_in(c)
    assert _issued(c.cookies[COOKIE]) == micros(ahead) + 1
    copy = _holding(world, c.cookies[COOKIE])
    _logout(c)  # a cookie issued "in the future" ends all the same
    assert not _signed_in(copy)


def test_a_sign_out_recorded_ahead_never_lengthens_a_session(world: World) -> None:
    """A sign-out recorded by a clock far ahead (a process with a wrong clock) makes the next
    cookie's issue time later than it, but its expiry still counts from now: a session
    lasts ``session_hours``, not until the wrong clock's time."""
    who = _user(world, "clock-ahead")
    ahead = auth.utcnow() + dt.timedelta(days=30)
    with world.engine.begin() as conn:
        auth.end_sessions(conn, world_user_id(world, who), ahead)
    started = time.time()
    c = _login(world, who)
    assert _signed_in(c)
    body = _body(c.cookies[COOKIE])
    assert body["i"] == micros(ahead) + 1
    hours = ApiSettings(database_url=world.url, session_secret=SECRET).session_hours
    assert isinstance(body["e"], int)
    assert started + hours * 3600 - 5 <= body["e"] <= time.time() + hours * 3600


def test_a_token_still_works_for_the_api_after_logout(world: World) -> None:
    """Signing out ends dashboard sessions only; the operator's token is not revoked."""
    who = _user(world, "api-too")
    c = _login(world, who)
    _logout(c)
    me = c.get("/api/v1/me", headers={"Authorization": f"Bearer {world.tokens[who]}"})
    assert me.status_code == 200 and me.json()["name"] == who


def test_revoking_the_token_still_ends_sessions(world: World) -> None:
    who = _user(world, "revoked-later")
    c = _login(world, who)
    assert _signed_in(c)
    with world.engine.begin() as conn:
        auth.revoke_user(conn, who)
    assert not _signed_in(c)


def test_old_and_malformed_cookies_are_refused_cleanly(world: World) -> None:
    """A validly signed cookie of the old format (no issue time) is refused like any other
    bad cookie: a redirect to the login page, never a 500."""
    who = _user(world, "old-format")
    c = _login(world, who)
    current = _body(c.cookies[COOKIE])
    old = {k: v for k, v in current.items() if k != "i"}  # user, token fragment, expiry
    assert set(old) == {"u", "h", "e"}
    for body in (
        old,
        {**old, "i": "soon"},
        {**old, "i": None},
        [1, 2, 3],
        "text",
    ):
        assert not _signed_in(_holding(world, _forge(body))), body
    unsigned = base64.urlsafe_b64encode(b"\xff\xfe").decode()
    assert not _signed_in(_holding(world, f"{unsigned}.{_sign(unsigned)}"))
    assert _signed_in(_holding(world, _forge(current)))  # the same way, a good one passes


# --- storage and migration ----------------------------------------------------------------


@pytest.mark.parametrize("kind", BOTH)
def test_sessions_after_keeps_microseconds_and_never_moves_back(kind: str, tmp_path: Path) -> None:
    with _database(kind, tmp_path, "head") as eng:
        with eng.begin() as conn:
            uid = auth.add_user(conn, "u", "viewer", [A]).user.id
            other = auth.add_user(conn, "v", "viewer", [A]).user.id
        at = dt.datetime(2026, 11, 28, 10, 0, 0, 123457)
        with eng.begin() as conn:
            auth.end_sessions(conn, uid, at)
            auth.end_sessions(conn, uid, at - dt.timedelta(microseconds=1))  # a slower race
        with eng.connect() as conn:
            facts = auth.session_facts(conn, uid)
            untouched = auth.session_facts(conn, other)
            assert auth.session_facts(conn, 10**6) is None
        assert facts is not None and facts.sessions_after == at
        assert micros(facts.sessions_after) == micros(at)
        assert untouched is not None and untouched.sessions_after is None


@pytest.mark.parametrize("kind", BOTH)
def test_0012_upgrades_a_database_with_users(kind: str, tmp_path: Path) -> None:
    """At 0011 with users and their scopes; after 0012 they keep their tokens, their
    sessions are not ended, they can sign out; the table matches the application's."""
    token = auth.TOKEN_PREFIX + "existing-user-token-0123456789"
    with _database(kind, tmp_path, "0011") as eng:
        now = dt.datetime(2026, 11, 1, 8, 0)
        users = sa.table(
            "users",
            sa.column("id", sa.Integer),
            sa.column("name", sa.String),
            sa.column("role", sa.String),
            sa.column("token_hash", sa.String),
            sa.column("created_at", sa.DateTime),
            sa.column("revoked_at", sa.DateTime),
        )
        scopes = sa.table("user_tenants", sa.column("user_id"), sa.column("tenant"))
        with eng.begin() as conn:
            for row in (
                dict(id=1, name="old", role="operator", token_hash=auth.hash_token(token)),
                dict(id=2, name="gone", role="viewer", token_hash="0" * 64, revoked_at=now),
            ):
                conn.execute(sa.insert(users).values(created_at=now, **row))
            conn.execute(sa.insert(scopes), [{"user_id": i, "tenant": A} for i in (1, 2)])
            if kind == "postgres":  # explicit ids: move the sequence past them
                conn.execute(sa.text("SELECT setval('users_id_seq', 2)"))
        upgrade_database(eng.url.render_as_string(hide_password=False), engine=eng)
        with eng.connect() as conn:
            user = auth.find_user_by_token(conn, token)
            assert user is not None and (user.name, user.tenants) == ("old", (A,))
            assert auth.session_facts(conn, 1) == auth.SessionFacts(auth.hash_token(token), None)
            assert [u.name for u in auth.list_users(conn)] == ["gone", "old"]
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            drift = [d for d in compare_metadata(ctx, metadata) if "users" in repr(d)]
        assert drift == []
        at = auth.utcnow()
        with eng.begin() as conn:
            auth.end_sessions(conn, 1, at)
            assert auth.add_user(conn, "new", "viewer", [A]).user.id == 3
        with eng.connect() as conn:
            facts = auth.session_facts(conn, 1)
        assert facts is not None and facts.sessions_after == at
        # and back: the column goes, the users stay
        with eng.connect() as conn:
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0011")
            conn.commit()
            names = conn.execute(sa.select(users.c.name).order_by(users.c.name)).scalars().all()
            columns = {c["name"] for c in sa.inspect(conn).get_columns("users")}
        assert names == ["gone", "new", "old"] and "sessions_after" not in columns


# --- helpers ------------------------------------------------------------------------------


def world_user_id(world: World, name: str) -> int:
    with world.engine.connect() as conn:
        return int(
            conn.execute(sa.select(auth.users.c.id).where(auth.users.c.name == name)).scalar_one()
        )


def _sign(body: str) -> str:
    return hmac.new(SECRET.encode(), body.encode(), hashlib.sha256).hexdigest()


def _forge(data: object) -> str:
    """A cookie signed with the app's secret: only its content can be wrong."""
    body = base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode()
    return f"{body}.{_sign(body)}"


def _body(cookie: str) -> dict[str, object]:
    data = json.loads(base64.urlsafe_b64decode(cookie.rsplit(".", 1)[0].encode()))
    assert isinstance(data, dict)
    return data


def _issued(cookie: str) -> int:
    value = _body(cookie)["i"]
    assert isinstance(value, int)
    return value


@contextlib.contextmanager
def _database(kind: str, tmp_path: Path, revision: str) -> Iterator[Engine]:
    """An empty database (SQLite, or a fresh PostgreSQL schema) migrated to ``revision``."""
    if kind == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'node.db'}")
        try:
            _migrate(eng, revision)
            yield eng
        finally:
            eng.dispose()
        return
    with pg_schema_engine() as eng:
        _migrate(eng, revision)
        yield eng


def _migrate(eng: Engine, revision: str) -> None:
    if revision == "head":
        upgrade_database(eng.url.render_as_string(hide_password=False), engine=eng)
        return
    with eng.connect() as conn:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
        conn.commit()
