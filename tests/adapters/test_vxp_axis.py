"""``VxpAxis`` against the live hub, and its error mapping against fake answers."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from adapters.base import Axis
from adapters.vxp import VxpAxis
from interchange.errors import AuthenticationError, RefusedError, TransportError
from tests.hub.live import OLD_CODE, SUCCESSOR, A, B, C, LiveHub, live_hub, sample


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveHub]:
    with live_hub(tmp_path_factory.mktemp("vxp") / "hub.db") as h:
        yield h


def test_round_trip(hub: LiveHub) -> None:
    with VxpAxis(hub.url, A.systemid, A.secret) as a, VxpAxis(hub.url, B.systemid, B.secret) as b:
        assert isinstance(a, Axis)
        data = sample("edoc_new.edxml")
        receipt = a.send(data, message_type="edoc", from_organ="002.00.20.H13")
        assert b.count_pending("edoc") == 1
        items = b.list_pending("edoc")
        assert [(i.from_organ, i.to_organ) for i in items] == [("002.00.20.H13", SUCCESSOR)]
        assert b.fetch(items[0].doc_id) == data
        assert b.download(items[0].doc_id) == data
        b.acknowledge(items[0].doc_id)
        assert b.list_pending("edoc") == [] and b.count_pending("edoc") == 0
        sent = a.get_sent_list("edoc")
        assert [r["receiveStatus"] for r in sent if r["senderDocId"] == receipt.doc_id] == ["done"]
        # a status back to the sender
        status = sample("status_inbox_01.edxml")
        b.send(status, message_type="status", from_organ="000.00.00.H41")
        got = a.list_pending("status")
        assert len(got) == 1 and a.fetch(got[0].doc_id) == status
        a.acknowledge(got[0].doc_id)
        agencies = {x.code: x for x in a.list_agencies()}
        assert agencies[SUCCESSOR].old_code == OLD_CODE


def test_send_with_to_routes_to_that_recipient_only(hub: LiveHub) -> None:
    with VxpAxis(hub.url, C.systemid, C.secret) as c, VxpAxis(hub.url, A.systemid, A.secret) as a:
        data = sample("edoc_update.edxml")  # To H41, H14, G17
        before = hub.counts()
        a.send(data, message_type="edoc", from_organ="000.00.00.G22", to_organ="000.00.00.H14")
        after = hub.counts()
        assert after == (before[0] + 1, before[1] + 1)
        with pytest.raises(RefusedError) as err:
            c.fetch("nope")
        assert err.value.error_code == "404"


def test_refusal_and_auth_errors(hub: LiveHub) -> None:
    with VxpAxis(hub.url, C.systemid, C.secret) as c:
        with pytest.raises(RefusedError) as err:
            c.send(sample("edoc_new.edxml"), message_type="edoc", from_organ="002.00.20.H13")
        assert not isinstance(err.value, AuthenticationError)
        assert err.value.error_code == "403"
    with VxpAxis(hub.url, C.systemid, "wrong-secret") as bad, pytest.raises(AuthenticationError):
        bad.list_pending("edoc")


def test_identical_calls_are_not_replays(hub: LiveHub) -> None:
    with VxpAxis(hub.url, B.systemid, B.secret) as b:
        for _ in range(20):
            b.count_pending("edoc")


def _fake(handler: object) -> VxpAxis:
    return VxpAxis("http://axis.test", "s", "secret-1234", transport=httpx.MockTransport(handler))  # type: ignore[arg-type]


def test_transport_errors() -> None:
    with VxpAxis("http://127.0.0.1:9", "s", "x", timeout=2) as dead, pytest.raises(TransportError):
        dead.list_pending("edoc")
    for resp in (
        httpx.Response(502, text="bad gateway"),
        httpx.Response(200, text="<html>login</html>"),
        httpx.Response(200, json={"ErrorCode": "0"}),
        httpx.Response(200, json={"status": "OK", "ErrorCode": "0", "ErrorDesc": "", "data": "x"}),
    ):
        with _fake(lambda _req, r=resp: r) as axis, pytest.raises(TransportError):
            axis.fetch("d1")


def test_fail_status_is_refused_with_its_code() -> None:
    answer = {"status": "FAIL", "ErrorCode": "-1", "ErrorDesc": "Khong tim thay van ban"}
    with _fake(lambda _req: httpx.Response(200, json=answer)) as axis:
        with pytest.raises(RefusedError) as err:
            axis.acknowledge("d1")
    assert err.value.error_code == "-1" and "Khong tim thay" in str(err.value)


def test_request_shape_matches_the_sdk() -> None:
    seen: list[httpx.Request] = []

    def handler(req: httpx.Request) -> httpx.Response:
        seen.append(req)
        return httpx.Response(
            200, json={"status": "OK", "ErrorCode": "0", "ErrorDesc": "", "DocId": "7"}
        )

    with _fake(handler) as axis:
        axis.send(
            b"<x/>", message_type="edoc", from_organ="000.00.00.G22", to_organ="000.00.00.H41"
        )
    req = seen[0]
    assert req.url.path == "/sendEdoc"
    assert req.content == b"<x/>\r\n"
    assert req.headers["content-type"] == "application/octet-stream"
    assert req.headers["XroadVnpt-to"] == '"000.00.00.H41"'
    assert req.headers["XroadVnpt-version"] == "3.0.201608"
    keys = req.headers["XroadVnpt-sign-header-key"].split(";")
    assert {"systemid", "timestamp", "Content-Type", "hash-file", "from"} <= set(keys)
    assert (
        '"XroadVnpt-Content-Type":"application/octet-stream"'
        in req.headers["XroadVnpt-sign-header"]
    )


def test_concurrent_senders_and_receivers(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Several clients at once on SQLite: every send stored once, every item acknowledged."""
    import threading

    errors: list[BaseException] = []
    data = sample("status_processing_05.edxml")  # From H41 (sys-b) to G22 (sys-a)
    with live_hub(tmp_path_factory.mktemp("conc") / "hub.db") as h:

        def sender() -> None:
            try:
                with VxpAxis(h.url, B.systemid, B.secret) as b:
                    for _ in range(25):
                        b.send(data, message_type="status", from_organ="000.00.00.H41")
            except BaseException as exc:
                errors.append(exc)

        def receiver() -> None:
            try:
                with VxpAxis(h.url, A.systemid, A.secret) as a:
                    for _ in range(10):
                        for item in a.list_pending("status")[:5]:
                            try:
                                a.fetch(item.doc_id)
                                a.acknowledge(item.doc_id)
                            except RefusedError:
                                pass  # the other receiver got there first
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=sender) for _ in range(4)]
        threads += [threading.Thread(target=receiver) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert errors == []
        assert h.counts() == (100, 100)
        with VxpAxis(h.url, A.systemid, A.secret) as a:
            for item in a.list_pending("status"):
                a.acknowledge(item.doc_id)
            assert a.list_pending("status") == []
