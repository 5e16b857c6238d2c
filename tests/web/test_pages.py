"""Each dashboard page renders for an authorised user with the store's real data, in
Vietnamese by default and in English on request, readable without JavaScript."""

from __future__ import annotations

import re

from tests.api.world import DEPT, A, B, World

from .conftest import client, login

DIRECTIVE_ROWS = re.compile(r'<tr class="([^"]*)" data-recipient="([^"]+)" data-state="([^"]+)"')


def test_every_page_needs_a_session(world: World) -> None:
    c = client(world)
    item, doc = world.ids[f"inbox:{A}"], world.ids["directive"]
    for path in (
        "/ui/",
        "/ui/documents",
        f"/ui/documents/{doc}",
        "/ui/inbox",
        f"/ui/inbox/{item}",
        f"/ui/inbox/{item}/attachments/0",
    ):
        r = c.get(path, follow_redirects=False)
        assert r.status_code == 303, path
        assert r.headers["location"].startswith("/ui/login?next="), path
    c.cookies.set("ix_session", "eyJ1IjoxfQ.forged")
    assert c.get("/ui/", follow_redirects=False).status_code == 303


def test_login_sets_a_strict_httponly_session_and_logout_ends_it(world: World) -> None:
    c = client(world)
    form = c.get("/ui/login")
    assert form.status_code == 200 and 'type="password"' in form.text
    nonce = re.search(r'name="nonce" value="([^"]+)"', form.text)
    assert nonce
    bad = c.post("/ui/login", data={"token": "ixt_nope", "nonce": nonce.group(1)})
    assert bad.status_code == 401 and "không đúng" in bad.text
    form = c.get("/ui/login")
    nonce = re.search(r'name="nonce" value="([^"]+)"', form.text)
    assert nonce
    r = c.post(
        "/ui/login",
        data={"token": world.tokens["dept"], "nonce": nonce.group(1), "next": "//evil.example/"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/ui/"  # never an open redirect
    cookie = r.headers["set-cookie"].lower()
    assert "ix_session=" in cookie and "httponly" in cookie and "samesite=strict" in cookie
    assert world.tokens["dept"].lower() not in cookie
    home = c.get("/ui/")
    assert home.status_code == 200
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', home.text)
    assert csrf
    out = c.post("/ui/logout", data={"csrf": csrf.group(1)}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/ui/login"
    assert c.get("/ui/", follow_redirects=False).status_code == 303


def test_login_without_the_forms_nonce_is_refused(world: World) -> None:
    c = client(world)
    r = c.post("/ui/login", data={"token": world.tokens["dept"]}, follow_redirects=False)
    assert r.status_code == 403 and "ix_session" not in r.headers.get("set-cookie", "")


def test_overview_counts_per_tenant(world: World) -> None:
    c = login(world, "clerk")
    r = c.get("/ui/")
    assert r.status_code == 200 and '<html lang="vi">' in r.text and "Tổng quan" in r.text
    # the directive is overdue since yesterday: 5 recipients have not closed it
    assert re.search(r'id="overdue-count">5<', r.text)
    assert re.search(r'id="dead-count">1<', r.text)
    assert f'data-tenant="{DEPT}"' in r.text and f'data-tenant="{A}"' in r.text
    assert f'data-tenant="{B}"' not in r.text
    assert 'http-equiv="refresh"' in r.text and '<script src="/static/refresh.js"' in r.text
    assert "cdn" not in r.text.lower() and "http://" not in r.text and "https://" not in r.text


def test_documents_sent_list_and_filters(world: World) -> None:
    c = login(world, "clerk")
    r = c.get("/ui/documents")
    assert r.status_code == 200
    links = set(re.findall(r'href="/ui/documents/(\d+)"', r.text))
    assert links == {str(world.ids["directive"]), str(world.ids[f"sent:{A}"])}
    late = c.get("/ui/documents?overdue=true")
    assert set(re.findall(r'href="/ui/documents/(\d+)"', late.text)) == {
        str(world.ids["directive"])
    }
    dead = c.get("/ui/documents?state=dead&q=")
    assert (
        str(world.ids["directive"]) in dead.text
        and f"/ui/documents/{world.ids[f'sent:{A}']}" not in dead.text
    )


def test_directive_matrix_and_who_has_not_answered(world: World) -> None:
    c = login(world, "clerk")
    doc = world.ids["directive"]
    r = c.get(f"/ui/documents/{doc}")
    assert r.status_code == 200
    rows = DIRECTIVE_ROWS.findall(r.text)
    assert len(rows) == 7
    states = {rec: st for _, rec, st in rows}
    assert states["000.00.30.H53"] == "completed" and states["000.00.34.H53"] == "failed"
    overdue = {rec for cls, rec, _ in rows if "overdue" in cls}
    assert overdue == {A, B, "000.00.33.H53", "000.00.34.H53", "000.00.35.H53"}
    for code in ("01", "03", "04", "05", "06"):
        assert "<th title=" in r.text and f">{code}<br>" in r.text
    assert 'id="resend-late"' in r.text and "Gửi lại cho đơn vị quá hạn (4)" in r.text
    assert r.text.count('class="retry" id="retry-') == 2  # the failed and the dead one
    assert 'id="signature"' in r.text and "CN=" in r.text  # certificate subject
    assert 'id="hops"' in r.text
    assert 'http-equiv="refresh"' not in r.text  # a page with forms refreshes only via JS
    pending = c.get(f"/ui/documents/{doc}?pending=true")
    shown = {rec for _, rec, _ in DIRECTIVE_ROWS.findall(pending.text)}
    assert shown == {B, "000.00.33.H53", "000.00.34.H53", "000.00.35.H53"}
    assert 'id="show-all"' in pending.text


def test_inbox_list_and_item(world: World) -> None:
    c = login(world, "operator")
    r = c.get("/ui/inbox")
    assert r.status_code == 200
    assert set(re.findall(r'data-item="(\d+)"', r.text)) == {str(world.ids[f"inbox:{A}"])}
    item = c.get(f"/ui/inbox/{world.ids[f'inbox:{A}']}")
    assert item.status_code == 200
    for part in (
        'id="refuse-form"',
        'id="refuse-reason" required',
        'id="assign-to" required',
        'id="accept"',
        'id="verification"',
        'id="structured"',
        'id="attachments"',
        'id="signature"',
        'id="answers"',
    ):
        assert part in item.text, part
    # the stored verification report, labelled in the page's language
    assert "<dt>Người ký</dt>" in item.text and "<dt>Hợp lệ</dt>" in item.text
    assert '<code class="wrap">Có</code>' in item.text and ">tin cậy<" in item.text
    assert "</time> · Đã nhận" in item.text  # the timeline's event, named in Vietnamese
    english = c.get(f"/ui/inbox/{world.ids[f'inbox:{A}']}?lang=en")
    assert "<dt>Signer</dt>" in english.text and '<code class="wrap">Yes</code>' in english.text
    assert "</time> · Received" in english.text
    c.get("/ui/?lang=vi")  # the language is remembered: back to the default
    att = re.search(rf'href="(/ui/inbox/{world.ids[f"inbox:{A}"]}/attachments/\d+)"', item.text)
    assert att
    download = c.get(att.group(1))
    assert download.status_code == 200 and download.content
    assert download.headers["content-type"] == "application/octet-stream"


def test_english_is_selectable_and_remembered(world: World) -> None:
    c = login(world, "clerk")
    doc = world.ids["directive"]
    vi = c.get(f"/ui/documents/{doc}")
    assert "Ai chưa trả lời?" in vi.text and 'hreflang="en"' in vi.text
    en = c.get(f"/ui/documents/{doc}?lang=en")
    assert '<html lang="en">' in en.text and "Who has not answered?" in en.text
    assert "Resend to the late ones (4)" in en.text
    assert "ix_lang=en" in en.headers["set-cookie"]
    assert '<html lang="en">' in c.get("/ui/inbox").text  # remembered by the cookie
    assert '<html lang="vi">' in c.get("/ui/?lang=vi").text


def test_unknown_ids_and_bad_parameters_are_pages_not_500(world: World) -> None:
    c = login(world, "root")
    for path in (
        "/ui/documents/999999",
        "/ui/documents/0",
        "/ui/documents/abc",
        "/ui/inbox/99999999999",
        "/ui/inbox/1/attachments/99",
        f"/ui/documents/{world.ids[f'sent:{A}']}".replace("documents", "inbox") + "0000",
        "/ui/documents?cursor=-1",
        "/ui/documents?state=DROP%20TABLE",
    ):
        r = c.get(path)
        assert r.status_code == 404, path
        assert "text/html" in r.headers["content-type"] and "Không tìm thấy" in r.text


def test_a_link_cannot_make_the_dashboard_say_things(world: World) -> None:
    c = login(world, "clerk")
    r = c.get("/ui/?msg=done_retry&err=Call+0900+to+restore+your+token&detail=x")
    assert r.status_code == 200
    assert "0900" not in r.text and 'class="flash' not in r.text
    c.cookies.set("ix_flash", "W10.forged", path="/ui")
    assert 'class="flash' not in c.get("/ui/").text


def test_an_oversized_form_is_refused_as_a_page(world: World) -> None:
    c = login(world, "operator")
    item = world.ids[f"inbox:{A}"]
    page = c.get(f"/ui/inbox/{item}")
    token = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text)
    assert token
    r = c.post(f"/ui/inbox/{item}/refuse", data={"csrf": token.group(1), "reason": "x" * 5000})
    assert r.status_code == 422 and "text/html" in r.headers["content-type"]
    assert 'id="item-state"' in c.get(f"/ui/inbox/{item}").text
    assert "Đã đến (01)" in c.get(f"/ui/inbox/{item}").text


def test_every_word_of_the_templates_exists_in_both_languages() -> None:
    from pathlib import Path

    from interchange.api.web.i18n import _WORDS
    from interchange.api.web.render import TEMPLATES

    used: set[str] = set()
    for page in Path(TEMPLATES).glob("*.html"):
        used |= set(re.findall(r"t\('([a-z_]+)'", page.read_text("utf-8")))
    missing = {k for k in used if k not in _WORDS and not k.endswith("_")}
    assert not missing
    assert all(vi and en for vi, en in _WORDS.values())
