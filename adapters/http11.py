"""A small keep-alive HTTP/1.1 connection pool on the standard library (``http.client``).

Why not httpx for the hot path: a node makes thousands of tiny signed calls per fan-out
(list, get, acknowledge, two statuses per recipient). Measured on loopback, one httpx call
costs about 0.38 ms of client CPU, one ``http.client`` call on a kept-alive connection
about 0.07 ms. ``VxpAxis`` uses this pool unless it is given an httpx transport (tests) or
the environment configures a proxy for the axis's host (httpx honours proxies; this does
not).

Semantics kept from the httpx client it replaces: one origin, connections reused across
threads (one request at a time per connection), a timeout per socket operation.
A connection that sat idle longer than ``idle_expiry`` (servers drop idle keep-alive
connections; uvicorn after 5 s) or that the server already closed is discarded before
use; a request that fails on a *reused* connection before any answer arrived is sent once
more on a new connection (the server closed it under us; it did not process the request).
"""

from __future__ import annotations

import email.parser
import http.client
import select
import ssl
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["HttpAnswer", "HttpPool", "proxied"]


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    status: int
    content_type: str
    content: bytes
    error_desc: str = ""  # ``X-Error-Desc``: why a raw (non-JSON) answer was refused


_STALE = (
    http.client.RemoteDisconnected,
    http.client.BadStatusLine,
    ConnectionResetError,
    ConnectionAbortedError,
    BrokenPipeError,
)


def proxied(base_url: str) -> bool:
    """True when the environment names a proxy for this URL (then use httpx, which obeys)."""
    parts = urllib.parse.urlsplit(base_url)
    proxies = urllib.request.getproxies()
    if parts.scheme not in proxies:
        return False
    return not urllib.request.proxy_bypass(parts.hostname or "")


class HttpPool:
    """Keep-alive connections to one ``http``/``https`` origin; thread-safe."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 30.0,
        max_idle: int = 20,
        idle_expiry: float = 2.0,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        parts = urllib.parse.urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port or (443 if self._https else 80)
        self._prefix = parts.path.rstrip("/")
        self._timeout = timeout
        self._max_idle = max_idle
        self._expiry = idle_expiry
        self._headers = dict(headers or {})
        self._context = ssl.create_default_context() if self._https else None
        self._idle: list[tuple[http.client.HTTPConnection, float]] = []
        self._lock = threading.Lock()
        self._closed = False

    def _new(self) -> http.client.HTTPConnection:
        conn: http.client.HTTPConnection
        if self._https:
            conn = http.client.HTTPSConnection(
                self._host, self._port, timeout=self._timeout, context=self._context
            )
        else:
            conn = http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)
        conn.response_class = _Response
        return conn

    def _take(self) -> tuple[http.client.HTTPConnection, bool]:
        """An idle connection that still looks alive (reused=True), or a new one."""
        now = time.monotonic()
        while True:
            with self._lock:
                if not self._idle:
                    break
                conn, since = self._idle.pop()
            if now - since < self._expiry and not _dropped(conn):
                return conn, True
            conn.close()
        return self._new(), False

    def _give_back(self, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            if not self._closed and len(self._idle) < self._max_idle:
                self._idle.append((conn, time.monotonic()))
                return
        conn.close()

    def request(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes | None = None
    ) -> HttpAnswer:
        """One request; ``OSError`` / ``http.client.HTTPException`` when it failed."""
        url = self._prefix + path
        all_headers = {**self._headers, **headers}
        for attempt in (0, 1):
            conn, reused = self._take()
            try:
                conn.request(method, url, body=body, headers=all_headers)
                resp = conn.getresponse()
                content = resp.read()
            except _STALE:
                conn.close()
                if reused and attempt == 0:
                    continue  # the server closed it before reading our request: once more
                raise
            except BaseException:
                conn.close()
                raise
            if resp.will_close:
                conn.close()
            else:
                self._give_back(conn)
            return HttpAnswer(
                resp.status,
                resp.getheader("content-type") or "",
                content,
                resp.getheader("x-error-desc") or "",
            )
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn, _ in idle:
            conn.close()


def _dropped(conn: http.client.HTTPConnection) -> bool:
    """An idle keep-alive socket that is readable has been closed (or sent junk): drop it."""
    sock = conn.sock
    if sock is None:
        return True
    try:
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        return bool(poller.poll(0))
    except (OSError, ValueError):
        return True


class _Response(http.client.HTTPResponse):
    """``HTTPResponse`` reading its header block without the ``email`` package.

    ``http.client`` hands every header block to ``email.parser`` (about a tenth of a node's
    CPU in a fan-out, for a handful of plain headers). ``begin`` is CPython 3.11's with
    ``_parse_headers`` in place of ``http.client.parse_headers``; anything unusual in the
    block (a folded line, a line without a colon) still goes to the ``email`` parser.
    """

    def begin(self) -> None:
        if self.headers is not None:
            return
        while True:
            version, status, reason = self._read_status()  # type: ignore[attr-defined]
            if status != http.client.CONTINUE:
                break
            http.client._read_headers(self.fp)  # type: ignore[attr-defined]
        self.code = self.status = status
        self.reason = reason.strip()
        if version in ("HTTP/1.0", "HTTP/0.9"):
            self.version = 10
        elif version.startswith("HTTP/1."):
            self.version = 11
        else:
            raise http.client.UnknownProtocol(version)
        self.headers = self.msg = _parse_headers(self.fp)
        tr_enc = self.headers.get("transfer-encoding")
        self.chunked = bool(tr_enc and tr_enc.lower() == "chunked")  # type: ignore[attr-defined]
        if self.chunked:  # type: ignore[attr-defined]
            self.chunk_left = None
        self.will_close = self._check_close()  # type: ignore[attr-defined]
        self.length = None
        length = self.headers.get("content-length")
        if length and not self.chunked:  # type: ignore[attr-defined]
            try:
                self.length = int(length)
            except ValueError:
                self.length = None
            else:
                if self.length < 0:
                    self.length = None
        if (
            status in (http.client.NO_CONTENT, http.client.NOT_MODIFIED)
            or 100 <= status < 200
            or self._method == "HEAD"  # type: ignore[attr-defined]
        ):
            self.length = 0
        if not self.will_close and not self.chunked and self.length is None:  # type: ignore[attr-defined]
            self.will_close = True


def _parse_headers(fp: Any) -> http.client.HTTPMessage:
    lines: list[bytes] = http.client._read_headers(fp)  # type: ignore[attr-defined]
    msg = http.client.HTTPMessage()
    for raw in lines:
        if raw in (b"\r\n", b"\n", b""):
            break
        name, sep, value = raw.decode("iso-8859-1").partition(":")
        if not sep or raw[:1] in (b" ", b"\t") or not name or name != name.strip():
            text = b"".join(lines).decode("iso-8859-1")
            return email.parser.Parser(_class=http.client.HTTPMessage).parsestr(text)  # type: ignore[return-value]
        msg[name] = value.strip(" \t\r\n")
    return msg
