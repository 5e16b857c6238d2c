"""Least privilege, for every route of the API × every role × own and foreign tenant.

The table below must name every route the app has: a new route without a row fails
``test_every_route_is_covered``. Users are scoped to district A; district B is foreign.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from interchange.store import auth_tables as auth

from .world import A, B, World

ROLES = ("viewer", "operator", "admin")


@dataclass(frozen=True)
class Case:
    role: str  # the least role that may call it
    scoped: str  # "detail" (foreign → 404), "list" (foreign rows filtered), "create" (→ 403),
    # "none" (not about a tenant), "whole" (about every tenant: a scoped user → 403)
    params: dict[str, str] = field(default_factory=dict)  # placeholders → world id keys
    body: dict[str, Any] | None = None


P_DOC = {"document": "sent:{t}"}
P_DEL = {"document": "sent:{t}", "delivery": "delivery:{t}"}
P_INBOX = {"item": "inbox:{t}"}

CASES: dict[tuple[str, str], Case] = {
    ("GET", "/api/v1/documents"): Case("viewer", "list"),
    ("GET", "/api/v1/documents/{document}"): Case("viewer", "detail", P_DOC),
    ("POST", "/api/v1/documents/{document}/deliveries/{delivery}/retry"): Case(
        "operator", "detail", P_DEL
    ),
    ("POST", "/api/v1/documents/{document}/deliveries/{delivery}/resend"): Case(
        "operator", "detail", P_DEL
    ),
    ("POST", "/api/v1/documents/{document}/resend-late"): Case("operator", "detail", P_DOC),
    ("POST", "/api/v1/documents/{document}/cancel"): Case("operator", "detail", P_DOC),
    ("POST", "/api/v1/documents/{document}/recall"): Case(
        "operator", "detail", P_DOC, {"reason": "sai số liệu"}
    ),
    ("GET", "/api/v1/inbox"): Case("viewer", "list"),
    ("GET", "/api/v1/inbox/{item}"): Case("viewer", "detail", P_INBOX),
    ("GET", "/api/v1/inbox/{item}/attachments/{index}"): Case(
        "viewer", "detail", {**P_INBOX, "index": "=0"}
    ),
    ("POST", "/api/v1/inbox/{item}/accept"): Case("operator", "detail", P_INBOX),
    ("POST", "/api/v1/inbox/{item}/refuse"): Case(
        "operator", "detail", P_INBOX, {"reason": "Không thuộc thẩm quyền"}
    ),
    ("POST", "/api/v1/inbox/{item}/assign"): Case(
        "operator", "detail", P_INBOX, {"to": "Phòng Văn hóa"}
    ),
    ("POST", "/api/v1/inbox/{item}/in-progress"): Case("operator", "detail", P_INBOX),
    ("POST", "/api/v1/inbox/{item}/completed"): Case("operator", "detail", P_INBOX),
    ("POST", "/api/v1/inbox/{item}/recall-answer"): Case(
        "operator", "detail", P_INBOX, {"agree": True}
    ),
    ("GET", "/api/v1/me"): Case("viewer", "none"),
    ("GET", "/api/v1/overview"): Case("viewer", "list"),
    ("GET", "/api/v1/users"): Case("admin", "list"),
    ("POST", "/api/v1/users"): Case("admin", "create"),
    ("POST", "/api/v1/users/{name}/revoke"): Case("admin", "detail", {"name": "=victim-{t}"}),
    ("GET", "/api/v1/audit"): Case("admin", "list"),
    ("GET", "/api/v1/audit/verify"): Case("admin", "whole"),
    ("GET", "/api/v1/directory"): Case("viewer", "none"),
    ("GET", "/api/v1/directory/{code}"): Case("viewer", "none", {"code": "=000.00.31.H53"}),
    ("POST", "/api/v1/submit"): Case("operator", "create"),
}


def _api_routes(client: TestClient) -> set[tuple[str, str]]:
    """Every operation the app publishes under /api/v1 (its OpenAPI document)."""
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    return {(m.upper(), p) for p, ops in paths.items() for m in ops if p.startswith("/api/v1")}


def test_every_route_is_covered(client: TestClient) -> None:
    assert _api_routes(client) == set(CASES), "add the new route to CASES"


@pytest.fixture(scope="module", autouse=True)
def _victims(world: World) -> None:
    with world.engine.begin() as conn:
        for t in (A, B):
            auth.add_user(conn, f"victim-{t}", "viewer", [t])


def _url(path: str, case: Case, world: World, tenant: str) -> str:
    for name, key in case.params.items():
        value = (
            key[1:].format(t=tenant)
            if key.startswith("=")
            else str(world.ids[key.format(t=tenant)])
        )
        if name == "code":
            value = key[1:]
        path = path.replace("{" + name + "}", value)
    return path + ("?q=H53" if path == "/api/v1/directory" else "")


def _body(method: str, path: str, case: Case, tenant: str, n: int) -> dict[str, Any] | None:
    if path == "/api/v1/users":
        return {"name": f"new-{tenant}-{n}", "role": "viewer", "tenants": [tenant]}
    if path == "/api/v1/submit":
        return None
    return case.body


def _call(
    client: TestClient,
    method: str,
    url: str,
    token: str | None,
    body: dict[str, Any] | None,
    path: str,
    tenant: str,
) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if path == "/api/v1/submit":
        spec = {
            "sender": tenant,
            "kind": "directive",
            "recipients": ["000.00.13.H53"],
            "payload": {},
        }
        import json

        return client.post(url, headers=headers, data={"document": json.dumps(spec)})
    if method == "GET":
        return client.get(url, headers=headers)
    return client.post(url, headers=headers, json=body)


def _audit_count(world: World) -> int:
    with world.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(auth.audit_log)).scalar_one())


def _tenants_in(body: Any) -> set[str]:
    """The tenants a list answer shows rows of."""
    rows = body["items"] if isinstance(body, dict) and "items" in body else body
    if isinstance(body, dict) and "tenants" in body:
        rows = body["tenants"]
    out: set[str] = set()
    for row in rows:
        value = row.get("tenant", row.get("tenants"))
        out |= set(value) if isinstance(value, list) else {value} if value else set()
    return out


ALL = sorted(CASES)


@pytest.mark.parametrize(("method", "path"), ALL)
def test_anonymous_and_bad_tokens_are_refused(
    client: TestClient, world: World, method: str, path: str
) -> None:
    case = CASES[method, path]
    url = _url(path, case, world, A)
    for token in (None, "ixt_not-a-token", world.tokens["viewer"] + "x"):
        r = _call(client, method, url, token, _body(method, path, case, A, 0), path, A)
        assert r.status_code == 401, (token, r.text)
        assert r.json()["code"] == "unauthorized"
        assert r.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("tenant", ["own", "foreign"])
@pytest.mark.parametrize(("method", "path"), ALL)
def test_role_and_tenant(
    client: TestClient, world: World, method: str, path: str, role: str, tenant: str
) -> None:
    case = CASES[method, path]
    code = A if tenant == "own" else B
    url = _url(path, case, world, code)
    before = _audit_count(world)
    r = _call(
        client, method, url, world.tokens[role], _body(method, path, case, code, 1), path, code
    )
    assert r.status_code != 500, r.text
    assert set(r.json()) >= {"detail", "code"} if r.status_code >= 400 else True
    allowed = ROLES.index(role) >= ROLES.index(case.role)
    if not allowed or case.scoped == "whole":  # every role here is scoped to district A
        assert r.status_code == 403, r.text
    elif tenant == "foreign" and case.scoped == "detail":
        assert r.status_code == 404, r.text
        assert r.json()["code"] == "not-found"
    elif tenant == "foreign" and case.scoped == "create":
        assert r.status_code == 403, r.text
    elif method == "GET":
        assert r.status_code == 200, r.text
        if case.scoped == "list":
            assert _tenants_in(r.json()) <= {A}, "a foreign tenant's rows leaked"
    else:  # an allowed action: done, or refused by the life cycle (already done)
        assert r.status_code in (200, 201, 409, 422), r.text
    if method == "POST":
        assert _audit_count(world) > before, "every attempted action is audited"
    else:
        assert _audit_count(world) == before


def test_audit_chain_intact_after_everything(client: TestClient, world: World) -> None:
    r = client.get(
        "/api/v1/audit/verify", headers={"Authorization": f"Bearer {world.tokens['root']}"}
    )
    assert r.status_code == 200 and r.json()["ok"] is True and r.json()["count"] > 10
