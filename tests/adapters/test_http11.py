"""The stdlib keep-alive pool under ``VxpAxis``: reuse, stale connections, expiry, proxies."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from adapters import http11
from adapters.http11 import HttpPool, proxied


@dataclass
class Server:
    url: str
    connections: int = 0
    paths: list[str] = field(default_factory=list)
    close_after_answer: bool = False


@pytest.fixture()
def server() -> Iterator[Server]:
    state = Server(url="")

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            state.connections += 1

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            state.paths.append(self.path)
            answer = b'{"len": %d}' % len(body)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)
            # closes the kept-alive connection without saying so (as an idle timeout does)
            self.close_connection = state.close_after_answer

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_one_connection_is_reused_and_the_base_path_kept(server: Server) -> None:
    pool = HttpPool(server.url + "/axis/")
    try:
        for n in range(5):
            answer = pool.request("POST", "/getEdoc", {"X": "1"}, b"x" * n)
            assert (answer.status, answer.content) == (200, b'{"len": %d}' % n)
            assert answer.content_type == "application/json"
    finally:
        pool.close()
    assert server.connections == 1
    assert server.paths == ["/axis/getEdoc"] * 5


def test_a_connection_the_server_closed_is_not_used(server: Server) -> None:
    server.close_after_answer = True
    pool = HttpPool(server.url)
    try:
        for _ in range(4):
            assert pool.request("POST", "/x", {}, b"").status == 200
    finally:
        pool.close()
    assert server.connections == 4


def test_a_request_on_a_stale_connection_is_sent_again_once(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server closed the connection after the check: the request fails before any
    answer, and is sent again on a new connection (it was not processed)."""
    server.close_after_answer = True
    monkeypatch.setattr(http11, "_dropped", lambda _conn: False)
    pool = HttpPool(server.url)
    try:
        for _ in range(3):
            assert pool.request("POST", "/x", {}, b"abc").content == b'{"len": 3}'
    finally:
        pool.close()
    assert server.paths == ["/x"] * 3  # each processed once


def test_idle_connections_expire(server: Server) -> None:
    pool = HttpPool(server.url, idle_expiry=0.0)
    try:
        for _ in range(3):
            pool.request("POST", "/x", {}, b"")
    finally:
        pool.close()
    assert server.connections == 3


def test_unreachable_raises_oserror() -> None:
    pool = HttpPool("http://127.0.0.1:9", timeout=2)
    with pytest.raises(OSError):
        pool.request("POST", "/x", {}, b"")


def test_not_http_is_refused() -> None:
    with pytest.raises(ValueError):
        HttpPool("ftp://example.org/")


def test_proxies_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    assert not proxied("http://axis.example/")
    monkeypatch.setenv("http_proxy", "http://proxy.example:3128")
    assert proxied("http://axis.example/")
    assert not proxied("https://axis.example/")
    monkeypatch.setenv("no_proxy", "axis.example")
    assert not proxied("http://axis.example/")


@pytest.mark.parametrize(
    "block",
    [
        b"Content-Type: application/json\r\nContent-Length: 12\r\nSet-Cookie: a=1\r\n"
        b"Set-Cookie: b=2\r\nX-Empty:\r\n\r\n",
        b"X-Folded: first\r\n  second\r\nContent-Length: 0\r\n\r\n",  # obs-fold: email parser
        b"Not a header line\r\nContent-Length: 0\r\n\r\n",
    ],
)
def test_headers_read_as_the_stdlib_reads_them(block: bytes) -> None:
    import http.client
    import io

    mine = http11._parse_headers(io.BytesIO(block))
    theirs = http.client.parse_headers(io.BytesIO(block))
    assert mine.items() == theirs.items()
    assert mine.get_all("set-cookie") == theirs.get_all("set-cookie")
