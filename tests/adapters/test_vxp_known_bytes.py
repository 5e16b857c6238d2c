"""Byte-identical queue items are downloaded once: the hub's list names each item's SHA-256,
``VxpAxis.fetch`` asks ``ifNoneMatch`` for bytes it holds, and the hub answers ``notModified``
only when that item's bytes have exactly that digest."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator

import httpx
import pytest

from adapters.vxp import VxpAxis
from tests.hub.live import A, B, LiveHub, live_hub, sample


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveHub]:
    with live_hub(tmp_path_factory.mktemp("vxp-known") / "hub.db") as h:
        yield h


class Recording(httpx.HTTPTransport):
    """A real transport that notes each getEdoc's ``ifNoneMatch`` and answer size."""

    def __init__(self) -> None:
        super().__init__()
        self.fetches: list[tuple[str | None, int]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if request.url.path.endswith("/getEdoc"):
            response.read()
            known = request.headers.get("XroadVnpt-ifNoneMatch")
            self.fetches.append((known, len(response.content)))
        return response


def test_identical_items_downloaded_once_and_each_acknowledged(hub: LiveHub) -> None:
    data = sample("edoc_update.edxml")  # To H41 (system B) among others
    digest = hashlib.sha256(data).hexdigest()
    transport = Recording()
    with (
        VxpAxis(hub.url, A.systemid, A.secret) as a,
        VxpAxis(hub.url, B.systemid, B.secret, transport=transport) as b,
    ):
        for _ in range(3):
            a.send(data, message_type="edoc", from_organ="000.00.00.G22", to_organ="000.00.00.H41")
        items = b.list_pending("edoc")
        assert len(items) == 3
        assert [b.fetch(i.doc_id) for i in items] == [data] * 3
        first, *rest = transport.fetches
        assert first[0] is None and first[1] > len(data)  # the bytes, base64 in JSON
        assert all(known == digest and size < 200 for known, size in rest)
        for item in items:
            b.acknowledge(item.doc_id)
        assert b.list_pending("edoc") == []


def test_a_wrong_digest_gets_the_bytes(hub: LiveHub) -> None:
    data = sample("edoc_update.edxml")
    with VxpAxis(hub.url, A.systemid, A.secret) as a, VxpAxis(hub.url, B.systemid, B.secret) as b:
        a.send(data, message_type="edoc", from_organ="000.00.00.G22", to_organ="000.00.00.H41")
        [item] = b.list_pending("edoc")
        answer = b._call("POST", "/getEdoc", {"docId": item.doc_id, "ifNoneMatch": "0" * 64})
        assert "notModified" not in answer
        assert base64.b64decode(answer["data"]) == data
        b.acknowledge(item.doc_id)
