"""The dashboard in a real browser (Debian's Chromium via Playwright) against a running server
over a real store: sign in, a directive's matrix with its late districts, retry a failed
delivery (the page refreshes itself), refuse an inbox document with a reason and see status 02
go out to the sender. Screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from interchange.store.tables import deliveries, documents
from tests.api.world import DEPT, A, run_outbox

from .conftest import REFRESH, Served, shot

pytestmark = pytest.mark.browser


def _login(page: Any, served: Served, who: str) -> None:
    page.goto(f"{served.base}/")
    assert "/ui/login" in page.url
    page.fill("#token", served.world.tokens[who])
    page.click("#sign-in")
    page.wait_for_url(f"{served.base}/ui/")


def _row(page: Any, recipient: str) -> Any:
    return page.locator(f'#matrix tr[data-recipient="{recipient}"]')


def test_directive_matrix_shows_the_late_districts(page: Any, served: Served) -> None:
    _login(page, served, "clerk")
    assert page.locator("h1").first.inner_text() == "Tổng quan"
    assert page.locator("#overdue-count").inner_text() == "5"
    shot(page, "overview")
    page.click("header nav a[href='/ui/documents']")
    page.click(f"#documents a[href='/ui/documents/{served.world.ids['directive']}']")
    page.wait_for_selector("#matrix")
    assert page.locator("#matrix tbody tr").count() == 7
    late = page.locator("#matrix tbody tr.overdue.pending")
    names = {late.nth(i).get_attribute("data-recipient") for i in range(late.count())}
    assert names == {"000.00.32.H53", "000.00.33.H53", "000.00.34.H53", "000.00.35.H53"}
    assert _row(page, "000.00.30.H53").locator(".late-chip").count() == 0  # completed
    assert _row(page, "000.00.33.H53").locator(".late-chip").inner_text() == "Trễ hạn"
    page.evaluate("document.querySelector('h1').scrollIntoView()")
    shot(page, "directive-matrix")
    page.click("#who-not-answered")
    page.wait_for_url("**pending=true")
    assert page.locator("#matrix tbody tr").count() == 4
    assert page.locator("#matrix tbody tr.answered").count() == 0
    page.evaluate("document.querySelector('h1').scrollIntoView()")
    shot(page, "directive-not-answered")
    page.click("#lang")
    assert page.locator("#show-all").inner_text().startswith("Show all")
    page.click("#lang")
    assert page.locator("#show-all").inner_text().startswith("Hiện tất cả")


def test_pages_read_without_javascript(browser: Any, served: Served) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        _login(page, served, "dept")
        page.goto(f"{served.base}/ui/documents/{served.world.ids['directive']}")
        assert page.locator("#matrix tbody tr").count() == 7
        page.click("#who-not-answered")
        assert page.locator("#matrix tbody tr").count() == 4
    finally:
        context.close()


def test_retry_a_failed_delivery_and_watch_it_leave(page: Any, served: Served) -> None:
    page.clock.install()  # the page's refresh timer, driven by the test
    _login(page, served, "clerk")
    page.goto(f"{served.base}/ui/documents/{served.world.ids['directive']}")
    failed = "000.00.34.H53"
    assert _row(page, failed).get_attribute("data-state") == "failed"
    _row(page, failed).locator("button.retry").click()
    page.wait_for_selector(".flash.ok")
    assert _row(page, failed).get_attribute("data-state") == "queued"
    assert run_outbox(served.world) >= 1  # the node's worker takes it to the axis
    page.clock.run_for((REFRESH + 1) * 1000)  # no reload: the page refreshes itself
    page.wait_for_selector(f'#matrix tr[data-recipient="{failed}"][data-state="sent"]')
    shot(page, "retry-sent")


def test_refuse_an_inbox_document_with_a_reason(page: Any, served: Served) -> None:
    _login(page, served, "operator")
    page.click("header nav a[href='/ui/inbox']")
    shot(page, "inbox")
    page.click(f"#inbox a[href='/ui/inbox/{served.world.ids[f'inbox:{A}']}']")
    page.wait_for_selector("#refuse-form")
    shot(page, "inbox-item")
    page.click("#refuse")  # empty reason: the browser's own "required" stops it
    assert page.locator(".flash").count() == 0
    page.fill("#refuse-reason", "Văn bản không thuộc thẩm quyền của huyện")
    page.click("#refuse")
    page.wait_for_selector(".flash.ok")
    assert "không thuộc thẩm quyền" in page.locator("#item-reason").inner_text()
    answer = page.locator('#answers tr[data-code="02"]')
    assert "Chờ gửi" in answer.inner_text()
    assert run_outbox(served.world) >= 1
    page.reload()
    assert "Đã gửi" in page.locator('#answers tr[data-code="02"]').inner_text()
    shot(page, "inbox-refused")
    with served.world.engine.connect() as conn:
        sent = conn.execute(
            select(documents.c.code, deliveries.c.recipient, deliveries.c.state)
            .join(deliveries, deliveries.c.document_pk == documents.c.id)
            .where(documents.c.message_type == "status", documents.c.direction == "out")
        ).all()
    assert [(s.code, s.recipient, s.state) for s in sent] == [("02", DEPT, "sent")]
