"""The dashboard's forms do what the API's actions do (the same audited ``Actions``): retry,
resend to the late ones, cancel, refuse with a reason (status 02 queued to the sender),
assign to someone (04). Each answer is a redirect back with a one-line message."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from interchange.store.auth_tables import audit_log
from interchange.store.tables import deliveries, documents, inbox_items
from tests.api.world import DEPT, A, B, World, csrf_of

from .conftest import login, new_world


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    w = new_world(tmp_path_factory.mktemp("web-actions"))
    yield w
    w.engine.dispose()


def _state(world: World, delivery: int) -> str:
    with world.engine.connect() as conn:
        return str(
            conn.execute(select(deliveries.c.state).where(deliveries.c.id == delivery)).scalar()
        )


def _item(world: World, item: int) -> tuple[str, str | None, str | None]:
    with world.engine.connect() as conn:
        row = conn.execute(
            select(inbox_items.c.state, inbox_items.c.reason, inbox_items.c.assigned_to).where(
                inbox_items.c.id == item
            )
        ).one()
    return row.state, row.reason, row.assigned_to


def _flash(c: TestClient, r: httpx.Response, lang: str = "vi") -> tuple[str, str]:
    """The redirect's target page, once: its message (ok) and its error."""
    assert r.status_code == 303, r.text
    page = c.get(r.headers["location"], params={"lang": lang}).text
    ok = re.search(r'class="flash ok"[^>]*>(.*?)</p>', page, re.S)
    err = re.search(r'class="flash err"[^>]*>(.*?)</p>', page, re.S)
    return (ok.group(1) if ok else "", err.group(1) if err else "")


def test_retry_a_failed_delivery_from_the_matrix(world: World) -> None:
    c = login(world, "clerk")
    doc, did = world.ids["directive"], world.ids["directive:000.00.34.H53"]
    page = c.get(f"/ui/documents/{doc}")
    assert f'id="retry-{did}"' in page.text
    r = c.post(
        f"/ui/documents/{doc}/deliveries/{did}/retry",
        data={"csrf": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == f"/ui/documents/{doc}"
    assert "?" not in r.headers["location"]  # the message is not in the URL
    ok, err = _flash(c, r)
    # Vietnamese only: the action's English detail line is for the English page
    assert "gửi lại ngay" in ok and "queued" not in ok and not err
    assert _state(world, did) == "queued"
    assert _flash(c, r) == ("", "")  # shown once
    with world.engine.connect() as conn:
        entry = conn.execute(select(audit_log).order_by(audit_log.c.seq.desc())).first()
    assert entry is not None and entry.actor == "clerk" and entry.result == "ok"
    assert entry.action == "delivery.retry"


def test_resend_to_the_late_ones(world: World) -> None:
    c = login(world, "clerk")
    doc = world.ids["directive"]
    page = c.get(f"/ui/documents/{doc}")
    r = c.post(
        f"/ui/documents/{doc}/resend-late",
        data={"csrf": csrf_of(page.text)},
        follow_redirects=False,
    )
    ok = _flash(c, r, lang="en")[0]  # the English page adds the action's own detail
    assert "Sent again to the late ones." in ok and "sent again to 2 recipient(s)" in ok
    assert _state(world, world.ids["directive:000.00.35.H53"]) == "queued"  # was dead
    assert _state(world, world.ids["directive:000.00.33.H53"]) == "queued"  # was sent, no answer
    assert _state(world, world.ids["directive:000.00.30.H53"]) == "completed"  # answered


def test_refuse_needs_a_reason_then_queues_status_02(world: World) -> None:
    c = login(world, "operator")
    item = world.ids[f"inbox:{A}"]
    page = c.get(f"/ui/inbox/{item}")
    token = csrf_of(page.text)
    r = c.post(
        f"/ui/inbox/{item}/refuse", data={"csrf": token, "reason": "  "}, follow_redirects=False
    )
    err = _flash(c, r)[1]  # the sentence in the page's language, the precise line below
    assert "Chưa nêu lý do" in err and "reason" in err
    assert _item(world, item) == ("arrived", None, None)
    r = c.post(
        f"/ui/inbox/{item}/refuse",
        data={"csrf": token, "reason": "Sai thẩm quyền"},
        follow_redirects=False,
    )
    assert "trạng thái 02" in _flash(c, r)[0]
    assert _item(world, item)[:2] == ("refused", "Sai thẩm quyền")
    with world.engine.connect() as conn:
        out = conn.execute(
            select(documents.c.code, deliveries.c.recipient, deliveries.c.state)
            .join(deliveries, deliveries.c.document_pk == documents.c.id)
            .where(documents.c.message_type == "status", documents.c.direction == "out")
        ).all()
    assert [(o.code, o.recipient) for o in out] == [("02", DEPT)]
    assert out[0].state == "queued"
    shown = c.get(f"/ui/inbox/{item}")
    assert 'data-code="02"' in shown.text and "Sai thẩm quyền" in shown.text
    assert 'id="refuse-form"' not in shown.text  # nothing more to answer


def test_assign_to_someone_and_cancel(world: World) -> None:
    c = login(world, "root")
    item = world.ids[f"inbox:{B}"]
    page = c.get(f"/ui/inbox/{item}")
    token = csrf_of(page.text)
    r = c.post(
        f"/ui/inbox/{item}/assign",
        data={"csrf": token, "to": "Phòng Tư pháp"},
        follow_redirects=False,
    )
    assert "trạng thái 04" in _flash(c, r)[0]
    assert _item(world, item) == ("assigned", None, "Phòng Tư pháp")
    doc, did = world.ids[f"sent:{A}"], world.ids[f"delivery:{A}"]
    r = c.post(f"/ui/documents/{doc}/cancel", data={"csrf": token}, follow_redirects=False)
    assert "Đã hủy" in _flash(c, r)[0]
    assert _state(world, did) == "cancelled"
    r = c.post(f"/ui/documents/{doc}/cancel", data={"csrf": token}, follow_redirects=False)
    err = _flash(c, r)[1]  # nothing left to cancel: said, not a 500
    assert "Không còn lượt gửi nào chưa đi để hủy" in err and "nothing" in err
