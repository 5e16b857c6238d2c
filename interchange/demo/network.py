"""Turn a ``NetworkSpec`` into files and running processes on loopback.

``prepare`` writes everything a network needs under one data directory (a throw-away CA and
one certificate per agency with its code in the subject UID, the hub's systems file, one
configuration per node); ``Network`` starts the hub and the nodes as separate processes on
free ports, each logging to a file in the data directory, and stops them for sure.

Layout of a data directory::

    pki/ca/                 the throw-away CA (NOT FOR PRODUCTION)
    pki/agencies/CODE.*     each agency's key and certificate chain
    hub/systems.json        callers of the hub, their secrets and agencies
    hub/hub.db              the hub's store (SQLite unless a URL is given)
    nodes/NAME/node.yaml    a node's configuration; nodes/NAME/node.db its store
    logs/NAME.log           each process's output
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..signing import pki
from .nodeconfig import node_config_text, shared_systemid
from .observe import HubStore, NodeStore
from .procs import ManagedProcess, ProcessGroup, free_port, interchange_argv
from .spec import NetworkSpec, NodeSpec

if TYPE_CHECKING:
    from ..delivery.outbox import Submitted
    from ..node.node import Node


@dataclass(frozen=True, slots=True)
class Credentials:
    """What a tenant needs to talk to the hub and to sign."""

    code: str
    systemid: str
    secret: str
    key_path: Path
    cert_path: Path


@dataclass(frozen=True, slots=True)
class Prepared:
    """The files of a network, ready to start."""

    spec: NetworkSpec
    data_dir: Path
    hub_port: int
    hub_db_url: str
    systems_path: Path
    ca_cert_path: Path
    crl_path: Path
    credentials: dict[str, Credentials]
    node_configs: dict[str, Path]
    node_db_urls: dict[str, str]

    @property
    def hub_url(self) -> str:
        return f"http://127.0.0.1:{self.hub_port}"


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def prepare(spec: NetworkSpec, data_dir: Path, *, hub_port: int | None = None) -> Prepared:
    """Write the PKI, the systems file and the node configurations under ``data_dir``."""
    data_dir = data_dir.resolve()
    (data_dir / "logs").mkdir(parents=True, exist_ok=True)
    ca_dir = data_dir / "pki" / "ca"
    agency_dir = data_dir / "pki" / "agencies"
    ecdsa = spec.key_type == "ec"
    if not (ca_dir / "ca.cert.pem").exists():
        pki.init_ca(ca_dir, ecdsa=ecdsa, name="Interchange demo CA")

    def issue_one(code: str, name: str) -> tuple[str, Path, Path]:
        key, cert = agency_dir / f"{code}.key.pem", agency_dir / f"{code}.cert.pem"
        if not (key.exists() and cert.exists()):
            key, cert = pki.issue(ca_dir, code, name=name or code, ecdsa=ecdsa, out_dir=agency_dir)
        return code, key, cert

    tenants = spec.tenants
    # RSA key generation dominates set-up: spread it over the cores (OpenSSL drops the GIL).
    with ThreadPoolExecutor(max_workers=4) as pool:
        issued = list(pool.map(lambda t: issue_one(t.code, t.name), tenants))
    creds = {
        code: Credentials(code, code, secrets.token_hex(16), key, cert)
        for code, key, cert in issued
    }

    hub_dir = data_dir / "hub"
    hub_dir.mkdir(parents=True, exist_ok=True)
    systems_path = hub_dir / "systems.json"
    systems: list[dict[str, object]] = []
    shared_secrets: dict[str, str] = {}
    for node in spec.nodes:
        if node.shared_axis:
            shared_secrets[node.name] = secrets.token_hex(16)
            codes = [t.code for t in node.tenants]
            systems.append(
                {
                    "systemid": shared_systemid(node),
                    "secret": shared_secrets[node.name],
                    "organs": codes,
                }
            )
        else:
            for t in node.tenants:
                c = creds[t.code]
                systems.append({"systemid": c.systemid, "secret": c.secret, "organs": [c.code]})
    systems_path.write_text(json.dumps({"systems": systems}, indent=1), encoding="utf-8")
    hub_db_url = spec.hub_db_url or sqlite_url(hub_dir / "hub.db")
    port = hub_port or free_port()

    node_configs: dict[str, Path] = {}
    node_db_urls: dict[str, str] = {}
    for node in spec.nodes:
        node_dir = data_dir / "nodes" / node.name
        node_dir.mkdir(parents=True, exist_ok=True)
        db_url = node.db_url or sqlite_url(node_dir / "node.db")
        node_db_urls[node.name] = db_url
        path = node_dir / "node.yaml"
        path.write_text(
            node_config_text(
                node,
                data_dir=node_dir,
                db_url=db_url,
                hub_url=f"http://127.0.0.1:{port}",
                credentials={t.code: creds[t.code] for t in node.tenants},
                ca_cert=ca_dir / "ca.cert.pem",
                crl=ca_dir / "crl.pem",
                directory=spec.directory,
                timings=spec.timings,
                shared_secret=shared_secrets.get(node.name),
            ),
            encoding="utf-8",
        )
        node_configs[node.name] = path
    return Prepared(
        spec=spec,
        data_dir=data_dir,
        hub_port=port,
        hub_db_url=hub_db_url,
        systems_path=systems_path,
        ca_cert_path=ca_dir / "ca.cert.pem",
        crl_path=ca_dir / "crl.pem",
        credentials=creds,
        node_configs=node_configs,
        node_db_urls=node_db_urls,
    )


class Network:
    """The running hub and nodes of a prepared network. Use as a context manager."""

    def __init__(self, prepared: Prepared, *, startup_timeout: float = 60.0) -> None:
        self.prepared = prepared
        self.startup_timeout = startup_timeout
        self.group = ProcessGroup()
        self.hub = self.group.add(
            ManagedProcess(
                "hub",
                interchange_argv(
                    "hub",
                    "serve",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(prepared.hub_port),
                    "--db",
                    prepared.hub_db_url,
                    "--systems",
                    str(prepared.systems_path),
                    "--directory",
                    str(prepared.spec.directory),
                ),
                log_path=prepared.data_dir / "logs" / "hub.log",
                port=prepared.hub_port,
            )
        )
        self.nodes: dict[str, ManagedProcess] = {}
        self.stores: dict[str, NodeStore] = {}
        self._clients: dict[str, Node] = {}
        self.hub_store = HubStore(prepared.hub_db_url)
        for node in prepared.spec.nodes:
            self.nodes[node.name] = self.group.add(self._node_process(node))
            self.stores[node.name] = NodeStore(prepared.node_db_urls[node.name])

    def _node_process(self, node: NodeSpec) -> ManagedProcess:
        argv = ["serve", "--config", str(self.prepared.node_configs[node.name])]
        if node.workers > 1:
            argv += ["--workers", str(node.workers)]
        return ManagedProcess(
            f"node {node.name}",
            [*node.launcher, *argv] if node.launcher else interchange_argv(*argv),
            log_path=self.prepared.data_dir / "logs" / f"{node.name}.log",
            env=dict(node.env),
        )

    # --- life -----------------------------------------------------------------------------

    def start(self) -> Network:
        self.hub.start()
        started = [n.name for n in self.prepared.spec.nodes if n.autostart]
        for name in started:
            self.nodes[name].start()
        self.hub.wait_ready(self.startup_timeout)
        for name in started:
            self.nodes[name].wait_ready(self.startup_timeout, check=self.stores[name].ready)
        return self

    def start_node(
        self, name: str, *, env: dict[str, str] | None = None, plain: bool = False
    ) -> ManagedProcess:
        """(Re)start one node; ``env`` adds environment, ``plain`` drops a test launcher."""
        proc = self.nodes[name]
        proc.stop()
        if env is not None:
            proc.env = {**dict(self.prepared.spec.node(name).env), **env}
        if plain:
            proc.argv = interchange_argv(*proc.argv[proc.argv.index("serve") :])
        proc.start()
        proc.wait_ready(self.startup_timeout, check=self.stores[name].ready)
        return proc

    def stop(self) -> None:
        self.group.stop_all()
        for store in self.stores.values():
            store.close()
        self.hub_store.close()
        for client in self._clients.values():
            client.close()
        self._clients.clear()

    def __enter__(self) -> Network:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- acting as a clerk ----------------------------------------------------------------

    def client(self, node: str) -> Node:
        """The node's own service layer, in this process, on the node's database.

        Submitting through it is what the node's faces do: route, package, sign once, store
        and queue in one transaction; the running node process then delivers.
        """
        if node not in self._clients:
            from ..node.node import load_node

            self._clients[node] = load_node(self.prepared.node_configs[node])
        return self._clients[node]

    def submit(
        self, node: str, tenant: str, payload: Any, *, recipients: tuple[str, ...] = ()
    ) -> Submitted:
        return self.client(node).submit_payload(tenant, payload, recipients=recipients)

    # --- questions ------------------------------------------------------------------------

    def store_of(self, code: str) -> NodeStore:
        """The store of the node that hosts agency ``code``."""
        return self.stores[self.prepared.spec.node_of(code).name]

    def processes(self) -> Iterator[ManagedProcess]:
        yield self.hub
        yield from self.nodes.values()
