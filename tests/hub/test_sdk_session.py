"""The hub driven the way SDK 2.0.1 really calls it: one service object per cycle.

What the SDK does (``AXIS.md`` and the operator's SDK, read): a service object fixes its
``timestamp`` when it is built and keeps one header map that every call adds its
parameters to and never clears; the HMAC covers that map only, not the path or the body.
So consecutive calls on one object often carry the same MAC: ``getEdoc(X)`` then
``updateStatus(X)`` once ``status`` is left over from the previous document, or
``countReceiveEdoc`` then ``countReceiveStatus``. Those are different requests, not
replays; the same call twice on one object is still a replay.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.vxp import VxpAxis, _header_text
from interchange.errors import AuthenticationError, RefusedError

from .live import A, B, LiveHub, sample
from .test_register_agency import CHILD, _hub, agency, rows
from .test_rest_face import assert_refused, send, send_params, spec_headers, sys_


class SdkSession:
    """One SDK service object: a fixed timestamp and one header map that only grows."""

    def __init__(self, client: httpx.Client, system: object) -> None:
        self.client = client
        self.system = sys_(system)
        self.when = dt.datetime.now(dt.UTC)
        self.params: dict[str, str] = {}
        self.macs: list[str] = []

    def post(self, path: str, params: dict[str, str], body: bytes = b"{}") -> dict[str, Any]:
        self.params.update(params)
        headers = spec_headers(self.params, self.system, when=self.when)
        self.macs.append(headers["XroadVnpt-hash-header"])
        r = self.client.post(path, headers=headers, content=body)
        assert r.status_code == 200, r.text
        answer = r.json()
        assert {"status", "ErrorCode", "ErrorDesc"} <= set(answer)
        return answer  # type: ignore[no-any-return]


def _pending(hub: LiveHub) -> int:
    with httpx.Client(base_url=hub.url, timeout=10) as c:
        answer = SdkSession(c, B).post(
            "/getReceivedEdocList", {"servicetype": "eDoc", "messagetype": "edoc"}
        )
    assert answer["status"] == "OK"
    return len(answer["data"])


def test_receive_loop_on_one_object(fresh_hub: LiveHub) -> None:
    """The SDK's receive loop for two documents: list, then getEdoc and updateStatus each."""
    data = sample("edoc_new.edxml")
    with httpx.Client(base_url=fresh_hub.url, timeout=10) as c:
        sent = [send(c, data, A)["DocId"], send(c, data + b"\n", A)["DocId"]]
        assert all(sent)
        sdk = SdkSession(c, B)
        listed = sdk.post("/getReceivedEdocList", {"servicetype": "eDoc", "messagetype": "edoc"})
        ids = [row["docId"] for row in listed["data"]]
        assert len(ids) == 2
        got: list[bytes] = []
        for doc_id in ids:
            edoc = sdk.post("/getEdoc", {"docId": doc_id, "filePath": "D:/vxp"})
            assert edoc["status"] == "OK", edoc
            got.append(base64.b64decode(edoc["data"]))
            done = sdk.post("/updateStatus", {"docId": doc_id, "status": "done"})
            assert done["status"] == "OK", done
        # the second document's getEdoc and updateStatus were signed alike: the case at stake
        assert sdk.macs[3] == sdk.macs[4]
        assert sorted(got) == sorted([data, data + b"\n"])
        assert _pending(fresh_hub) == 0

        # the very same updateStatus again on that object is a replay, and changes nothing
        again = sdk.post("/updateStatus", {"docId": ids[-1], "status": "done"})
        assert_refused(again, "401")
        assert "replay" in again["ErrorDesc"]
        assert fresh_hub.counts() == (2, 2)


def test_counts_on_one_object(fresh_hub: LiveHub) -> None:
    with httpx.Client(base_url=fresh_hub.url, timeout=10) as c:
        send(c, sample("edoc_new.edxml"), A)
        sdk = SdkSession(c, B)
        edocs, statuses = sdk.post("/countReceiveEdoc", {}), sdk.post("/countReceiveStatus", {})
        assert (edocs["status"], edocs["count"]) == ("OK", 1)
        assert (statuses["status"], statuses["count"]) == ("OK", 0)  # a refusal also says 0
        assert sdk.macs[0] == sdk.macs[1]
        assert_refused(sdk.post("/countReceiveEdoc", {}), "401")


def test_same_file_twice_on_one_object_is_a_replay(fresh_hub: LiveHub) -> None:
    data = sample("edoc_new.edxml")
    params = send_params(data)
    with httpx.Client(base_url=fresh_hub.url, timeout=10) as c:
        sdk = SdkSession(c, A)
        first = sdk.post("/sendEdoc", params, data + b"\r\n")
        assert first["status"] == "OK"
        again = sdk.post("/sendEdoc", params, data + b"\r\n")
        assert_refused(again, "401")
        assert again["DocId"] == ""
    assert fresh_hub.counts() == (1, 1)


def test_two_registrations_on_one_object(tmp_path: Path) -> None:
    """``registerAgency``'s body is unsigned: two agencies on one object are two requests,
    the same body twice is a replay that stores nothing more."""
    other = "001.02.00.G22"
    with _hub(tmp_path / "hub.db") as hub, httpx.Client(base_url=hub.url, timeout=10) as c:
        sdk = SdkSession(c, A)

        def register(body: dict[str, str]) -> dict[str, Any]:
            return sdk.post("/registerAgency", {}, json.dumps(body).encode())

        assert register(agency())["status"] == "OK"
        assert register(agency(code=other, name="Vụ Tổ chức (thử)"))["status"] == "OK"
        assert sdk.macs[0] == sdk.macs[1]
        assert sorted(rows(hub)) == sorted([CHILD, other])
        before = rows(hub)
        replayed = register(agency(code=other, name="Vụ Tổ chức (thử)"))
        assert_refused(replayed, "401")
        assert rows(hub) == before


# --- downloadEdoc: the SDK saves any body it gets as the document --------------------------


def test_download_refusal_has_no_body(fresh_hub: LiveHub) -> None:
    with httpx.Client(base_url=fresh_hub.url, timeout=10) as c:
        unknown = c.get("/downloadEdoc", headers=spec_headers({"docId": "nope"}, sys_(B)))
        assert unknown.status_code == 404 and unknown.content == b""
        assert unknown.headers["x-error-code"] == "404"
        assert unknown.headers["x-error-desc"]
        bad = spec_headers({"docId": "nope"}, sys_(B))
        bad["XroadVnpt-hash-header"] = "0" * 64
        refused = c.get("/downloadEdoc", headers=bad)
        assert refused.status_code == 401 and refused.content == b""
        assert "HMAC" in refused.headers["x-error-desc"]


@pytest.mark.parametrize("transport", ["http11", "httpx"])
def test_vxp_download_refusal_is_typed(fresh_hub: LiveHub, transport: str) -> None:
    # the stdlib pool by default; httpx when a transport is handed in
    http = httpx.HTTPTransport() if transport == "httpx" else None
    with VxpAxis(fresh_hub.url, B.systemid, B.secret, transport=http) as axis:
        with pytest.raises(RefusedError) as info:
            axis.download("no-such-doc")
        assert not isinstance(info.value, AuthenticationError)
        assert info.value.error_code == "404"
        assert str(info.value) == f"no document no-such-doc in the queue of {B.systemid}"


def test_error_header_reads_back_as_text() -> None:
    """The hub escapes ``X-Error-Desc`` as JSON does (headers are ASCII); the client unescapes."""
    assert _header_text(json.dumps("không có văn bản")[1:-1]) == "không có văn bản"
    assert _header_text('bad \\x escape"') == 'bad \\x escape"'  # not JSON: kept as is


def test_answers_are_ascii(fresh_hub: LiveHub) -> None:
    """The SDK decodes ``sendEdoc``'s answer as US-ASCII: non-ASCII text travels escaped."""
    with httpx.Client(base_url=fresh_hub.url, timeout=10) as c:
        r = c.post(
            "/registerAgency",
            headers=spec_headers({}, sys_(A)),
            content=json.dumps({"code": CHILD, "tên": 5}, ensure_ascii=False).encode(),
        )
    r.content.decode("ascii")  # raises if any byte is not ASCII
    answer = r.json()
    assert_refused(answer, "400")
    assert "tên" in answer["ErrorDesc"]


# --- the SDK's other agency lists -----------------------------------------------------------


def test_agency_lists_in_the_sdk_shapes(tmp_path: Path) -> None:
    """``getAgenciesListQD20`` and ``getSynchronizeUnit`` list what ``getAgenciesList`` does,
    registrations included, with the fields (and JSON types) the SDK reads."""
    with _hub(tmp_path / "hub.db") as hub, httpx.Client(base_url=hub.url, timeout=10) as c:
        sdk = SdkSession(c, A)
        assert sdk.post("/registerAgency", {}, json.dumps(agency()).encode())["status"] == "OK"
        plain = {r["code"]: r for r in SdkSession(c, B).post("/getAgenciesList", {})["data"]}
        qd20 = SdkSession(c, B).post("/getAgenciesListQD20", {})
        sync = SdkSession(c, B).post("/getSynchronizeUnit", {})
        bad = spec_headers({}, sys_(B))
        bad["XroadVnpt-hash-header"] = "0" * 64
        refused = c.post("/getSynchronizeUnit", headers=bad, content=b"{}").json()
    assert CHILD in plain
    assert qd20["status"] == "OK" and sync["status"] == "OK"
    assert {r["code"] for r in qd20["data"]} == set(plain)
    assert {r["code"] for r in sync["data"]} == set(plain)
    for row in qd20["data"]:
        base = plain[row["code"]]
        assert row == {k: base[k] for k in ("code", "id", "mail", "name")} | {
            "code102": row["code"]
        }
    for row in sync["data"]:
        assert row["pid"] == plain[row["code"]]["pid"] and row["name"] == plain[row["code"]]["name"]
        assert type(row["version"]) is int
        assert row["deleted"] is False and row["isAgency"] is True
        assert isinstance(row["centerCode"], str) and isinstance(row["modifyDate"], str)
    assert_refused(refused, "401")
    assert refused["data"] == []


def test_sent_list_of_one_document(fresh_hub: LiveHub) -> None:
    """The SDK's example asks ``getSentEdocList`` about one ``docId``: only its rows come."""
    data = sample("edoc_new.edxml")
    with httpx.Client(base_url=fresh_hub.url, timeout=10) as c:
        first, second = send(c, data, A)["DocId"], send(c, data + b"\n", A)["DocId"]
        kinds = {"servicetype": "eDoc", "messagetype": "edoc"}
        every = SdkSession(c, A).post("/getSentEdocList", kinds)["data"]
        one = SdkSession(c, A).post("/getSentEdocList", {**kinds, "docId": first})["data"]
        others = SdkSession(c, B).post("/getSentEdocList", {**kinds, "docId": first})["data"]
    assert {r["senderDocId"] for r in every} == {first, second}
    assert one and {r["senderDocId"] for r in one} == {first}
    assert others == []  # a caller sees only what it sent


def test_a_signed_header_sent_twice_must_agree(fresh_hub: LiveHub) -> None:
    """A second copy of a signed header with another value (placed first, where a proxy
    reading one copy would look) is refused, not silently outvoted by the signed one."""
    signed = spec_headers({"docId": "nope"}, sys_(B))
    twice = [("XroadVnpt-docId", "other"), *signed.items()]
    with httpx.Client(base_url=fresh_hub.url, timeout=10) as c:
        answer = c.post("/getEdoc", headers=twice, content=b"{}").json()
    assert_refused(answer, "401")
    assert "differs from the signed value" in answer["ErrorDesc"]
