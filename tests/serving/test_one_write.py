"""Our uvicorn protocol writes each answer once, and answers exactly as uvicorn's own does.

A real uvicorn on loopback; between the protocol and the real socket transport sits a
recorder of the writes that reach the socket."""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.responses import Response, StreamingResponse

from interchange.serving import GatheringTransport, OneWriteHttpTools, server_config

BIG = bytes(range(256)) * 400  # 100 KiB: more than one socket buffer's worth on some systems


class Recorder:
    """The real transport, with every write that reaches it kept in order."""

    def __init__(self, inner: asyncio.Transport, log: list[bytes]) -> None:
        self._inner = inner
        self.log = log

    def write(self, data: bytes) -> None:
        self.log.append(bytes(data))
        self._inner.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def app_under_test() -> FastAPI:
    app = FastAPI()

    @app.get("/small")
    def small() -> Response:
        return Response(b"0123456789", media_type="application/octet-stream")

    @app.get("/big")
    def big() -> Response:
        return Response(BIG, media_type="application/octet-stream")

    @app.get("/stream")
    def stream() -> StreamingResponse:
        async def parts() -> AsyncIterator[bytes]:
            for n in range(5):
                await asyncio.sleep(0.01)  # each part in a turn of its own
                yield f"part {n};".encode()

        return StreamingResponse(parts(), media_type="text/plain")

    return app


@contextlib.contextmanager
def running(protocol: type[asyncio.Protocol]) -> Iterator[tuple[int, list[bytes]]]:
    writes: list[bytes] = []

    class Recording(protocol):  # type: ignore[valid-type, misc]
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(Recorder(transport, writes))

    config = server_config(
        app_under_test(), host="127.0.0.1", port=0, log_level="warning", access_log=False
    )
    config.http = Recording
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield port, writes
    finally:
        server.should_exit = True
        thread.join(10)


def fetch(conn: http.client.HTTPConnection, path: str) -> bytes:
    conn.request("GET", path)
    resp = conn.getresponse()
    assert resp.status == 200
    return resp.read()


def test_each_answer_reaches_the_socket_in_one_write() -> None:
    with running(OneWriteHttpTools) as (port, writes):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            assert fetch(conn, "/small") == b"0123456789"
            assert fetch(conn, "/big") == BIG
            assert fetch(conn, "/small") == b"0123456789"  # same kept-alive connection
        finally:
            conn.close()
    assert len(writes) == 3
    assert [w.startswith(b"HTTP/1.1 200 OK\r\n") for w in writes] == [True] * 3
    assert writes[1].endswith(BIG)


def test_uvicorns_own_protocol_writes_twice() -> None:
    """The recorder sees what the fix removes: the baseline for the test above."""
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    with running(HttpToolsProtocol) as (port, writes):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            assert fetch(conn, "/small") == b"0123456789"
        finally:
            conn.close()
    assert len(writes) == 2


def test_a_streamed_answer_still_goes_out_part_by_part_in_order() -> None:
    with running(OneWriteHttpTools) as (port, writes):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            body = fetch(conn, "/stream")
        finally:
            conn.close()
    assert body == b"".join(f"part {n};".encode() for n in range(5))
    assert len(writes) > 1  # parts produced in separate turns are not held back


def test_an_answer_before_connection_close_is_sent_whole() -> None:
    with running(OneWriteHttpTools) as (port, _writes):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(b"GET /big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            received = b""
            while chunk := sock.recv(65536):
                received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK") and b"connection: close" in head.lower()
    assert body == BIG


@pytest.mark.parametrize("closing", [False, True])
def test_gathered_writes_are_flushed_once_per_turn_and_dropped_if_the_peer_left(
    closing: bool,
) -> None:
    """The transport alone, on a real socket pair: two writes in one turn are one send; if
    the connection is closing by the end of the turn, nothing is written to it."""

    async def scenario() -> bytes:
        loop = asyncio.get_running_loop()
        ours, theirs = socket.socketpair()
        theirs.setblocking(False)
        transport, _ = await loop.connect_accepted_socket(asyncio.Protocol, ours)
        writes: list[bytes] = []
        gathering = GatheringTransport(Recorder(transport, writes), loop)  # type: ignore[arg-type]
        gathering.write(b"head ")
        gathering.write(bytearray(b"body"))
        assert writes == []  # not before the end of this turn
        if closing:
            transport.abort()
        await asyncio.sleep(0)
        await asyncio.sleep(0.05)
        assert writes == ([] if closing else [b"head body"])
        try:
            return theirs.recv(100)
        except (BlockingIOError, ConnectionResetError):
            return b""
        finally:
            gathering.close()
            theirs.close()

    assert asyncio.run(scenario()) == (b"" if closing else b"head body")


def test_gathering_keeps_the_sockets_flow_control() -> None:
    """Writes in one turn are held back only up to the socket transport's high-water mark:
    past it they go to the transport at once, which then asks the protocol to pause (what
    uvicorn's ``send`` waits on before writing more). A stream whose parts all come in one
    turn (an async generator that never awaits) is held in memory no more than without us."""

    class Paused(asyncio.Protocol):
        def __init__(self) -> None:
            self.paused = 0

        def pause_writing(self) -> None:
            self.paused += 1

    async def scenario() -> tuple[int, int, int]:
        loop = asyncio.get_running_loop()
        ours, theirs = socket.socketpair()  # nobody reads ``theirs``
        try:
            transport, protocol = await loop.connect_accepted_socket(Paused, ours)
            high = 64 * 1024
            transport.set_write_buffer_limits(high=high)
            gathering = GatheringTransport(transport, loop)
            held = 0
            for _ in range(256):  # 4 MiB in 16 KiB parts, all in this one turn
                gathering.write(b"x" * 16384)
                held = max(
                    held, gathering.get_write_buffer_size() - transport.get_write_buffer_size()
                )
            paused = protocol.paused
            transport.abort()
            return held, high, paused
        finally:
            theirs.close()

    held, high, paused = asyncio.run(scenario())
    assert held < high  # never more than the high-water mark gathered
    assert paused == 1  # the protocol was told to pause within the turn, as without us
