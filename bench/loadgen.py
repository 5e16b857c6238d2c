"""A small closed-loop HTTP/1.1 load generator for the API benchmark.

Why our own: the load runs on the same two cores as the server, so the client must cost far
less than the server's work per request. httpx spends about as much CPU per request as a
light endpoint; this client writes one request per round trip on a kept-alive connection and
reads the answer by its ``Content-Length`` (about 30 µs per request), like ``wrk -c N``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Sample:
    """Latencies in milliseconds by request kind, and the failures seen."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def count(self) -> int:
        return sum(len(v) for v in self.latencies.values())


Next = Callable[[], tuple[str, str]]  # -> (kind, path)


async def _connection(
    host: str,
    port: int,
    headers: bytes,
    next_request: Next,
    budget: list[int],
    out: Sample,
    pace_s: float | None,
    offset: float = 0.0,
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    if pace_s is not None:  # spread the clients over the period, as users are
        await asyncio.sleep(pace_s * offset)
    try:
        while budget[0] > 0:
            budget[0] -= 1
            kind, path = next_request()
            tick = time.perf_counter()
            writer.write(b"GET " + path.encode() + b" HTTP/1.1\r\n" + headers)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length:
                await reader.readexactly(length)
            latency = (time.perf_counter() - tick) * 1000
            if status != 200:
                out.errors.append(f"{path}: {status}")
                continue
            out.latencies.setdefault(kind, []).append(latency)
            if pace_s is not None:
                await asyncio.sleep(max(0.0, pace_s - (time.perf_counter() - tick)))
    finally:
        writer.close()


async def _run(
    host: str,
    port: int,
    headers: dict[str, str],
    next_request: Next,
    clients: int,
    total: int,
    pace_s: float | None,
    timeout_s: float,
) -> Sample:
    raw = f"Host: {host}:{port}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    out = Sample()
    budget = [total]
    started = time.perf_counter()
    tasks = [
        _connection(
            host, port, (raw + "\r\n").encode(), next_request, budget, out, pace_s, i / clients
        )
        for i in range(clients)
    ]
    await asyncio.wait_for(asyncio.gather(*tasks), timeout_s)
    out.elapsed_s = time.perf_counter() - started
    return out


def run(
    host: str,
    port: int,
    next_request: Next,
    *,
    clients: int,
    total: int,
    headers: dict[str, str] | None = None,
    pace_s: float | None = None,
    timeout_s: float = 120.0,
) -> Sample:
    """``clients`` connections each sending its next request as soon as the last is answered
    (or once per ``pace_s`` seconds), ``total`` requests in all."""
    return asyncio.run(
        _run(host, port, headers or {}, next_request, clients, total, pace_s, timeout_s)
    )
