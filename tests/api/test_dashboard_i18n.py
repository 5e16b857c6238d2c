"""The dashboard speaks the operator's language on failures and successes too: a failed action
or an error page says a Vietnamese sentence by default and an English one with ``lang=en``,
with the error's precise English message kept below as technical detail; a successful
action's detail line is a Vietnamese sentence built from the action's own facts."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

import interchange.api.web  # noqa: F401  (loads every error class that can reach a page)
from interchange import errors
from interchange.api.web.i18n import LANGS, class_texts, error_texts
from interchange.delivery.lifecycle import Action, IllegalTransitionError, State
from interchange.edxml.model import StatusCode
from interchange.store.ops import add_event
from interchange.store.tables import deliveries, inbox_items
from tests.api.world import A, B, World, csrf_of
from tests.web.conftest import login, new_world

VI_MARKS = re.compile(r"[ăâđêôơưáàảãạấầẩẫậắằẳẵặéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵ]")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    w = new_world(tmp_path_factory.mktemp("web-i18n"))
    yield w
    w.engine.dispose()


def _flash(c: TestClient, r: httpx.Response, lang: str | None = None) -> tuple[str, str]:
    """The redirect's target page, once: its message (ok) and its error, in ``lang``."""
    assert r.status_code == 303, r.text
    params = {"lang": lang} if lang else None
    page = c.get(r.headers["location"], params=params).text
    ok = re.search(r'class="flash ok"[^>]*>(.*?)</p>', page, re.S)
    err = re.search(r'class="flash err"[^>]*>(.*?)</p>', page, re.S)
    return (ok.group(1) if ok else "", err.group(1) if err else "")


def _post(c: TestClient, page: str, action: str, **data: str) -> httpx.Response:
    token = csrf_of(c.get(page).text)
    return c.post(action, data={"csrf": token, **data}, follow_redirects=False)


def _state(world: World, delivery: int) -> str:
    with world.engine.connect() as conn:
        q = select(deliveries.c.state).where(deliveries.c.id == delivery)
        return str(conn.execute(q).scalar())


# --- failures -----------------------------------------------------------------------------


def test_refuse_without_a_reason_is_said_in_each_language(world: World) -> None:
    c = login(world, "operator")
    item = world.ids[f"inbox:{A}"]
    url = f"/ui/inbox/{item}"
    r = _post(c, url, f"{url}/refuse", reason="  ")
    err = _flash(c, r)[1]  # the default language: Vietnamese
    assert "Không thực hiện được: Chưa nêu lý do" in err
    assert "Chi tiết kỹ thuật: a refusal needs a reason" in err
    r = _post(c, url, f"{url}/refuse", reason="")
    err = _flash(c, r, "en")[1]
    assert "Not done: A reason is required to refuse or recall a document." in err
    assert "Technical detail: a refusal needs a reason" in err and "Chưa" not in err
    with world.engine.connect() as conn:  # nothing was answered
        q = select(inbox_items.c.state, inbox_items.c.reason).where(inbox_items.c.id == item)
        assert tuple(conn.execute(q).one()) == ("arrived", None)


def test_retry_of_a_delivery_that_did_not_fail_says_why(world: World) -> None:
    c = login(world, "clerk")
    doc, did = world.ids["directive"], world.ids["directive:000.00.30.H53"]
    url = f"/ui/documents/{doc}"
    r = _post(c, url, f"{url}/deliveries/{did}/retry")
    err = _flash(c, r, "vi")[1]
    assert "Không thể thực hiện “Gửi lại ngay” vì lượt gửi đang ở trạng thái" in err
    assert "“Hoàn thành (06)”" in err
    assert "Chi tiết kỹ thuật: cannot apply retry to a delivery that is completed" in err
    r = _post(c, url, f"{url}/deliveries/{did}/retry")
    err = _flash(c, r, "en")[1]
    assert "Cannot do “Retry now”: the delivery is in state “Completed (06)”." in err
    assert "Technical detail: cannot apply retry" in err
    assert _state(world, did) == "completed"


def test_cancel_with_nothing_left_and_recall_without_reason(world: World) -> None:
    c = login(world, "root")
    doc, did = world.ids[f"sent:{B}"], world.ids[f"delivery:{B}"]
    url = f"/ui/documents/{doc}"
    assert "Đã hủy 1 lượt gửi chưa đi." in _flash(c, _post(c, url, f"{url}/cancel"))[0]
    assert _state(world, did) == "cancelled"
    err = _flash(c, _post(c, url, f"{url}/cancel"))[1]
    assert "Không còn lượt gửi nào chưa đi để hủy." in err and "can be cancelled" in err
    err = _flash(c, _post(c, url, f"{url}/recall", reason=" "), "en")[1]
    assert "A reason is required" in err and "Technical detail: a recall needs a reason" in err


def test_a_foreign_tenants_document_is_not_found_in_each_language(world: World) -> None:
    c = login(world, "operator")  # scoped to A
    doc = world.ids[f"sent:{B}"]
    vi = c.get(f"/ui/documents/{doc}")
    assert vi.status_code == 404 and '<html lang="vi">' in vi.text
    assert "Không có mục này, hoặc mục này không thuộc đơn vị bạn phụ trách." in vi.text
    assert f'Chi tiết kỹ thuật: <span id="error-detail">no document {doc}</span>' in vi.text
    token = csrf_of(c.get("/ui/").text)
    en = c.post(f"/ui/documents/{doc}/cancel?lang=en", data={"csrf": token})
    assert en.status_code == 404 and '<html lang="en">' in en.text
    assert "It does not exist, or it is outside the agencies you serve." in en.text
    assert "Technical detail:" in en.text


def test_refusals_of_the_form_itself_have_their_own_sentence(world: World) -> None:
    c = login(world, "viewer")
    item = world.ids[f"inbox:{A}"]
    r = c.post(f"/ui/inbox/{item}/accept", data={"csrf": "0" * 64})
    assert r.status_code == 403 and "Biểu mẫu đã hết hạn: hãy tải lại trang rồi thử lại." in r.text
    token = csrf_of(c.get("/ui/").text)
    r = c.post(f"/ui/inbox/{item}/accept?lang=en", data={"csrf": token})
    assert r.status_code == 403 and "This needs the operator role." in r.text
    assert "Technical detail: <span" in r.text
    c.get("/ui/?lang=vi")
    r = c.post(f"/ui/inbox/{item}/accept", data={"csrf": token})
    assert "Thao tác này cần vai trò vận hành." in r.text
    op = login(world, "operator")
    token = csrf_of(op.get("/ui/").text)
    r = op.post(f"/ui/inbox/{item}/refuse", data={"csrf": token, "reason": "x" * 2001})
    assert r.status_code == 422 and "Các trường của biểu mẫu không hợp lệ" in r.text
    assert "reason: String should have at most 2000 characters" in r.text


# --- successes ----------------------------------------------------------------------------


def test_a_successful_action_has_a_vietnamese_detail_sentence(world: World) -> None:
    c = login(world, "clerk")
    doc, did = world.ids["directive"], world.ids["directive:000.00.34.H53"]
    url = f"/ui/documents/{doc}"
    ok = _flash(c, _post(c, url, f"{url}/deliveries/{did}/retry"))[0]
    assert "Đã đưa vào hàng đợi để gửi lại ngay." in ok
    assert f"(Lượt gửi số {did} nay ở trạng thái “Chờ gửi”.)" in ok and "queued" not in ok
    ok = _flash(c, _post(c, url, f"{url}/resend-late"), "en")[0]
    assert re.search(r"Sent again to the late ones\. <small>\(sent again to \d+ recipient", ok)
    root = login(world, "root")
    item = world.ids[f"inbox:{B}"]
    url = f"/ui/inbox/{item}"
    ok = _flash(root, _post(root, url, f"{url}/assign", to="Phòng Tư pháp"))[0]
    assert "Văn bản nay ở trạng thái “Đã phân công (04)”" in ok
    assert "thông điệp trạng thái 04 đã được ký số và xếp hàng chờ gửi." in ok
    assert "Giao cho: Phòng Tư pháp." in ok and "queued" not in ok


def test_recall_says_how_many_recipients_were_asked(world: World) -> None:
    c = login(world, "clerk")
    doc = world.ids["directive"]
    url = f"/ui/documents/{doc}"
    ok = _flash(c, _post(c, url, f"{url}/recall", reason="Ban hành nhầm"))[0]
    m = re.search(r"đang chờ gửi tới (\d+) đơn vị nhận\.", ok)
    assert m and int(m.group(1)) >= 1 and "Yêu cầu thu hồi (13) đã được ký số" in ok


# --- the sentences themselves ---------------------------------------------------------------


def _all_subclasses(cls: type[BaseException]) -> set[type[BaseException]]:
    found: set[type[BaseException]] = set()
    todo = [cls]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in found:
                found.add(sub)
                todo.append(sub)
    return found


def test_every_error_class_resolves_to_a_sentence_in_both_languages() -> None:
    classes = _all_subclasses(errors.InterchangeError) | {errors.InterchangeError}
    own = {c for c in classes if c.__module__ == "interchange.errors"}
    assert errors.SchemaError in own and IllegalTransitionError in classes
    for cls in classes:
        vi, en = class_texts(cls)
        assert vi and en and vi != en, cls
        assert VI_MARKS.search(vi.lower()), (cls, vi)  # written with its diacritics
    assert len(LANGS) == 2


def test_a_subclass_without_its_own_entry_gets_its_parents() -> None:
    class NewSchemaProblem(errors.SchemaError):
        pass

    assert class_texts(NewSchemaProblem) == class_texts(errors.SchemaError)
    assert class_texts(errors.SchemaError) != class_texts(errors.FormatError)
    exc = NewSchemaProblem("bad", path="/a/b", line=3)
    assert error_texts(exc) == class_texts(errors.SchemaError)


def test_a_refused_transition_is_said_from_its_facts() -> None:
    vi, en = error_texts(IllegalTransitionError(State.REFUSED, StatusCode.ACCEPTED))
    assert vi == "Không thể thực hiện “Tiếp nhận (03)” vì văn bản đang ở trạng thái “Từ chối (02)”."
    assert en == "Cannot do “Accept (03)”: the document is in state “Refused (02)”."
    vi, _ = error_texts(IllegalTransitionError(State.SENT, Action.CANCEL))
    assert vi == "Không thể thực hiện “Hủy gửi” vì lượt gửi đang ở trạng thái “Đã gửi”."
    # an event no operator clicks: the class's sentence
    other = IllegalTransitionError(State.SENT, Action.SEND_OK)
    assert error_texts(other) == class_texts(IllegalTransitionError)


def test_every_field_of_a_verification_report_has_a_label_in_both_languages() -> None:
    """The inbox page labels the stored report's fields (``VerificationResult``)."""
    import dataclasses

    from interchange.api.web.i18n import report_label, report_value
    from interchange.signing.verify import VerificationResult

    for field in dataclasses.fields(VerificationResult):
        vi, en = report_label("vi", field.name), report_label("en", field.name)
        assert vi != field.name and en != field.name and vi != en, field.name
    assert report_value("vi", True) == "Có" and report_value("en", False) == "No"
    assert report_value("vi", 1) == 1 and report_value("vi", "rsa-sha256") == "rsa-sha256"


def test_every_timeline_event_the_code_writes_has_a_label_in_both_languages() -> None:
    """Event names are stored as written (``event="..."`` and the worker's ``Action``s); an
    operator's answer is stored under its state. A new event without a label fails here."""
    import re
    from pathlib import Path

    from interchange.api.web.i18n import event_label
    from interchange.delivery.lifecycle import Action, State

    source = Path(__file__).resolve().parents[2] / "interchange" / "delivery"
    written = {
        name
        for f in source.glob("*.py")
        for name in re.findall(r'\bevent="([a-z0-9_-]+)"', f.read_text("utf-8"))
    }
    assert {"submitted", "queued", "status", "recall"} <= written  # the scan finds them
    names = written | {a.value for a in Action} | {s.value for s in State}
    names |= {"matched", "ignored", "unknown-document", "duplicate"}  # status outcomes
    for name in sorted(names):
        vi, en = event_label("vi", name), event_label("en", name)
        assert vi != name and en and vi != en, name
    assert event_label("vi", "something-new") == "something-new"  # unknown: as stored


# --- detail lines as stored ------------------------------------------------------------------


def test_detail_lines_the_code_writes_are_said_in_vietnamese() -> None:
    """Lines made by the code that writes them (a send's outcome, a refused transition, an
    unreachable axis), and the signature block's, read in Vietnamese; English as stored."""
    import datetime as dt

    from adapters.base import SendReceipt
    from adapters.vxp import VxpAxis
    from interchange.api.web.i18n import detail_text
    from interchange.delivery.claims import Claimed
    from interchange.delivery.worker import RetryPolicy, _outcome

    now = dt.datetime(2026, 11, 28, 10, 0)
    claimed = Claimed(1, 1, 1, A, 0, now, "edoc", B, None, None, "queued")
    policy = RetryPolicy(backoff_base=1.0, backoff_max=5.0, max_age=3600.0)
    _, _, sent = _outcome(claimed, policy, SendReceipt(doc_id="q-42"), None, now, None)
    ignored = f"{IllegalTransitionError(State.ACCEPTED, StatusCode.ARRIVED)} (status message 7)"
    with VxpAxis("http://127.0.0.1:9", "sys", "secret-of-sys") as axis:
        with pytest.raises(errors.TransportError) as down:
            axis.count_pending("edoc")
    said = {
        sent: "mã trên trục q-42",
        f"{sent} (one send for 705 recipients)": "mã trên trục q-42 (một lần gửi cho 705 nơi nhận)",
        ignored: "không áp dụng được trạng thái 01 cho lượt gửi đang “Đã tiếp nhận (03)” "
        "(thông điệp trạng thái số 7)",
        "accepted automatically (tenant policy)": "tự động tiếp nhận (theo chính sách của đơn vị)",
        "1 recipient(s)": "1 nơi nhận",
        "no answer within the maximum age": "không có trả lời trong thời hạn tối đa",
        "unreadable certificate": "không đọc được chứng thư số",
    }
    for line, vi in said.items():
        assert detail_text("vi", line) == vi, line
        assert detail_text("en", line) == line
    assert detail_text("vi", str(down.value)).startswith(
        "không kết nối được trục http://127.0.0.1:9/"
    )
    # anything else is someone's own words: shown as stored
    for own in ("Không thuộc thẩm quyền", "by tomorrow please", "refused by the axis"):
        assert detail_text("vi", own) == own


def test_pages_show_stored_lines_and_error_codes_in_the_chosen_language(tmp_path: Path) -> None:
    w = new_world(tmp_path)
    doc, delivery, item = w.ids[f"sent:{A}"], w.ids[f"delivery:{A}"], w.ids[f"inbox:{A}"]
    unreachable = "axis http://hub.example/sendEdoc unreachable: ConnectError('refused')"
    with w.engine.begin() as conn:
        conn.execute(
            deliveries.update().where(deliveries.c.id == delivery).values(last_error=unreachable)
        )
        add_event(conn, tenant_id=1, event="send_ok", document_pk=doc, detail="axis DocId q-9")
        conn.execute(
            inbox_items.update()
            .where(inbox_items.c.id == item)
            .values(error_code="digest-mismatch")
        )
    c = login(w, "clerk")
    page = c.get(f"/ui/documents/{doc}").text
    assert "không kết nối được trục http://hub.example/sendEdoc" in page
    assert "mã trên trục q-9" in page and "axis DocId" not in page
    english = c.get(f"/ui/documents/{doc}", params={"lang": "en"}).text
    assert "axis http://hub.example/sendEdoc unreachable: ConnectError(" in english
    assert "axis DocId q-9" in english
    inbox = c.get(f"/ui/inbox/{item}", params={"lang": "vi"}).text  # the cookie says en now
    assert "Nội dung văn bản đã bị thay đổi sau khi ký số." in inbox and "digest-mismatch" in inbox
    assert (
        "The document was changed after it was signed."
        in c.get(f"/ui/inbox/{item}", params={"lang": "en"}).text
    )
