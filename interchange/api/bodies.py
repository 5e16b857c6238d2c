"""Request bodies capped before anything reads them: ``BodyLimit``, the app's outer layer.

Why a middleware and not the routes: neither uvicorn nor Starlette caps a body, and FastAPI
reads a route's whole body (a multipart form spools its files to disk) before the first
dependency runs, the token check included. Without this, anyone could make the node hold
a 400 MB JSON body in memory, or write a 2 GB temporary file, only to be answered 401.

A declared ``Content-Length`` over the cap is refused at once, unread (one header check per
request). A body without one (chunked) is counted as it is read and refused with the same
413 as soon as it passes the cap; whatever the app would have answered instead is dropped.
The answer closes the connection, since the rest of the body is never read.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from .problems import error_response

_MiB = 1024 * 1024


class _TooLarge(Exception):
    """Raised from ``receive`` once a streamed body passes the cap (not an API error: the
    middleware answers it, whatever the app made of it)."""


def _size(n: int) -> str:
    return f"{n / _MiB:g} MiB" if n % _MiB == 0 else f"{n} bytes"


class BodyLimit:
    """Pure ASGI middleware: 413 for a body over ``limit`` bytes (``upload_limit`` on the
    paths in ``upload_paths``), before any route or dependency reads it."""

    def __init__(
        self, app: Any, *, limit: int, upload_limit: int, upload_paths: Collection[str] = ()
    ) -> None:
        self.app = app
        self.limit = limit
        self.upload_limit = upload_limit
        self.upload_paths = frozenset(upload_paths)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.upload_limit if scope["path"] in self.upload_paths else self.limit
        declared: bytes | None = None
        chunked = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                declared = value
            elif name == b"transfer-encoding":
                chunked = True
        if declared is not None and declared.isdigit() and not chunked:
            if int(declared) > limit:
                await _refuse(scope, receive, send, limit)
                return
            await self.app(scope, receive, send)  # the server reads no more than declared
            return
        await self._counted(scope, receive, send, limit)

    async def _counted(self, scope: Any, receive: Any, send: Any, limit: int) -> None:
        seen = 0
        over = started = answered = False

        async def counted_receive() -> Any:
            nonlocal seen, over
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    over = True
                    raise _TooLarge
            return message

        async def guarded_send(message: Any) -> None:
            nonlocal started, answered
            if over and not started:  # the app's answer to the cut-off body: ours instead
                if not answered:
                    answered = True
                    await _refuse(scope, receive, send, limit)
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except Exception:
            if not over or started:
                raise
        if over and not started and not answered:
            await _refuse(scope, receive, send, limit)


async def _refuse(scope: Any, receive: Any, send: Any, limit: int) -> None:
    response = error_response(
        413, f"the request body is larger than {_size(limit)}", "too-large", {"Connection": "close"}
    )
    await response(scope, receive, send)
