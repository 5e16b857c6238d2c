"""uvicorn as our HTTP faces run it (hub, operator API): each answer written in one piece.

Why: uvicorn's HTTP/1.1 protocol writes an answer's status line and headers, then its body,
with two ``transport.write`` calls. asyncio sets ``TCP_NODELAY``, so that is two segments:
two system calls on the server and two wake-ups and reads on the client for every answer.
A conclusion costs the hub about nine answers (send, list, fetch and acknowledge, for the
document and for each status message), so on the throughput bench this halving was worth
about 8 % of the hub's CPU and 10 % more conclusions per second.

``OneWriteHttpTools`` is uvicorn's own httptools protocol given a transport that gathers
what is written during one turn of the event loop and writes it once at the end of that turn.
Nothing waits longer than the turn that produced it, so a streamed answer whose parts come
in separate turns still goes out part by part; the order of bytes never changes. Nor does
more than the socket transport's high-water mark wait: past it the gathered bytes go out at
once, so the transport's flow control (``pause_writing``, which uvicorn's ``send`` waits on)
holds back a stream whose parts all come in one turn, as it would without us.
"""

from __future__ import annotations

import asyncio
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["OneWriteHttpTools", "server_config"]


class GatheringTransport(asyncio.Transport):
    """Delegates to ``inner``; ``write`` is deferred to the end of the loop's current turn."""

    def __init__(self, inner: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self._inner = inner
        self._loop = loop
        self._pending: list[bytes] = []
        self._size = 0  # bytes in _pending
        self._high = inner.get_write_buffer_limits()[1]

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        if not self._pending:
            self._loop.call_soon(self._flush)
        chunk = bytes(data)  # a copy of a buffer the caller may reuse
        self._pending.append(chunk)
        self._size += len(chunk)
        if self._size >= self._high:  # no more held back than the transport would buffer
            self._flush()

    def writelines(self, list_of_data: Any) -> None:
        for data in list_of_data:
            self.write(data)

    def _flush(self) -> None:
        if not self._pending:
            return
        data = self._pending[0] if len(self._pending) == 1 else b"".join(self._pending)
        self._pending.clear()
        self._size = 0
        if not self._inner.is_closing():  # the peer went away meanwhile: as uvicorn would
            self._inner.write(data)

    def close(self) -> None:
        self._flush()  # an answer followed by ``Connection: close`` still goes out whole
        self._inner.close()

    def abort(self) -> None:
        self._pending.clear()
        self._size = 0
        self._inner.abort()

    def write_eof(self) -> None:
        self._flush()
        self._inner.write_eof()

    def can_write_eof(self) -> bool:
        return self._inner.can_write_eof()

    def is_closing(self) -> bool:
        return self._inner.is_closing()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._inner.get_extra_info(name, default)

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._inner.set_protocol(protocol)

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._inner.get_protocol()

    def is_reading(self) -> bool:
        return self._inner.is_reading()

    def pause_reading(self) -> None:
        self._inner.pause_reading()

    def resume_reading(self) -> None:
        self._inner.resume_reading()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self._inner.set_write_buffer_limits(high, low)
        self._high = self._inner.get_write_buffer_limits()[1]

    def get_write_buffer_size(self) -> int:
        return self._inner.get_write_buffer_size() + self._size

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return self._inner.get_write_buffer_limits()


class OneWriteHttpTools(HttpToolsProtocol):
    """uvicorn's httptools HTTP/1.1 protocol writing through a ``GatheringTransport``."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(GatheringTransport(transport, self.loop))


def server_config(app: Any, **options: Any) -> uvicorn.Config:
    """``uvicorn.Config`` with our protocol; ``options`` as ``uvicorn.Config`` takes them."""
    return uvicorn.Config(app, http=OneWriteHttpTools, **options)
