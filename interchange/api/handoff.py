"""Connections spread evenly over the API's processes: one accepts, each serves its share.

Why not let the kernel spread them: with one shared socket, whichever process wakes first
accepts everything queued (measured: 41 of 50 kept-alive connections on one of two
processes); with a socket per process (``SO_REUSEPORT``) the kernel hashes each connection to
a process at random, and 50 connections split 30 / 20 as often as not. Clients that keep
their connection alive (browsers, scripts, a load balancer) stay where they landed, so the
busier process answers half as fast again, and its clients set the tail latency: p99 was
twice p50 with two processes, 1.1 times with one.

So the supervisor accepts and hands each connection's descriptor to the next process in turn
over a Unix socket (``SCM_RIGHTS``); the process serves it as uvicorn serves any accepted
connection. Only connection set-up passes through the supervisor, never a byte of a request.
"""

from __future__ import annotations

import asyncio
import functools
import socket
import threading
from collections.abc import Callable, Sequence
from typing import Any

import uvicorn

READY = b"r"  # a worker to its supervisor: started, send connections
_CONN = b"c"  # the supervisor to a worker: here is one
SEND_TIMEOUT_S = 5.0


def channel_pair() -> tuple[socket.socket, socket.socket]:
    """The supervisor's end and the worker's end. SEQPACKET keeps each descriptor in its own
    message, so that none is split from its marker or merged with the next."""
    return socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)


class Dispatcher:
    """The supervisor's side: accept on ``listener`` and deal connections round robin."""

    def __init__(self, listener: socket.socket, channels: Sequence[socket.socket]) -> None:
        self._listener = listener
        self._channels = list(channels)
        self._thread = threading.Thread(target=self._run, name="api-dispatch", daemon=True)

    def wait_ready(self, timeout: float) -> bool:
        """True once every worker has said it is serving (False on timeout or a dead one)."""
        for ch in self._channels:
            ch.settimeout(timeout)
            try:
                if ch.recv(16) != READY:
                    return False
            except OSError:
                return False
            # A worker that stops reading its channel is skipped after this long, rather
            # than holding every later connection in the supervisor.
            ch.settimeout(SEND_TIMEOUT_S)
        return True

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        turn = 0
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:  # the listener was closed: the supervisor is stopping
                return
            with conn:  # the worker holds its own copy once sent; ours is closed here
                for _ in range(len(self._channels)):
                    ch = self._channels[turn % len(self._channels)]
                    turn += 1
                    try:
                        socket.send_fds(ch, [_CONN], [conn.fileno()])
                        break
                    except OSError:  # that worker is gone or stuck: the next one takes it
                        continue

    def stop(self) -> None:
        try:
            self._listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._listener.close()


class HandoffServer(uvicorn.Server):
    """uvicorn serving the connections its supervisor hands over on ``channel``, instead of
    accepting on a socket of its own. It stops when the supervisor goes away."""

    def __init__(self, config: uvicorn.Config, channel: socket.socket) -> None:
        super().__init__(config)
        self._channel = channel
        self._opening: set[asyncio.Future[Any]] = set()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=[])  # no listener of our own
        loop = asyncio.get_running_loop()
        factory: Callable[[], asyncio.Protocol] = functools.partial(
            self.config.http_protocol_class,  # type: ignore[call-arg]
            config=self.config,
            server_state=self.server_state,
            app_state=self.lifespan.state,
        )
        self._channel.setblocking(False)
        loop.add_reader(self._channel.fileno(), self._take, loop, factory)
        self._channel.send(READY)

    def _take(
        self, loop: asyncio.AbstractEventLoop, factory: Callable[[], asyncio.Protocol]
    ) -> None:
        while True:
            try:
                msg, fds, _flags, _addr = socket.recv_fds(self._channel, 16, 8)
            except BlockingIOError:
                return
            except OSError:
                msg, fds = b"", []
            if not msg and not fds:  # the supervisor closed its end
                loop.remove_reader(self._channel.fileno())
                self.should_exit = True
                return
            for fd in fds:
                sock = socket.socket(fileno=fd)
                task = loop.create_task(loop.connect_accepted_socket(factory, sock))
                self._opening.add(task)
                task.add_done_callback(self._opened)

    def _opened(self, task: asyncio.Future[Any]) -> None:
        self._opening.discard(task)
        if not task.cancelled():
            task.exception()  # a client gone before it was served: nothing to do

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        asyncio.get_running_loop().remove_reader(self._channel.fileno())
        await super().shutdown(sockets)
