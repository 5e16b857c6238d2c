"""``/api/v1/audit/verify`` reports on the whole hash chain, every tenant's entries: only an
admin of every tenant may ask; an admin scoped to some agencies is refused (403), over real
HTTP on loopback, and learns nothing of the log."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import func, select

from interchange.api import ApiSettings, create_api_app
from interchange.api.server import RunningApi, start_api_server
from interchange.store import auth_tables as auth

from .world import A, B, World


@pytest.fixture(scope="module")
def api(world: World) -> Iterator[RunningApi]:
    app = create_api_app(
        ApiSettings(database_url=world.url),
        engine=world.engine,
        codec=world.codec,
        directory=world.directory,
    )
    running = start_api_server(app)
    yield running
    running.stop()


def _get(api: RunningApi, world: World, who: str, path: str) -> httpx.Response:
    return httpx.get(
        f"{api.url}/api/v1{path}", headers={"Authorization": f"Bearer {world.tokens[who]}"}
    )


def _entries(world: World) -> int:
    with world.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(auth.audit_log)).scalar_one())


def test_a_scoped_admin_may_not_verify_the_whole_log(api: RunningApi, world: World) -> None:
    with world.engine.begin() as conn:  # another agency's entry the scoped admin must not count
        auth.append_audit(
            conn, actor="other", action="users.add", target="x", tenant=B, result="ok"
        )
    before = _entries(world)
    r = _get(api, world, "admin", "/audit/verify")  # admin of district A only
    assert r.status_code == 403
    assert r.json() == {
        "detail": "checking the whole audit log needs an admin of every tenant",
        "code": "forbidden",
    }
    assert _entries(world) == before  # a refused read is not written to the log
    # what it may read stays available, filtered to its own agencies
    own = _get(api, world, "admin", "/audit")
    assert own.status_code == 200 and {e["tenant"] for e in own.json()} <= {A}


def test_an_admin_of_every_tenant_verifies_the_whole_log(api: RunningApi, world: World) -> None:
    before = _entries(world)
    r = _get(api, world, "root", "/audit/verify")
    assert r.status_code == 200, r.text
    assert r.json() == {
        "ok": True,
        "count": before,
        "broken_seq": None,
        "reason": None,
        "unfinished": [],
    }
    assert _entries(world) == before
