"""The SOAP face driven by zeep (``SoapAxis``), against a live hub on loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import httpx
import pytest
from lxml import etree
from sqlalchemy import select
from zeep.plugins import Plugin

from adapters.base import Axis
from adapters.hmac import format_timestamp
from adapters.soap import HUB_NS, SoapAxis
from interchange.errors import AuthenticationError, RefusedError, TransportError
from interchange.store.hub_tables import hub_queue
from tests.hub.live import OLD_CODE, SUCCESSOR, A, B, C, LiveHub, live_hub, sample


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveHub]:
    with live_hub(tmp_path_factory.mktemp("soap") / "hub.db") as h:
        yield h


def axis(hub: LiveHub, system: Any, wsdl: str | None = None) -> SoapAxis:
    return SoapAxis(
        wsdl or f"{hub.url}/soap?wsdl", f"{hub.url}/soap", system.systemid, system.secret
    )


def test_wsdl_served_with_its_address(hub: LiveHub) -> None:
    text = httpx.get(f"{hub.url}/soap?wsdl").text
    assert f'location="{hub.url}/soap"' in text
    assert "SendDocument" in text and "GetAgencies" in text


def test_send_list_get_confirm(hub: LiveHub) -> None:
    a, b = axis(hub, A), axis(hub, B, wsdl=None)
    assert isinstance(a, Axis)
    data = sample("edoc_new.edxml")
    receipt = a.send(data, message_type="edoc", from_organ="002.00.20.H13")
    assert receipt.doc_id
    items = b.list_pending("edoc")
    assert len(items) == 1
    item = items[0]
    assert item.to_organ == SUCCESSOR and item.from_organ == "002.00.20.H13"
    assert b.fetch(item.doc_id) == data
    b.acknowledge(item.doc_id)
    assert b.list_pending("edoc") == []
    row = hub.app.state.hub.message_row(item.doc_id)
    assert row["hub_id"] and row["data"] == data
    a.close()
    b.close()


def test_local_wsdl_file_and_status_and_agencies(hub: LiveHub) -> None:
    b = SoapAxis(None, f"{hub.url}/soap", B.systemid, B.secret)  # the WSDL in schemas/soap/
    a = axis(hub, A)
    data = sample("status_acceptance_03.edxml")
    b.send(data, message_type="status", from_organ="000.00.00.H41")
    items = a.list_pending("status")
    assert [i.message_type for i in items] == ["status"]
    assert a.fetch(items[0].doc_id) == data
    a.acknowledge(items[0].doc_id, ok=False)
    assert a.list_pending("status") == []
    agencies = {x.code: x for x in b.list_agencies()}
    assert agencies[SUCCESSOR].old_code == OLD_CODE


def test_refusal_is_a_fault(hub: LiveHub) -> None:
    c = axis(hub, C)
    with pytest.raises(RefusedError) as err:
        c.send(sample("edoc_new.edxml"), message_type="edoc", from_organ="002.00.20.H13")
    assert err.value.error_code == "403"
    with pytest.raises(RefusedError) as err2:
        c.fetch("no-such-id")
    assert err2.value.error_code == "404"
    assert hub.counts()[0] >= 0


def test_bad_secret_is_authentication_error(hub: LiveHub) -> None:
    bad = SoapAxis(f"{hub.url}/soap?wsdl", f"{hub.url}/soap", B.systemid, "wrong-secret-xx")
    with pytest.raises(AuthenticationError):
        bad.list_pending("edoc")


class _Tamper(Plugin):  # type: ignore[misc]
    """Changes the Body after the Auth plugin signed it."""

    def egress(self, envelope: Any, http_headers: Any, operation: Any, binding_options: Any) -> Any:
        for el in envelope.iter(f"{{{HUB_NS}}}MessageType"):
            el.text = "status"
        return envelope, http_headers


def test_body_changed_after_signing_refused(hub: LiveHub) -> None:
    b = axis(hub, B)
    b._client.plugins.append(_Tamper())
    with pytest.raises(AuthenticationError, match="Body"):
        b.list_pending("edoc")


def test_raw_envelope_without_auth_and_unsafe_xml(hub: LiveHub) -> None:
    env = (
        '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">'
        f'<soap:Body><GetAgencies xmlns="{HUB_NS}"/></soap:Body></soap:Envelope>'
    )
    r = httpx.post(f"{hub.url}/soap", content=env, headers={"Content-Type": "text/xml"})
    assert r.status_code == 500
    root = etree.fromstring(r.content)
    assert root.findtext(".//faultcode") == "soap:Client"
    assert root.findtext(f".//{{{HUB_NS}}}Code") == "401"
    r2 = httpx.post(f"{hub.url}/soap", content=b'<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>')
    assert r2.status_code == 500 and b"soap:Client" in r2.content


def test_unreachable_is_transport_error(tmp_path: Path) -> None:
    wsdl = str(Path(__file__).resolve().parents[2] / "schemas" / "soap" / "interchange.wsdl")
    dead = SoapAxis(wsdl, "http://127.0.0.1:9/soap", A.systemid, A.secret, timeout=2)
    with pytest.raises(TransportError):
        dead.list_agencies()


def test_envelope_over_the_xml_limit_is_a_fault_before_it_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The envelope is read before anyone is authenticated: it is capped (413) while it
    streams, so an anonymous client cannot make the hub hold an unbounded body."""
    monkeypatch.setenv("INTERCHANGE_XML_MAX_BYTES", "4096")
    env = (
        '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
        + "<!--"
        + "a" * 100_000
        + "-->"
        + f'<GetAgencies xmlns="{HUB_NS}"/></soap:Body></soap:Envelope>'
    ).encode()

    def chunks() -> Iterator[bytes]:
        for i in range(0, len(env), 8192):
            yield env[i : i + 8192]

    with live_hub(tmp_path / "hub.db") as hub:
        r = httpx.post(f"{hub.url}/soap", content=chunks(), headers={"Content-Type": "text/xml"})
        assert hub.counts() == (0, 0)
    assert r.status_code == 500
    root = etree.fromstring(r.content)
    assert root.findtext(".//faultcode") == "soap:Client"
    assert root.findtext(f".//{{{HUB_NS}}}Code") == "413"


def _broken_envelope(header: str = "") -> bytes:
    """An envelope whose Body holds 200,000 elements and is cut short at its very end: a
    hub that parsed it whole would answer "not well-formed", not "not authenticated"."""
    return (
        '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">'
        f"{header}<soap:Body><GetAgencies xmlns=\"{HUB_NS}\">" + "<a/>" * 200_000 + "</soap:Body>"
    ).encode()


def _fault(r: httpx.Response) -> tuple[str | None, str | None]:
    assert r.status_code == 500
    root = etree.fromstring(r.content)
    return root.findtext(f".//{{{HUB_NS}}}Code"), root.findtext(".//faultstring")


def test_unsigned_envelope_is_refused_before_its_body_is_parsed(hub: LiveHub) -> None:
    r = httpx.post(f"{hub.url}/soap", content=_broken_envelope())
    code, message = _fault(r)
    assert code == "401" and "missing Auth" in (message or "")

    sign = json.dumps({"XroadVnpt-systemid": B.systemid, "XroadVnpt-timestamp": format_timestamp()})
    forged = (
        f'<soap:Header><Auth xmlns="{HUB_NS}"><SignHeader>{escape(sign)}</SignHeader>'
        f"<HashHeader>{'0' * 64}</HashHeader></Auth></soap:Header>"
    )
    code, message = _fault(httpx.post(f"{hub.url}/soap", content=_broken_envelope(forged)))
    assert code == "401" and "bad HMAC" in (message or "")


class _CommentInOk(Plugin):  # type: ignore[misc]
    """After signing, puts a comment before ``Ok``'s text. What the signature covers (c14n
    without comments) is unchanged; a reader taking ``.text`` would see an empty Ok."""

    def egress(self, envelope: Any, http_headers: Any, operation: Any, binding_options: Any) -> Any:
        for el in envelope.iter(f"{{{HUB_NS}}}Ok"):
            comment = etree.Comment("")
            comment.tail, el.text = el.text, None
            el.insert(0, comment)
        return envelope, http_headers


def test_comment_in_a_signed_body_changes_nothing_read(tmp_path: Path) -> None:
    with live_hub(tmp_path / "hub.db") as hub:
        a, b = axis(hub, A), axis(hub, B)
        a.send(sample("edoc_new.edxml"), message_type="edoc", from_organ="002.00.20.H13")
        item = b.list_pending("edoc")[0]
        b._client.plugins.append(_CommentInOk())
        b.acknowledge(item.doc_id, ok=False)
        with hub.engine.connect() as conn:
            state = conn.execute(
                select(hub_queue.c.state).where(hub_queue.c.id == item.doc_id)
            ).scalar_one()
    assert state == "fail"
