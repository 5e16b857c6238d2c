"""A node's database with real data for the operator tests: signed documents, deliveries in
every state with their timelines, inbox items, users of each role.

The Tây Ninh department (DEPT) sent a directive to seven districts; the Bến Cầu district (A)
and the Châu Thành district (B) each hold an inbox item and a document they sent. Users are
scoped to A (and one to DEPT); B is "the other district".
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from sqlalchemy import insert, update
from sqlalchemy.engine import Connection, Engine

from interchange.api.database import open_database
from interchange.delivery.codec import RealCodec
from interchange.delivery.outbox import submit_in
from interchange.organs import Directory, load_demo_directory
from interchange.packaging import package_document
from interchange.payloads import payload_from_dict
from interchange.signing import pki
from interchange.signing.sign import SigningKey, load_signing_key
from interchange.store import auth_tables as auth
from interchange.store.ops import add_event, ensure_tenant, sha256_hex, utcnow
from interchange.store.tables import deliveries, documents, inbox_items

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

REPO = Path(__file__).resolve().parents[2]
CSRF = re.compile(r'name="csrf" value="([0-9a-f]+)"')
NONCE = re.compile(r'name="nonce" value="([^"]+)"')
DEPT = "000.00.13.H53"
A = "000.00.31.H53"
B = "000.00.32.H53"
DISTRICTS = [f"000.00.{n}.H53" for n in range(30, 37)]
#: The directive's recipients and where each stands (the matrix's rows).
DIRECTIVE_STATES = {
    "000.00.30.H53": "completed",
    A: "accepted",
    B: "arrived",
    "000.00.33.H53": "sent",
    "000.00.34.H53": "failed",
    "000.00.35.H53": "dead",
    "000.00.36.H53": "refused",
}


@dataclass
class World:
    url: str
    engine: Engine
    codec: RealCodec
    directory: Directory
    ca_cert: Path
    tokens: dict[str, str] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)


def _keys(tmp: Path, codes: list[str]) -> tuple[dict[str, SigningKey], Path]:
    ca = pki.init_ca(tmp / "ca")
    keys = {}
    for code in codes:
        key_path, cert_path = pki.issue(ca.dir, code, out_dir=tmp / "keys")
        keys[code] = load_signing_key(key_path, cert_path)
    return keys, ca.cert_path


def _directive(recipients: list[str], due: dt.date) -> Any:
    data = yaml.safe_load((REPO / "examples" / "directive.yaml").read_text("utf-8"))
    data.pop("targets", None)
    data["recipients"] = recipients
    data["date"] = (due - dt.timedelta(days=20)).isoformat()
    data["response_due"] = due.isoformat()
    return payload_from_dict("directive", data)


def _move(
    conn: Connection,
    tenant_id: int,
    doc_pk: int,
    did: int,
    path: list[str],
    at: dt.datetime,
    **values: Any,
) -> None:
    """Walk a delivery through ``path`` with one timeline event per step."""
    prev = "queued"
    for i, state in enumerate(path):
        when = at + dt.timedelta(minutes=5 * (i + 1))
        code = {
            "arrived": "01",
            "accepted": "03",
            "refused": "02",
            "completed": "06",
            "assigned": "04",
            "in_progress": "05",
        }.get(state)
        add_event(
            conn,
            tenant_id=tenant_id,
            event=f"status_{code}" if code else state,
            at=when,
            document_pk=doc_pk,
            delivery_id=did,
            from_state=prev,
            to_state=state,
            status_code=code,
            hop="axis" if state == "sent" else None,
        )
        prev = state
    conn.execute(
        update(deliveries)
        .where(deliveries.c.id == did)
        .values(state=prev, updated_at=at + dt.timedelta(minutes=5 * len(path)), **values)
    )


def _paths(final: str) -> list[str]:
    return {
        "completed": ["sent", "arrived", "accepted", "completed"],
        "accepted": ["sent", "arrived", "accepted"],
        "arrived": ["sent", "arrived"],
        "sent": ["sent"],
        "failed": ["failed"],
        "dead": ["retrying", "dead"],
        "refused": ["sent", "arrived", "refused"],
    }[final]


def _receive(
    conn: Connection,
    tenant_id: int,
    data: bytes,
    sender: str,
    document_id: str,
    subject: str,
    kind: str,
    due: dt.date | None,
    now: dt.datetime,
) -> int:
    doc_pk = conn.execute(
        insert(documents).values(
            tenant_id=tenant_id,
            direction="in",
            message_type="edoc",
            dedupe_key=f"{sender}|{document_id}",
            document_id=document_id,
            sender=sender,
            recipients="",
            kind=kind,
            subject=subject,
            code="812/STTTT-TTra",
            due_date=due,
            bussiness_type=0,
            data=data,
            sha256=sha256_hex(data),
            created_at=now,
        )
    ).inserted_primary_key[0]
    item = conn.execute(
        insert(inbox_items).values(
            tenant_id=tenant_id,
            document_pk=doc_pk,
            state="arrived",
            valid=True,
            verification=json.dumps({"valid": True, "signer": sender, "chain": "trusted"}),
            received_at=now,
        )
    ).inserted_primary_key[0]
    add_event(
        conn,
        tenant_id=tenant_id,
        event="received",
        at=now,
        document_pk=doc_pk,
        inbox_item_id=item,
        to_state="arrived",
        status_code="01",
        hop=sender,
    )
    return int(item)


def build_world(tmp: Path, *, url: str | None = None) -> World:
    url = url or f"sqlite:///{tmp / 'node.db'}"
    engine = open_database(url)
    keys, ca_cert = _keys(tmp, [DEPT, A, B])
    directory = load_demo_directory()
    world = World(url, engine, RealCodec(keys, None, directory=directory), directory, ca_cert)
    today = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=7)).date()
    now = utcnow() - dt.timedelta(days=3)
    with engine.begin() as conn:
        t = {
            code: ensure_tenant(conn, code, name=directory.get(code).name) for code in (DEPT, A, B)
        }
        # the department's directive to seven districts, overdue since yesterday
        pkg = package_document(
            payload=_directive(DISTRICTS, today - dt.timedelta(days=1)),
            sender=DEPT,
            recipients=DISTRICTS,
            key=keys[DEPT],
            directory=directory,
        )
        sub = submit_in(
            conn,
            tenant_id=t[DEPT],
            data=pkg.data,
            message=pkg.message,
            kind="directive",
            payload_kind="directive",
            now=now,
        )
        world.ids["directive"] = sub.document_pk
        for did, code in zip(sub.delivery_ids, DISTRICTS, strict=True):
            final = DIRECTIVE_STATES[code]
            extra: dict[str, Any] = {}
            if final == "failed":
                extra = {"last_error": "refused by the axis: unknown recipient", "attempts": 1}
            if final == "dead":
                extra = {
                    "last_error": "hub unreachable",
                    "attempts": 9,
                    "dead_lettered_at": now + dt.timedelta(minutes=10),
                }
            if final == "refused":
                extra = {"reason": "Không thuộc thẩm quyền"}
            if final not in ("failed", "dead"):
                extra["sent_at"] = now + dt.timedelta(minutes=5)
            _move(conn, t[DEPT], sub.document_pk, did, _paths(final), now, **extra)
            world.ids[f"directive:{code}"] = did
        # each district received it and sent one document of its own
        for code in (A, B):
            item = _receive(
                conn,
                t[code],
                pkg.data,
                DEPT,
                pkg.document_id,
                pkg.message.header.subject,
                "directive",
                today - dt.timedelta(days=1),
                now,
            )
            world.ids[f"inbox:{code}"] = item
            own = package_document(
                payload=_directive([DEPT], today + dt.timedelta(days=10)),
                sender=code,
                recipients=[DEPT],
                key=keys[code],
                directory=directory,
                document_id=f"{code},report-1",
            )
            s = submit_in(
                conn,
                tenant_id=t[code],
                data=own.data,
                message=own.message,
                kind="directive",
                payload_kind="directive",
                now=now,
            )
            _move(
                conn,
                t[code],
                s.document_pk,
                s.delivery_ids[0],
                ["failed"],
                now,
                last_error="refused by the axis",
                attempts=1,
            )
            world.ids[f"sent:{code}"] = s.document_pk
            world.ids[f"delivery:{code}"] = s.delivery_ids[0]
        for name, role, scope in (
            ("viewer", "viewer", [A]),
            ("operator", "operator", [A]),
            ("admin", "admin", [A]),
            ("dept", "operator", [DEPT]),
            ("root", "admin", ["*"]),
        ):
            world.tokens[name] = auth.add_user(conn, name, role, scope).token
    return world


def run_outbox(world: World) -> int:
    """Send what is queued through an in-process hub (as the node's worker would)."""
    from adapters.memory import MemoryAxis, MemoryHub
    from interchange.delivery.outbox import OutboxWorker, RetryPolicy

    hub = MemoryHub(known=[*DISTRICTS, DEPT])
    axis = MemoryAxis(hub, "node", [DEPT, A, B])
    worker = OutboxWorker(world.engine, lambda _tid: axis, RetryPolicy(), "test-worker")
    total = 0
    while n := worker.run_once():
        total += n
    return total


def directive_spec(number: str) -> dict[str, Any]:
    """A submission (``/api/v1/submit``'s ``document`` field): a directive from the
    department to its districts."""
    return {
        "sender": DEPT,
        "kind": "directive",
        "payload": {
            "number": number,
            "notation": "STTTT-TTra",
            "date": "2026-11-20",
            "place": "Tây Ninh",
            "issuer": {"code": DEPT, "name": "Sở Thông tin và Truyền thông tỉnh Tây Ninh"},
            "subject": "Về việc kiểm tra quảng cáo",
            "actions": ["Kiểm tra và báo cáo."],
            "response_due": "2026-12-30",
            "targets": [{"level": "districts", "of": "000.00.00.H53"}],
        },
    }


def sign_in(c: TestClient, world: World, who: str) -> TestClient:
    """Sign ``c`` in to the dashboard as a browser does: fetch the form (its nonce), post
    the token."""
    m = NONCE.search(c.get("/ui/login").text)
    assert m, "no nonce in the login form"
    r = c.post(
        "/ui/login",
        data={"token": world.tokens[who], "nonce": m.group(1), "next": "/ui/"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return c


def csrf_of(html: str) -> str:
    m = CSRF.search(html)
    assert m, "no CSRF token in the page"
    return m.group(1)
