"""The node: config file, the ``Node`` runtime (outbox + inbox loops for many agencies),
drop folders, and the operator services bound to it."""

from .config import NodeConfig, load_config, parse_config
from .node import Node, NodeTenant, load_node
from .services import NodeServices

__all__ = [
    "Node",
    "NodeConfig",
    "NodeServices",
    "NodeTenant",
    "load_config",
    "load_node",
    "parse_config",
]
