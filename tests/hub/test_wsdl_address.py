"""The served WSDL names the configured public address, whatever the request's Host says.

Built from the Host header, anyone could have the hub serve a WSDL naming another server,
and a cache in front of the hub would hand that WSDL to every client after.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from lxml import etree

from interchange.errors import ConfigError
from interchange.hub.config import check_public_url, default_public_url
from interchange.hub.soap import served_wsdl
from tests.cli.runner import one_line, run, snapshot

from .live import live_hub

WSDL_SOAP = "http://schemas.xmlsoap.org/wsdl/soap/"
FORGED = {
    "Host": "attacker.example:8080",
    "X-Forwarded-Host": "attacker.example",
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Port": "443",
    "Forwarded": "host=attacker.example;proto=https",
}


def _address(wsdl: bytes) -> str:
    found = etree.fromstring(wsdl).findall(f".//{{{WSDL_SOAP}}}address")
    assert len(found) == 1
    return str(found[0].get("location"))


def test_a_forged_host_gets_the_configured_address(tmp_path: Path) -> None:
    public = "https://bus.example.gov.vn/hub"
    with live_hub(tmp_path / "hub.db", public_url=public + "/") as hub:
        got = httpx.get(f"{hub.url}/soap?wsdl", headers=FORGED)
        plain = httpx.get(f"{hub.url}/soap?wsdl")
    assert got.status_code == 200
    assert _address(got.content) == f"{public}/soap"
    assert b"attacker" not in got.content
    assert got.content == plain.content  # one WSDL for every caller


def test_the_default_address_is_where_it_listens_not_the_host_header(tmp_path: Path) -> None:
    with live_hub(tmp_path / "hub.db") as hub:
        got = httpx.get(f"{hub.url}/soap?wsdl", headers=FORGED)
    assert _address(got.content) == f"{hub.url}/soap"


def test_the_address_is_escaped_as_xml() -> None:
    url = check_public_url("https://bus.example/a&b/")
    assert _address(served_wsdl(url)) == "https://bus.example/a&b/soap"
    assert _address(served_wsdl(None)) == "http://localhost/soap"  # the file's own


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:8700", "http://127.0.0.1:8700"),
        ("https://bus.example.gov.vn/", "https://bus.example.gov.vn"),
        ("HTTPS://Bus.Example.gov.vn:8443/hub/v1/", "HTTPS://Bus.Example.gov.vn:8443/hub/v1"),
        ("http://[2001:db8::1]:8700", "http://[2001:db8::1]:8700"),
    ],
)
def test_public_urls_accepted(url: str, expected: str) -> None:
    assert check_public_url(url) == expected


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("ftp://bus.example", "must start with http:// or https://"),
        ("bus.example:8700", "must start with http:// or https://"),
        ("http:///soap", "names no host"),
        ("http://bus.example/?x=1", "must not have a query (?) or fragment (#)"),
        ("http://bus.example/#top", "must not have a query (?) or fragment (#)"),
        ("http://bus.example/?", "must not have a query (?) or fragment (#)"),
        ("http://user:pw@bus.example", "must not hold a user name or password"),
        ("http://bus.example:99999", "the port is not a number from 1 to 65535"),
        ("http://bus.example:0", "the port is not a number from 1 to 65535"),
        ("http://bus.example/a b", "not a URL"),
        ('http://bus.example/"><x', "not a URL"),
        ("http://bus.example\n/x", "not a URL"),
        ("", "not a URL"),
    ],
)
def test_public_urls_refused_in_one_line(url: str, words: str) -> None:
    with pytest.raises(ConfigError) as refused:
        check_public_url(url)
    assert words in str(refused.value) and "\n" not in str(refused.value)


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", "http://127.0.0.1:8700"),
        ("::1", "http://[::1]:8700"),
        ("[::1]", "http://[::1]:8700"),
        ("localhost", "http://localhost:8700"),
        ("hub.internal", "http://hub.internal:8700"),
    ],
)
def test_default_public_url_is_the_listening_address(host: str, expected: str) -> None:
    assert default_public_url(host, 8700) == expected


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "[::]", ""])
def test_every_interface_needs_a_public_url(host: str) -> None:
    with pytest.raises(ConfigError, match="listens on every interface: give --public-url"):
        default_public_url(host, 8700)


@pytest.fixture
def systems(tmp_path: Path) -> Path:
    path = tmp_path / "conf" / "systems.json"
    path.parent.mkdir()
    path.write_text(
        json.dumps(
            {"systems": [{"systemid": "s1", "secret": "x" * 16, "organs": ["000.00.13.H53"]}]}
        )
    )
    return path


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ("--host", "0.0.0.0"),
            "error: --host 0.0.0.0 listens on every interface: give --public-url, the address "
            "clients reach this hub at (the served WSDL names it)",
        ),
        (
            ("--public-url", "http://bus.example/?a=1"),
            "error: --public-url 'http://bus.example/?a=1': must not have a query (?) or "
            "fragment (#)",
        ),
    ],
    ids=["all-interfaces", "query"],
)
def test_hub_serve_refuses_before_the_database(
    tmp_path: Path, systems: Path, args: tuple[str, ...], line: str
) -> None:
    before = snapshot(tmp_path)
    db = tmp_path / "hub" / "hub.db"
    proc = run("hub", "serve", "--systems", systems, "--db", f"sqlite:///{db}", *args)
    assert proc.returncode == 1
    assert one_line(proc) == line
    assert snapshot(tmp_path) == before  # no hub database, no directory
