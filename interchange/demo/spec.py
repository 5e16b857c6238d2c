"""What a throw-away network consists of: a hub, nodes, and the agencies each node hosts.

Pure data: the demo, the end-to-end tests and the benchmark describe their network with these
values, and ``interchange.demo.network`` turns them into files (PKI, systems file, node
configurations) and processes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True, slots=True)
class TenantSpec:
    """One agency hosted by a node: its code, and whether it accepts (03) by itself."""

    code: str
    name: str = ""
    auto_accept: bool = True


@dataclass(frozen=True, slots=True)
class NodeSpec:
    """One ``interchange serve`` process (or ``workers`` of them) with its tenants.

    ``db_url`` ``None`` means SQLite under the node's data directory (the embedded default).
    ``autostart`` False leaves the node stopped (a recipient that never answers);
    ``launcher`` replaces ``python -m interchange`` in its command line (test hooks).
    ``shared_axis``: the tenants share one hub system (one connection, one queue listing)
    instead of each having its own credentials; a node hosting hundreds of districts polls
    the hub once per pass instead of once per district.
    """

    name: str
    tenants: tuple[TenantSpec, ...]
    db_url: str | None = None
    workers: int = 1
    env: tuple[tuple[str, str], ...] = ()
    shared_axis: bool = False
    autostart: bool = True  # False: its agencies exist at the hub, but nobody answers for them
    launcher: tuple[str, ...] = ()  # argv replacing ``python -m interchange`` (test hooks)


@dataclass(frozen=True, slots=True)
class Timings:
    """Loop and retry settings written into node configurations.

    The defaults are short so that a demo or a test on loopback finishes in seconds; a real
    deployment would poll less often.
    """

    poll_interval_s: float = 0.2
    retry_base_s: float = 0.2
    retry_max_s: float = 2.0
    max_age_s: float = 600.0
    lease_s: float = 30.0
    batch: int = 50


@dataclass(frozen=True, slots=True)
class NetworkSpec:
    """The whole network. ``directory`` is the agency directory file every process loads."""

    nodes: tuple[NodeSpec, ...]
    directory: Path
    hub_db_url: str | None = None
    timings: Timings = field(default_factory=Timings)
    key_type: str = "rsa"  # "rsa" or "ec" (P-256: fast to generate for hundreds of tenants)

    def node(self, name: str) -> NodeSpec:
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(name)

    @property
    def tenants(self) -> tuple[TenantSpec, ...]:
        return tuple(t for n in self.nodes for t in n.tenants)

    def node_of(self, code: str) -> NodeSpec:
        for node in self.nodes:
            if any(t.code == code for t in node.tenants):
                return node
        raise KeyError(code)
