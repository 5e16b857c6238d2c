"""Turns: the hot reads run on the event loop one per loop pass, in the order they came.

The document list and detail run their queries on the loop, not in the thread pool
(``deps.require`` says why). Without turns, the loop takes every request that is ready,
answers them all in a row, then looks for new ones. A client answered last in one pass sends
its next request just after the loop has looked, so that request waits for a whole pass and
is answered last again: under load the same few connections waited twice as long as all the
others, every time (measured: 2 of 50 clients at 220-250 ms, the rest at 170; with two
processes p99 was twice p50). Epoll keeps a ready socket where it was in its list, and the
late one is appended at the end, so the order never heals by itself.

A turn is granted on the next pass of the loop, after it has read what arrived meanwhile,
and in arrival order: every client then waits for about the same number of others. A holder
never awaits, so nothing waits on a turn longer than the requests queued before it. The cost
is one loop pass per request (microseconds).
"""

from __future__ import annotations

import asyncio
from collections import deque
from types import TracebackType

from starlette.requests import Request


class Turns:
    """A first-come, first-served turn on the loop (one holder at a time)."""

    def __init__(self) -> None:
        self._queue: deque[asyncio.Future[None]] = deque()
        self._held = False

    def _grant(self, fut: asyncio.Future[None]) -> None:
        if fut.cancelled():  # its waiter left after it was chosen: the next one's turn
            self._pass_on()
        else:
            fut.set_result(None)

    async def __aenter__(self) -> None:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        if self._held:
            self._queue.append(fut)
        else:
            self._held = True
            loop.call_soon(self._grant, fut)  # next pass: the loop reads its sockets first
        try:
            await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():
                self._pass_on()  # granted, then cancelled: hand the turn on, never lose it
            raise

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._pass_on()

    def _pass_on(self) -> None:
        while self._queue:
            fut = self._queue.popleft()
            if not fut.done():  # a waiter cancelled (its client left) is skipped
                asyncio.get_running_loop().call_soon(self._grant, fut)
                return
        self._held = False


def turns_of(request: Request) -> Turns:
    turns: Turns = request.app.state.turns
    return turns
