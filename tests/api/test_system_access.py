"""``/healthz`` open; ``/readyz`` open but terse, detailed for a token; ``/metrics`` closed.

Readiness detail and metrics name the node's certificates and count its work for every
agency it hosts: only a valid token of every tenant (scope ``*``, any role) sees them. A
probe without a token still learns whether the node is ready (200 or 503) and which checks
passed.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from interchange.api import ApiSettings, create_api_app
from interchange.store import auth_tables as auth
from interchange.store.db import make_engine

from .world import A, World


def _client(world: World, certificates: list[Path], engine: Engine | None = None) -> TestClient:
    app = create_api_app(
        ApiSettings(database_url=world.url),
        engine=engine or world.engine,
        codec=world.codec,
        directory=world.directory,
        certificates=certificates,
    )
    return TestClient(app, raise_server_exceptions=False)


def _h(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _everywhere(world: World, role: str) -> str:
    """A token of every tenant with ``role`` (as Prometheus would hold)."""
    with world.engine.begin() as conn:
        return auth.add_user(conn, f"all-{role}-{uuid.uuid4().hex[:8]}", role, ["*"]).token


def _subject(world: World) -> str:
    from interchange.api.metrics import certificate_days

    return certificate_days(world.ca_cert)[0]


def test_healthz_stays_open(world: World) -> None:
    assert _client(world, []).get("/healthz").json() == {"status": "ok"}


def test_readyz_without_a_token_says_only_ready_and_the_checks_names(world: World) -> None:
    c = _client(world, [world.ca_cert])
    r = c.get("/readyz")
    assert r.status_code == 200
    assert r.json() == {
        "ready": True,
        "checks": [{"name": "database", "ok": True}, {"name": "certificate", "ok": True}],
    }
    subject = _subject(world)
    assert subject and subject not in r.text and "reachable" not in r.text


def test_readyz_not_ready_without_a_token_is_503_and_still_terse(
    world: World, tmp_path: Path
) -> None:
    c = _client(world, [world.ca_cert, tmp_path / "missing.pem"])
    r = c.get("/readyz")
    assert r.status_code == 503
    assert r.json()["ready"] is False
    assert [(k["name"], k["ok"]) for k in r.json()["checks"]] == [
        ("database", True),
        ("certificate", True),
        ("certificate", False),
    ]
    assert "unreadable" not in r.text and "missing" not in r.text


def test_readyz_with_a_token_of_every_tenant_gives_the_detail(world: World) -> None:
    c = _client(world, [world.ca_cert])
    subject = _subject(world)
    for token in (
        _everywhere(world, "viewer"),
        _everywhere(world, "operator"),
        world.tokens["root"],
    ):
        r = c.get("/readyz", headers=_h(token))
        assert r.status_code == 200
        checks = r.json()["checks"]
        assert checks[0] == {"name": "database", "ok": True, "detail": "reachable", "value": None}
        assert checks[1]["detail"] == subject and checks[1]["value"] > 0


def test_readyz_with_a_scoped_token_stays_terse(world: World) -> None:
    """An admin of one agency must not read the certificates of the others."""
    c = _client(world, [world.ca_cert])
    for who in ("viewer", "operator", "admin"):
        r = c.get("/readyz", headers=_h(world.tokens[who]))
        assert r.status_code == 200, who
        assert r.json()["checks"][1] == {"name": "certificate", "ok": True}
        assert _subject(world) not in r.text


def test_readyz_with_an_unknown_or_revoked_token_is_refused(world: World) -> None:
    with world.engine.begin() as conn:
        gone = auth.add_user(conn, "ready-revoked", "viewer", [A]).token
        auth.revoke_user(conn, "ready-revoked")
    c = _client(world, [world.ca_cert])
    for token in ("ixt_unknown", gone):
        r = c.get("/readyz", headers=_h(token))
        assert r.status_code == 401 and r.json()["code"] == "unauthorized"
        assert _subject(world) not in r.text


def test_readyz_with_a_token_and_no_database_answers_tersely(world: World, tmp_path: Path) -> None:
    """The token cannot be checked without the database: the short answer, not a 500."""
    dead = make_engine(f"sqlite:///{tmp_path / 'no' / 'such' / 'dir' / 'node.db'}")
    try:
        c = _client(world, [world.ca_cert], engine=dead)
        r = c.get("/readyz", headers=_h(world.tokens["root"]))
        assert r.status_code == 503
        assert r.json() == {
            "ready": False,
            "checks": [{"name": "database", "ok": False}, {"name": "certificate", "ok": True}],
        }
    finally:
        dead.dispose()


def test_metrics_need_a_token_of_every_tenant(world: World) -> None:
    c = _client(world, [world.ca_cert])
    subject = _subject(world)
    with world.engine.begin() as conn:
        gone = auth.add_user(conn, "metrics-revoked", "viewer", [A]).token
        auth.revoke_user(conn, "metrics-revoked")
    for headers in ({}, _h("ixt_unknown"), _h(gone), {"Authorization": "Basic dXNlcjpwdw=="}):
        r = c.get("/metrics", headers=headers)
        assert r.status_code == 401, headers
        assert r.headers["www-authenticate"] == "Bearer"
        assert subject not in r.text and "interchange_" not in r.text
    for who in ("viewer", "operator", "admin", "dept"):  # scoped to one agency
        r = c.get("/metrics", headers=_h(world.tokens[who]))
        assert r.status_code == 403 and r.json()["code"] == "forbidden", who
        assert subject not in r.text and "interchange_" not in r.text
    for token in (_everywhere(world, "viewer"), world.tokens["root"]):
        r = c.get("/metrics", headers=_h(token))
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/plain")
        assert "interchange_deliveries" in r.text and subject in r.text


def test_the_published_schema_says_metrics_need_a_token(world: World) -> None:
    spec = _client(world, []).get("/api/v1/openapi.json").json()
    assert spec["paths"]["/metrics"]["get"].get("security")
    assert "401" in spec["paths"]["/metrics"]["get"]["responses"]
    assert "401" in spec["paths"]["/readyz"]["get"]["responses"]
    assert "security" not in spec["paths"]["/healthz"]["get"]
