"""Least privilege on the dashboard, as on the API: a district's user never sees another
tenant's document (every page and every action answers "not found"), a viewer cannot act,
and a form without this session's CSRF token (or from another origin) is refused. Each
refusal changes nothing in the store."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from interchange.store.auth_tables import audit_log
from interchange.store.tables import deliveries, documents, inbox_items
from tests.api.world import DEPT, A, B, World, csrf_of

from .conftest import login


def _snapshot(world: World) -> tuple[Any, ...]:
    with world.engine.connect() as conn:
        return (
            sorted(
                conn.execute(select(deliveries.c.id, deliveries.c.state, deliveries.c.attempts))
            ),
            sorted(
                conn.execute(select(inbox_items.c.id, inbox_items.c.state, inbox_items.c.reason))
            ),
            conn.execute(select(func.count()).select_from(documents)).scalar(),
        )


def _foreign_targets(world: World) -> list[str]:
    """Every page and action of documents held by DEPT and B (the user is scoped to A)."""
    d, sb, ib = world.ids["directive"], world.ids[f"sent:{B}"], world.ids[f"inbox:{B}"]
    dd, db = world.ids["directive:000.00.34.H53"], world.ids[f"delivery:{B}"]
    return [
        f"GET /ui/documents/{d}",
        f"GET /ui/documents/{d}?pending=true",
        f"GET /ui/documents/{sb}",
        f"GET /ui/inbox/{ib}",
        f"GET /ui/inbox/{ib}/attachments/0",
        f"POST /ui/documents/{d}/deliveries/{dd}/retry",
        f"POST /ui/documents/{d}/deliveries/{dd}/resend",
        f"POST /ui/documents/{sb}/deliveries/{db}/retry",
        f"POST /ui/documents/{d}/resend-late",
        f"POST /ui/documents/{d}/cancel",
        f"POST /ui/documents/{d}/recall",
        f"POST /ui/documents/{sb}/cancel",
        *(
            f"POST /ui/inbox/{ib}/{a}"
            for a in (
                "accept",
                "refuse",
                "assign",
                "in-progress",
                "completed",
                "recall-agree",
                "recall-refuse",
            )
        ),
        # a delivery of A's own document addressed through a foreign document's URL
        f"POST /ui/documents/{d}/deliveries/{world.ids[f'delivery:{A}']}/retry",
    ]


def test_foreign_tenant_gets_not_found_for_every_page_and_action(world: World) -> None:
    before = _snapshot(world)
    for who in ("viewer", "operator", "admin"):
        c = login(world, who)
        token = csrf_of(c.get("/ui/").text)
        for target in _foreign_targets(world):
            method, path = target.split(" ", 1)
            data = {"csrf": token, "reason": "x", "to": "y"}
            r = c.get(path) if method == "GET" else c.post(path, data=data)
            # "not found" before the role or the token is even looked at: nothing leaks
            assert r.status_code == 404, (who, target, r.status_code)
            assert "text/html" in r.headers["content-type"]
            assert "report-1" not in r.text and "matrix" not in r.text
    assert _snapshot(world) == before


def test_lists_show_only_the_users_tenants(world: World) -> None:
    c = login(world, "operator")
    docs = c.get("/ui/documents").text
    assert f"/ui/documents/{world.ids[f'sent:{A}']}" in docs
    assert f'/ui/documents/{world.ids[f"sent:{B}"]}"' not in docs
    assert f'/ui/documents/{world.ids["directive"]}"' not in docs
    inbox = c.get("/ui/inbox").text
    assert f'data-item="{world.ids[f"inbox:{B}"]}"' not in inbox
    home = c.get("/ui/").text
    assert f'data-tenant="{B}"' not in home and f'data-tenant="{DEPT}"' not in home
    tenant_b = c.get(f"/ui/documents?tenant={B}").text
    assert "/ui/documents/" not in tenant_b.split('id="documents"')[1]


def test_a_viewer_sees_no_buttons_and_cannot_post(world: World) -> None:
    before = _snapshot(world)
    c = login(world, "viewer")
    doc, did, item = world.ids[f"sent:{A}"], world.ids[f"delivery:{A}"], world.ids[f"inbox:{A}"]
    page = c.get(f"/ui/documents/{doc}")
    assert page.status_code == 200 and "/retry" not in page.text and "/cancel" not in page.text
    ipage = c.get(f"/ui/inbox/{item}")
    assert ipage.status_code == 200 and 'id="refuse-form"' not in ipage.text
    token = csrf_of(page.text)  # the logout form's: a valid token of this session
    for path in (
        f"/ui/documents/{doc}/deliveries/{did}/retry",
        f"/ui/documents/{doc}/cancel",
        f"/ui/documents/{doc}/resend-late",
        f"/ui/inbox/{item}/accept",
        f"/ui/inbox/{item}/refuse",
        f"/ui/inbox/{item}/assign",
    ):
        r = c.post(path, data={"csrf": token, "reason": "x", "to": "y"})
        assert r.status_code == 403, path
    assert _snapshot(world) == before
    with world.engine.connect() as conn:
        refused = conn.execute(
            select(func.count())
            .select_from(audit_log)
            .where(audit_log.c.actor == "viewer", audit_log.c.result.like("refused: 403%"))
        ).scalar()
    assert refused and refused >= 6


def test_forms_without_this_sessions_csrf_token_are_refused(world: World) -> None:
    before = _snapshot(world)
    c = login(world, "operator")
    doc, did, item = world.ids[f"sent:{A}"], world.ids[f"delivery:{A}"], world.ids[f"inbox:{A}"]
    other = csrf_of(login(world, "admin").get("/ui/").text)  # another session's token
    for path in (
        f"/ui/documents/{doc}/deliveries/{did}/retry",
        f"/ui/inbox/{item}/accept",
        f"/ui/inbox/{item}/refuse",
        f"/ui/documents/{doc}/cancel",
        "/ui/logout",
    ):
        for data in ({}, {"csrf": ""}, {"csrf": "0" * 64}, {"csrf": other}):
            r = c.post(path, data={**data, "reason": "x"})
            assert r.status_code == 403, (path, data)
    token = csrf_of(c.get("/ui/").text)
    r = c.post(
        f"/ui/inbox/{item}/accept", data={"csrf": token}, headers={"Origin": "https://evil.example"}
    )
    assert r.status_code == 403
    assert _snapshot(world) == before


def test_posting_without_a_session_signs_in_first(world: World) -> None:
    from .conftest import client

    before = _snapshot(world)
    c = client(world)
    r = c.post(
        f"/ui/inbox/{world.ids[f'inbox:{A}']}/accept", data={"csrf": "x"}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"].startswith("/ui/login")
    assert _snapshot(world) == before
