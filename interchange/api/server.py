"""Run the operator app beside a node in the same process (``interchange serve``, the demo).

``start_api_server(app, host, port)`` starts uvicorn in a daemon thread and returns once it
accepts connections; ``stop()`` ends it. Port 0 picks a free port (see ``url``).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import uvicorn
from fastapi import FastAPI

from ..errors import ConfigError
from ..serving import server_config


@dataclass
class RunningApi:
    server: uvicorn.Server
    thread: threading.Thread
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop(self, timeout: float = 10.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)


def start_api_server(
    app: FastAPI, host: str = "127.0.0.1", port: int = 0, *, timeout: float = 20.0
) -> RunningApi:
    config = server_config(app, host=host, port=port, log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="interchange-api", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise ConfigError(f"the operator API could not listen on {host}:{port}")
        time.sleep(0.02)
    bound = port
    for srv in server.servers:
        for sock in srv.sockets:
            bound = int(sock.getsockname()[1])
    return RunningApi(server, thread, host, bound)
