"""Operator actions through the API on real signed data: each moves the delivery or inbox
item, queues the signed status for the sender, and is audited; bad input is refused typed."""

from __future__ import annotations

import json
import logging

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from interchange.api.actions import Actions
from interchange.edxml.read import read_message
from interchange.store import auth_tables as auth
from interchange.store.tables import deliveries, documents

from .world import DEPT, A, World, directive_spec

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _h(world: World, who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {world.tokens[who]}"}


def _last_audit(world: World) -> auth.AuditEntry:
    with world.engine.connect() as conn:
        return auth.list_audit(conn, 1)[0]


def test_retry_a_failed_delivery(client: TestClient, world: World) -> None:
    doc, did = world.ids[f"sent:{A}"], world.ids[f"delivery:{A}"]
    r = client.post(
        f"/api/v1/documents/{doc}/deliveries/{did}/retry", headers=_h(world, "operator")
    )
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "queued"
    detail = client.get(f"/api/v1/documents/{doc}", headers=_h(world, "viewer")).json()
    (d,) = detail["deliveries"]
    assert d["state"] == "queued" and d["timeline"][-1]["event"] == "retry"
    entry = _last_audit(world)
    assert (entry.actor, entry.action, entry.result, entry.tenant) == (
        "operator",
        "delivery.retry",
        "ok",
        A,
    )
    again = client.post(
        f"/api/v1/documents/{doc}/deliveries/{did}/retry", headers=_h(world, "operator")
    )
    assert again.status_code == 409 and again.json()["code"] == "illegal-transition"
    assert _last_audit(world).result == "refused: illegal-transition"


def test_refuse_needs_a_reason_and_sends_02(client: TestClient, world: World) -> None:
    item = world.ids[f"inbox:{A}"]
    for body in ({}, {"reason": ""}, {"reason": "   "}, {"reason": 3}, {"reason": "x", "y": 1}):
        r = client.post(f"/api/v1/inbox/{item}/refuse", headers=_h(world, "operator"), json=body)
        assert r.status_code == 422, (body, r.text)
        assert "\n" not in r.json()["detail"]
    assert client.get(f"/api/v1/inbox/{item}", headers=_h(world, "viewer")).json()["answers"] == []
    r = client.post(
        f"/api/v1/inbox/{item}/refuse",
        headers=_h(world, "operator"),
        json={"reason": "Không thuộc thẩm quyền giải quyết"},
    )
    assert r.status_code == 200, r.text
    got = client.get(f"/api/v1/inbox/{item}", headers=_h(world, "viewer")).json()
    assert got["state"] == "refused" and got["reason"] == "Không thuộc thẩm quyền giải quyết"
    (answer,) = got["answers"]
    assert answer["status_code"] == "02" and answer["state"] == "queued"
    with world.engine.connect() as conn:
        data = conn.execute(
            select(documents.c.data).where(
                documents.c.message_type == "status", documents.c.code == "02"
            )
        ).scalar_one()
    status = read_message(data)  # the queued answer is a real, signed status message
    assert status.status_code.value == "02"  # type: ignore[union-attr]
    assert status.description == "Không thuộc thẩm quyền giải quyết"  # type: ignore[union-attr]
    late = client.post(f"/api/v1/inbox/{item}/accept", headers=_h(world, "operator"))
    assert late.status_code == 409


def test_attachment_download(client: TestClient, world: World) -> None:
    item = world.ids[f"inbox:{A}"]
    r = client.get(f"/api/v1/inbox/{item}/attachments/0", headers=_h(world, "viewer"))
    assert r.status_code == 200 and r.content.startswith(b"<")
    assert r.headers["content-disposition"].startswith("attachment;")
    missing = client.get(f"/api/v1/inbox/{item}/attachments/7", headers=_h(world, "viewer"))
    assert missing.status_code == 404


def test_recall_and_resend_late_on_the_directive(client: TestClient, world: World) -> None:
    doc = world.ids["directive"]
    r = client.post(f"/api/v1/documents/{doc}/resend-late", headers=_h(world, "dept"))
    assert r.status_code == 200, r.text
    states = {
        d["recipient"]: d["state"]
        for d in client.get(f"/api/v1/documents/{doc}", headers=_h(world, "dept")).json()[
            "deliveries"
        ]
    }
    assert states["000.00.33.H53"] == "queued"  # sent, never answered: resent
    assert states["000.00.35.H53"] == "queued"  # dead-lettered: retried
    assert states["000.00.30.H53"] == "completed"  # answered: left alone
    r = client.post(
        f"/api/v1/documents/{doc}/recall",
        headers=_h(world, "dept"),
        json={"reason": "Văn bản có sai sót"},
    )
    assert r.status_code == 200, r.text
    assert "recall (13) queued" in r.json()["detail"]


def test_submit_directive_with_pdf(client: TestClient, world: World) -> None:
    spec = directive_spec("15")
    r = client.post(
        "/api/v1/submit",
        headers=_h(world, "dept"),
        data={"document": json.dumps(spec)},
        files=[("files", ("quyet-dinh.pdf", PDF, "application/pdf"))],
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["document_id"] and A in body["recipients"] and len(body["recipients"]) >= 5
    with world.engine.connect() as conn:
        n = conn.execute(
            select(func.count())
            .select_from(deliveries)
            .where(deliveries.c.document_pk == body["document_pk"])
        ).scalar_one()
    assert n == len(body["recipients"])
    assert _last_audit(world).action == "document.submit"


@pytest.mark.parametrize(
    ("form", "files", "status"),
    [
        ({"document": "{not json"}, None, 422),
        ({"document": json.dumps({"sender": DEPT, "kind": "poem", "payload": {}})}, None, 422),
        ({"document": json.dumps({"sender": DEPT, "kind": "directive", "payload": {}})}, None, 422),
        ({}, None, 400),
        (
            {"document": json.dumps({"sender": DEPT, "kind": "directive", "payload": {}})},
            [("files", ("x.pdf", b"MZ\x90\x00", "application/pdf"))],
            422,
        ),
    ],
)
def test_submit_refusals_store_nothing(
    client: TestClient,
    world: World,
    form: dict[str, str],
    files: list[object] | None,
    status: int,
) -> None:
    with world.engine.connect() as conn:
        before = conn.execute(select(func.count()).select_from(documents)).scalar_one()
    r = client.post("/api/v1/submit", headers=_h(world, "dept"), data=form, files=files)
    assert r.status_code == status, r.text
    with world.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(documents)).scalar_one() == before


def test_no_codec_means_a_clean_refusal(world: World) -> None:
    actions = Actions(world.engine, codec=None)
    with world.engine.connect() as conn:
        user = auth.find_user_by_token(conn, world.tokens["dept"])
    assert user is not None
    from interchange.errors import ConfigError

    with pytest.raises(ConfigError, match="no signing keys"):
        actions.recall(user, DEPT, world.ids["directive"], "x")


def test_secrets_never_in_answers_or_logs(
    client: TestClient, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    token = world.tokens["root"]
    seen = []
    for path in (
        "/api/v1/users",
        "/api/v1/audit",
        "/api/v1/me",
        "/api/v1/documents",
        "/readyz",
        "/metrics",
        "/api/v1/openapi.json",
    ):
        r = client.get(path, headers={"Authorization": f"Bearer {token}"})
        seen.append(r.text)
    bad = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}x"})
    seen.append(bad.text)
    text = "\n".join(seen) + caplog.text
    for secret in world.tokens.values():
        assert secret not in text
        assert auth.hash_token(secret) not in text
    assert "PRIVATE KEY" not in text


def test_served_on_loopback_beside_a_node(world: World) -> None:
    """The app over real HTTP (uvicorn in a thread), as a node mounts it."""
    import httpx

    from interchange.api import ApiSettings, create_api_app
    from interchange.api.server import start_api_server

    app = create_api_app(
        ApiSettings(database_url=world.url),
        engine=world.engine,
        codec=world.codec,
        directory=world.directory,
    )
    running = start_api_server(app)
    try:
        assert httpx.get(f"{running.url}/healthz").json() == {"status": "ok"}
        ready = httpx.get(f"{running.url}/readyz").json()
        assert ready["ready"] is True and ready["checks"][0]["name"] == "database"
        me = httpx.get(f"{running.url}/api/v1/me", headers=_h(world, "viewer"))
        assert me.json() == {"name": "viewer", "role": "viewer", "tenants": [A]}
        assert me.headers["cache-control"] == "no-store"
        assert me.headers["x-frame-options"] == "DENY"
        assert "default-src 'self'" in me.headers["content-security-policy"]
        assert httpx.get(f"{running.url}/metrics").status_code == 401
        assert httpx.get(f"{running.url}/metrics", headers=_h(world, "viewer")).status_code == 403
        metrics = httpx.get(f"{running.url}/metrics", headers=_h(world, "root"))
        assert "interchange_deliveries" in metrics.text
    finally:
        running.stop()
