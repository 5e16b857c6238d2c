"""Request bodies read with a cap, on both faces.

Neither uvicorn nor Starlette limits a body's size: ``await request.body()`` holds all of
it in memory. The SOAP face reads its envelope before it can authenticate anyone, so
without a cap any client could make the hub buffer gigabytes; the REST face authenticates
first, but a caller's credentials are no licence to exhaust memory either.
"""

from __future__ import annotations

from starlette.requests import Request

from ..safexml import XmlLimits
from .service import E_TOO_LARGE, refuse


def xml_body_limit() -> int:
    """The largest body worth reading: what the XML parser accepts at all."""
    return XmlLimits.from_env().max_bytes


async def read_capped(request: Request, limit: int) -> bytes:
    """The body, refused (``RefusedError``, 413) once it passes ``limit`` bytes: at once
    when ``Content-Length`` says so, else while streaming, before reading the rest."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise refuse(f"body of {declared} bytes is larger than {limit} bytes", E_TOO_LARGE)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise refuse(f"body larger than {limit} bytes", E_TOO_LARGE)
        chunks.append(chunk)
    return b"".join(chunks)
