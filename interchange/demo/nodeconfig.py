"""Write a node configuration (``interchange.node.config`` format) for a demo network node.

Routing rules are data here as in any deployment: a conclusion issued by a provincial
Department of IC also goes to the Ministry Inspectorate (``@inspectorate``); a directive's
targets ("the districts of province X") are expanded by the node through the directory.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from .spec import NodeSpec, Timings

if TYPE_CHECKING:
    from .network import Credentials

ROUTING_RULES: tuple[dict[str, Any], ...] = (
    {
        "name": "conclusions to the Ministry Inspectorate",
        "kind": "conclusion",
        "sender_kind": "department_of_ic",
        "add": ["@inspectorate"],
    },
)


def shared_systemid(node: NodeSpec) -> str:
    """The hub system id of a node whose tenants share one axis connection."""
    return f"node-{node.name}"


def node_config_data(
    node: NodeSpec,
    *,
    data_dir: Path,
    db_url: str,
    hub_url: str,
    credentials: Mapping[str, Credentials],
    ca_cert: Path,
    crl: Path,
    directory: Path,
    timings: Timings,
    shared_secret: str | None = None,
) -> dict[str, Any]:
    """The configuration as a mapping (absolute paths, so the file can live anywhere)."""
    tenants: list[dict[str, Any]] = []
    for t in node.tenants:
        cred = credentials[t.code]
        entry: dict[str, Any] = {
            "organ": t.code,
            "name": t.name or t.code,
            "key": str(cred.key_path),
            "cert": str(cred.cert_path),
            "auto_accept": t.auto_accept,
        }
        if shared_secret is None:
            entry["axis"] = {
                "kind": "vxp",
                "url": hub_url,
                "systemid": cred.systemid,
                "secret": cred.secret,
            }
        tenants.append(entry)
    data: dict[str, Any] = {
        "data_dir": str(data_dir),
        "db_url": db_url,
        "tenants": tenants,
        "trust": {"anchors": [str(ca_cert)], "crls": [str(crl)]},
        "directory": str(directory),
        "routing": [dict(r) for r in ROUTING_RULES],
        "poll_interval": timings.poll_interval_s,
        "backoff_base": timings.retry_base_s,
        "backoff_max": timings.retry_max_s,
        "max_age": timings.max_age_s,
        "lease_seconds": timings.lease_s,
        "batch": timings.batch,
        "workers": node.workers,
    }
    if shared_secret is not None:
        data["axis"] = {
            "kind": "vxp",
            "url": hub_url,
            "systemid": shared_systemid(node),
            "secret": shared_secret,
        }
    return data


def node_config_text(node: NodeSpec, **kwargs: Any) -> str:
    header = f"# Node {node.name} of a throw-away demo network (generated; NOT FOR PRODUCTION)\n"
    return header + yaml.safe_dump(
        node_config_data(node, **kwargs), allow_unicode=True, sort_keys=False
    )
