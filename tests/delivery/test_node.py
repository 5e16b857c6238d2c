"""Nodes end to end in one process: real signing and verification, a MemoryHub between them.

The Tây Ninh department issues a conclusion (forwarded to the Ministry Inspectorate by a
routing rule) and a directive to every district of the province (expanded through the
directory); every recipient answers 01 and 03; the department sees each delivery accepted.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from adapters.base import Axis
from adapters.memory import MemoryAxis, MemoryHub
from interchange.delivery import queries
from interchange.edxml.model import StatusCode
from interchange.edxml.read import read_message
from interchange.node.config import AxisConfig, parse_config
from interchange.node.node import Node
from interchange.organs import Directory, load_directory
from interchange.payloads import load_payload
from interchange.resources import data_dir
from interchange.signing.pki import init_ca, issue
from interchange.store import held
from interchange.store.tables import inbox_items

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
DEPT = "000.00.13.H53"
PROVINCE = "000.00.00.H53"
INSPECTORATE = "000.00.02.G14"
RULES = [
    {
        "name": "conclusions to the Ministry Inspectorate",
        "kind": "conclusion",
        "sender_kind": "department_of_ic",
        "add": ["@inspectorate"],
    },
]


class Network:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.hub = MemoryHub()
        self.ca = init_ca(tmp / "ca")
        self.directory_path = data_dir() / "directory" / "demo.yaml"
        self.directory: Directory = load_directory(self.directory_path)
        self.nodes: list[Node] = []

    def axis(self, cfg: AxisConfig, organs: Sequence[str]) -> Axis:
        return MemoryAxis(self.hub, cfg.systemid, organs)

    def node(self, name: str, organs: Sequence[str], **extra: Any) -> Node:
        tenants = []
        for code in organs:
            key, cert = issue(self.ca.dir, code, out_dir=self.tmp / "keys")
            tenants.append(
                {
                    "organ": code,
                    "key": str(key),
                    "cert": str(cert),
                    **extra.pop(f"tenant:{code}", {}),
                }
            )
        data = {
            "data_dir": str(self.tmp / name),
            "axis": {"kind": "memory", "systemid": name},
            "tenants": tenants,
            "trust": {"anchors": [str(self.ca.cert_path)]},
            "directory": str(self.directory_path),
            "routing": RULES,
            **extra,
        }
        node = Node(
            parse_config(data, base_dir=self.tmp), axis_factory=self.axis, directory=self.directory
        )
        self.nodes.append(node)
        return node

    def settle(self, rounds: int = 6) -> None:
        for _ in range(rounds):
            for n in self.nodes:
                n.outbox_once()
            for n in self.nodes:
                n.inbox_once()


@pytest.fixture
def net(tmp_path: Path) -> Iterator[Network]:
    network = Network(tmp_path)
    yield network
    for n in network.nodes:
        n.close()


@pytest.mark.parametrize("fanout", [False, True])
def test_conclusion_forwarded_and_directive_fanned_out(net: Network, fanout: bool) -> None:
    dept = net.node("dept", [DEPT], fanout=fanout)
    ministry = net.node("ministry", [INSPECTORATE])
    districts = [a.code for a in net.directory.districts_of(PROVINCE)]
    net.node("districts", districts)

    conclusion = load_payload("conclusion", EXAMPLES / "conclusion.yaml")
    res = dept.submit_payload(DEPT, conclusion)  # no recipient given: the rule adds it
    assert len(res.delivery_ids) == 1
    directive = load_payload("directive", EXAMPLES / "directive.yaml")
    res2 = dept.submit_payload(DEPT, directive)
    assert len(res2.delivery_ids) == len(districts)
    net.settle()

    table = queries.delivery_table(dept.engine)
    assert {(r.recipient, r.state) for r in table} == (
        {(INSPECTORATE, "accepted")} | {(d, "accepted") for d in districts}
    )
    [item] = queries.inbox(ministry.engine)
    assert item["state"] == "accepted" and item["valid"] and item["sender"] == DEPT
    assert item["kind"] == "conclusion"
    directive_sends = [s for s in net.hub.sent if s.message_type == "edoc"][1:]
    assert len(directive_sends) == (1 if fanout else len(districts))


def test_tampered_document_refused_with_reason(net: Network) -> None:
    dept = net.node("dept", [DEPT])
    ministry = net.node("ministry", [INSPECTORATE])
    conclusion = load_payload("conclusion", EXAMPLES / "conclusion.yaml")
    packaged = dept.codec.package(DEPT, conclusion, [INSPECTORATE])
    tampered = packaged.data.replace("Tây Ninh".encode(), b"Tay Ninh", 1)
    assert tampered != packaged.data
    MemoryAxis(net.hub, "dept", [DEPT]).send(tampered, message_type="edoc", from_organ=DEPT)
    [poll] = ministry.inbox_once()
    assert poll.count("refused") == 1
    with ministry.engine.connect() as conn:
        item = conn.execute(select(inbox_items)).one()
    assert item.state == "refused" and not item.valid and item.reason
    ministry.outbox_once()
    statuses = [s for s in net.hub.sent if s.message_type == "status"]
    [status] = [read_message(s.data) for s in statuses]
    assert status.status_code is StatusCode.REFUSED  # type: ignore[union-attr]
    assert status.description == item.reason  # type: ignore[union-attr]


def test_manual_acceptance_policy(net: Network) -> None:
    dept = net.node("dept", [DEPT])
    ministry = net.node(
        "ministry", [INSPECTORATE], **{f"tenant:{INSPECTORATE}": {"auto_accept": False}}
    )
    dept.submit_payload(DEPT, load_payload("conclusion", EXAMPLES / "conclusion.yaml"))
    net.settle()
    assert [r.state for r in queries.delivery_table(dept.engine)] == ["arrived"]
    [item] = ministry.services.inbox(states=["arrived"])
    ministry.services.accept(item["id"], actor="clerk", tenant=INSPECTORATE)
    net.settle()
    assert [r.state for r in dept.services.deliveries()] == ["accepted"]
    [row] = dept.services.deliveries(tenant=DEPT)
    timeline = [e["to_state"] for e in dept.services.timeline(delivery_id=row.delivery_id)]
    assert timeline == ["queued", "sent", "arrived", "accepted"]


def test_drop_folder_envelope_and_signed_file(net: Network) -> None:
    drop = net.tmp / "drop"
    dept = net.node("dept", [DEPT], **{f"tenant:{DEPT}": {"drop_folder": str(drop)}})
    net.node("ministry", [INSPECTORATE])
    drop.mkdir(parents=True, exist_ok=True)
    payload = yaml.safe_load((EXAMPLES / "conclusion.yaml").read_text(encoding="utf-8"))
    (drop / "kl15.yaml").write_text(
        yaml.safe_dump({"kind": "conclusion", "payload": payload}, allow_unicode=True),
        encoding="utf-8",
    )
    (drop / "broken.json").write_text('{"kind": "conclusion", "payload": {"number": "1"}}')
    (drop / ".partial.json.tmp").write_text("{")
    # a ready signed document from the same agency
    other = dict(payload, number="16")
    from interchange.payloads import payload_from_dict

    signed = dept.codec.package(DEPT, payload_from_dict("conclusion", other), [INSPECTORATE])
    (drop / "kl16.edxml").write_bytes(signed.data)
    results = dept.drop_once()
    outcome = {r.path.name: r.ok for r in results}
    assert outcome == {"kl15.yaml": True, "broken.json": False, "kl16.edxml": True}
    assert (drop / "done" / "kl15.yaml").is_file() and (drop / "done" / "kl16.edxml").is_file()
    reason = (drop / "failed" / "broken.json.reason").read_text(encoding="utf-8")
    assert reason.strip() and "\n" not in reason.strip()
    assert (drop / ".partial.json.tmp").exists()
    net.settle()
    assert sorted(r.state for r in queries.delivery_table(dept.engine)) == ["accepted", "accepted"]
    # the same file dropped again is recognised, not sent twice
    (drop / "again.yaml").write_text(
        (drop / "done" / "kl15.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    [again] = dept.drop_once()
    assert again.ok and "already submitted" in again.detail
    assert len(queries.delivery_table(dept.engine)) == 2


def test_the_node_keeps_a_connection_per_thread_and_releases_them(net: Network) -> None:
    """The outbox, inbox and submissions run on their threads' kept connections
    (``store.held``); closing the node closes them."""
    dept = net.node("dept", [DEPT])
    net.node("ministry", [INSPECTORATE])
    dept.submit_payload(DEPT, load_payload("conclusion", EXAMPLES / "conclusion.yaml"))
    net.settle()
    kept = list(held._held_of(dept.engine).conns.values())
    assert len(kept) == 1  # this test's one thread ran every step
    assert not kept[0].in_transaction()
    assert {r.state for r in queries.delivery_table(dept.engine)} == {"accepted"}
    dept.close()
    net.nodes.remove(dept)
    assert dept.engine not in held._engines
    assert kept[0].closed
