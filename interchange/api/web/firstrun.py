"""First run: a dashboard for each node of a running network, with a ready-made token.

Why in the parent process: ``interchange demo --serve`` already holds every node's config;
loading a ``Node`` there (its database, signing keys and directory, no workers) and serving
the operator app on a free loopback port lets a newcomer open the directive's matrix within a
minute, while the node processes keep doing the sending. Answers given in the browser are
queued in the node's own database, where its worker picks them up.
"""

from __future__ import annotations

import secrets
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import uvicorn

from ...errors import ConfigError
from ...store import auth_tables as auth


@dataclass(frozen=True, slots=True)
class Dashboard:
    name: str
    url: str
    token: str


def _free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@dataclass
class Dashboards:
    """Context manager: one uvicorn server per node config, stopped on exit."""

    configs: Mapping[str, Path]
    host: str = "127.0.0.1"
    started: list[Dashboard] = field(default_factory=list)
    _servers: list[tuple[uvicorn.Server, threading.Thread]] = field(default_factory=list)

    def __enter__(self) -> Dashboards:
        from ...node import load_node
        from .. import create_api_app
        from ..config import ApiSettings

        for name, config in self.configs.items():
            node = load_node(config)
            with node.engine.begin() as conn:
                user = f"demo-operator-{secrets.token_hex(3)}"
                token = auth.add_user(conn, user, "operator", ["*"]).token
            settings = ApiSettings(
                database_url=node.config.database_url, node_name=name, refresh_seconds=5
            )
            app = create_api_app(settings, node=node)
            port = _free_port(self.host)
            server = uvicorn.Server(
                uvicorn.Config(app, host=self.host, port=port, log_level="warning")
            )
            thread = threading.Thread(target=server.run, name=f"dashboard-{name}", daemon=True)
            thread.start()
            self._servers.append((server, thread))
            deadline = time.monotonic() + 15
            while not server.started:
                if time.monotonic() > deadline or not thread.is_alive():
                    self.__exit__(None, None, None)
                    raise ConfigError(f"the dashboard of {name} did not start")
                time.sleep(0.05)
            self.started.append(Dashboard(name, f"http://{self.host}:{port}/ui/", token))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for server, _ in self._servers:
            server.should_exit = True
        for _, thread in self._servers:
            thread.join(timeout=10)
        self._servers.clear()
