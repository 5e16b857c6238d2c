"""The hub's queue logic, shared by its REST and SOAP faces (no HTTP here).

Guarantees (AXIS.md §3), each enforced in one place:
- a send is checked completely (parse, From is the caller's, every recipient known, hash)
  *before* anything is written, then the message and its queue rows are written in one
  transaction, committed before the DocId is answered;
- a queue row stays ``pending`` (listed again and again) until its recipient acknowledges;
- every read and acknowledgement is filtered by the caller's agencies: another caller's
  docId is "not in your queue", exactly like an unknown one;
- the bytes are stored and delivered as received; the hub's hop (its id, the time, an
  old code substituted) lives in the rows beside them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, ParamSpec, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import BindParameter
from starlette.concurrency import run_in_threadpool

from adapters.base import AgencyInfo
from adapters.hmac import AuthResult, ReplayCache, check_headers, verify_signed_json

from ..edxml.model import EdocMessage, StatusMessage
from ..edxml.read import read_message
from ..errors import (
    AuthenticationError,
    FormatError,
    OrganCodeError,
    RefusedError,
    UnknownOrganError,
)
from ..store import held, lean
from ..store.db import make_engine
from ..store.hub_tables import hub_blobs, hub_messages, hub_queue
from .agencies import AgencyRegistry, delete_code, parse_registration
from .config import HubConfig, Routing, load_directory_opt

MessageKind = Literal["edoc", "status"]
P = ParamSpec("P")
T = TypeVar("T")

# ErrorCodes the faces answer (the SDK only tells "0" from the rest).
E_AUTH = "401"
E_BAD_REQUEST = "400"
E_FORBIDDEN = "403"
E_NOT_FOUND = "404"
E_TOO_LARGE = "413"
E_UNKNOWN_RECIPIENT = "422"
E_INTERNAL = "500"


def refuse(message: str, code: str = E_BAD_REQUEST) -> RefusedError:
    return RefusedError(message, error_code=code)


def replay_scope(operation: str, body: bytes = b"") -> str:
    """What a REST signature is remembered with: the operation, and a body it leaves unsigned.

    Security reasoning: the SDK's HMAC covers its header map only, not the path or the
    body, and SDK 2.0.1 fixes the timestamp when a service object is built and keeps
    adding parameters to one map. Its own receive loop therefore signs ``getEdoc(X)`` and
    the ``updateStatus(X)`` that follows with the very same MAC (``status`` is left over
    from the previous document), and ``countReceiveEdoc`` then ``countReceiveStatus``
    likewise. Remembering the bare MAC refused those honest calls; a replay is the same
    *request* again: same signature, same operation, same unsigned body.

    What this cannot stop, the SDK's scheme allows on the real axis too: within the skew
    window, an eavesdropper may send a captured MAC to another operation. Signed
    parameters limit what that can do (``sendEdoc`` needs the signed ``hash-file`` of its
    body, ``updateStatus`` the signed ``docId``, ``deleteAgency`` the signed code), except
    ``registerAgency``, whose body is unsigned: one captured MAC could register any number
    of children of the caller's own agencies, with names and mail of the eavesdropper's
    choosing. They are listed to every caller, never routed to. A hub whose callers all
    sign ``hash-file`` closes that (``HubConfig.agency_body_hash``; off by default because
    SDK 2.0.1 does not sign it).
    """
    if not body:
        return operation
    return f"{operation}\x00{hashlib.sha256(body).hexdigest()}"


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def prepare_database(url: str) -> Engine:
    """Migrate (Alembic, revision 0002 holds the hub tables) and return an engine."""
    from ..store.migrate import upgrade_database

    engine = make_engine(url)
    upgrade_database(url, engine=engine)
    return engine


@dataclass(frozen=True, slots=True)
class RouteInfo:
    """What routing needs from the bytes, read once."""

    kind: MessageKind
    from_organ: str
    recipients: tuple[str, ...]
    document_id: str | None
    title: str | None
    notation: str | None


def route_info(data: bytes) -> RouteInfo:
    """Read From / To / DocumentId / kind; any format problem is a refusal (nothing stored)."""
    try:
        msg = read_message(data)
    except FormatError as exc:
        raise refuse(f"not a readable edXML message: {exc}") from None
    if msg.document_id and len(msg.document_id) > 400:
        raise refuse("DocumentId longer than 400 characters")
    if isinstance(msg, EdocMessage):
        return RouteInfo(
            "edoc",
            msg.sender,
            msg.recipients,
            msg.document_id,
            msg.header.subject,
            str(msg.header.code)[:200],
        )
    assert isinstance(msg, StatusMessage)
    return RouteInfo(
        "status", msg.sender, (msg.response_for.organ_id,), msg.document_id, None, None
    )


class RouteCache:
    """Routing facts per content digest (bounded, thread-safe).

    A node fans a directive out one recipient at a time: the same bytes arrive hundreds of
    times, and reading a document with hundreds of ``To`` blocks costs milliseconds.
    """

    def __init__(self, size: int = 256) -> None:
        self._items: OrderedDict[str, RouteInfo] = OrderedDict()
        self._lock = threading.Lock()
        self._size = size

    def get(self, digest: str, data: bytes) -> RouteInfo:
        with self._lock:
            info = self._items.get(digest)
            if info is not None:
                self._items.move_to_end(digest)
                return info
        info = route_info(data)  # outside the lock: parsing may take a while
        with self._lock:
            self._items[digest] = info
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return info


def parse_to(value: str | None) -> tuple[str, ...]:
    """The ``to`` parameter: a code, the SDK's JSON string (``"code"``), or a JSON list."""
    if value is None or not value.strip():
        return ()
    text = value.strip()
    if text[0] in '["':
        try:
            parsed = json.loads(text)
        except ValueError:
            raise refuse(f"'to' is not valid JSON: {text[:80]!r}") from None
        items = parsed if isinstance(parsed, list) else [parsed]
        if not all(isinstance(i, str) for i in items):
            raise refuse("'to' must name agency codes")
        return tuple(i.strip() for i in items if i.strip())
    return tuple(p.strip() for p in text.replace(";", ",").split(",") if p.strip())


class _Statements:
    """The hot paths' statements, built once with bind parameters: building a ``select``
    per request (coercions, cache keys) cost more than executing it."""

    def __init__(self, list_limit: int) -> None:
        q, m, b = hub_queue, hub_messages, hub_blobs
        mine: BindParameter[list[str]] = bindparam("mine", expanding=True)
        self.insert_message = insert(m)
        self.insert_queue = insert(q)
        self.pending = (
            select(
                q.c.id,
                q.c.from_organ,
                q.c.recipient,
                q.c.message_type,
                q.c.state,
                q.c.created_at,
                q.c.updated_at,
                q.c.substituted_from,
                q.c.addressed_to,
                m.c.id.label("mid"),
                m.c.service_type,
                m.c.document_id,
                m.c.hub_id,
                m.c.received_at,
                m.c.sha256,
            )
            .join(m, m.c.id == q.c.message_id)
            .where(q.c.recipient.in_(mine), q.c.state == "pending")
            .order_by(q.c.created_at, q.c.id)
            .limit(list_limit)
        )
        self.pending_of_kind = self.pending.where(q.c.message_type == bindparam("kind"))
        self.count = (
            select(func.count())
            .select_from(q)
            .where(
                q.c.recipient.in_(mine),
                q.c.state == "pending",
                q.c.message_type == bindparam("kind"),
            )
        )
        self.fetch = (
            select(b.c.data, q.c.recipient, m.c.sha256)
            .select_from(q)
            .join(m, m.c.id == q.c.message_id)
            .join(b, b.c.sha256 == m.c.sha256)
            .where(q.c.id == bindparam("doc_id"))
        )
        self.acknowledge = (
            update(q)
            .where(q.c.id == bindparam("doc_id"))
            .values(
                state=bindparam("b_state"),
                acked_at=bindparam("b_now"),
                updated_at=bindparam("b_now"),
            )
            .returning(q.c.recipient)
        )


class HubService:
    """One per app: config read once, one engine, one replay cache."""

    def __init__(self, config: HubConfig, engine: Engine | None = None) -> None:
        self.config = config
        self.engine = engine or (
            prepare_database(config.db_url) if config.migrate else make_engine(config.db_url)
        )
        self.secrets = {s.systemid: s.secret for s in config.systems}
        self.routing = Routing(config.systems, load_directory_opt(config.directory))
        self.replay = ReplayCache(config.replay_cache_size)
        self.zone = ZoneInfo(config.tz)
        self._agencies: list[AgencyInfo] | None = None
        self.registry = AgencyRegistry(self.engine, self.routing)
        self.routes = RouteCache()
        self._resolved: OrderedDict[str, list[tuple[str, str, str | None]]] = OrderedDict()
        self._resolved_lock = threading.Lock()
        self.inline = (
            config.inline_db
            if config.inline_db is not None
            else self.engine.dialect.name == "sqlite"
        )
        self._blob_insert = (
            pg_insert(hub_blobs).on_conflict_do_nothing(index_elements=["sha256"])
            if self.engine.dialect.name == "postgresql"
            else sqlite_insert(hub_blobs).on_conflict_do_nothing(index_elements=["sha256"])
        )
        self._sql = _Statements(config.list_limit)
        self._sorted: dict[str, list[str]] = {}

    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a store call from a handler: inline on SQLite, in the thread pool otherwise.

        SQLite serialises writers anyway and every call here is well under a millisecond
        (a cached route, a primary-key read or write), so inline execution saves two thread
        hand-offs per request (measured: about a third of a round trip on a loaded 2-core
        machine). On PostgreSQL the pool lets requests overlap.
        """
        if self.inline:
            return fn(*args, **kwargs)
        return await run_in_threadpool(fn, *args, **kwargs)

    # --- authentication ------------------------------------------------------------------

    def _now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    def authenticate(
        self, headers: Mapping[str, str], operation: str, body: bytes = b""
    ) -> AuthResult:
        """HMAC, freshness, then replay of *this operation* (see ``replay_scope``)."""
        return check_headers(
            headers,
            self.secrets.get,
            self._now,
            self.replay,
            tz=self.config.tz,
            skew=self.config.skew,
            scope=replay_scope(operation, body),
        )

    def authenticate_signed(
        self, sign_json: str, mac: str, *, remember: bool = True
    ) -> tuple[str, dict[str, str]]:
        """The SOAP face's Auth (HMAC, freshness; replay only when ``remember``)."""
        systemid, params, _when = verify_signed_json(
            sign_json,
            mac,
            self.secrets.get,
            self._now,
            self.replay if remember else None,
            tz=self.config.tz,
            skew=self.config.skew,
        )
        return systemid, params

    def organs(self, systemid: str) -> frozenset[str]:
        return self.routing.organs_of.get(systemid, frozenset())

    def _sorted_organs(self, systemid: str) -> list[str]:
        """``sorted(organs(systemid))``, once per system (a node's 705 districts, every poll)."""
        held = self._sorted.get(systemid)
        if held is None:
            held = self._sorted[systemid] = sorted(self.organs(systemid))
        return held

    # --- send ------------------------------------------------------------------------------

    def send(
        self,
        systemid: str,
        data: bytes,
        *,
        message_type: str,
        mac: str,
        from_param: str | None = None,
        to_param: str | None = None,
        service_type: str = "eDoc",
        digest: str | None = None,
    ) -> str:
        """Check everything, then store message + queue rows in one transaction; → DocId.

        ``digest``: the SHA-256 (hex) of ``data`` when the caller already computed it.
        """
        kind = (message_type or "edoc").strip().lower()
        if kind not in ("edoc", "status"):
            raise refuse(f"messagetype must be edoc or status, not {message_type[:20]!r}")
        digest = digest or hashlib.sha256(data).hexdigest()
        info = self.routes.get(digest, data)
        if info.kind != kind:
            raise refuse(f"messagetype is {kind} but the file is a {info.kind} message")
        mine = self.organs(systemid)
        if info.from_organ not in mine:
            raise refuse(
                f"From/OrganId {info.from_organ} is not one of system {systemid}'s agencies",
                E_FORBIDDEN,
            )
        if from_param and from_param.strip() and from_param.strip() != info.from_organ:
            raise refuse(f"'from' {from_param.strip()[:64]} differs from From/OrganId in the file")
        targets = self._targets(info, parse_to(to_param), digest)
        now = _utcnow()
        message_id = str(uuid.uuid4())
        rows = [
            {
                "id": str(uuid.uuid4()),
                "message_id": message_id,
                "recipient": code,
                "addressed_to": addressed,
                "substituted_from": substituted,
                "from_organ": info.from_organ,
                "message_type": kind,
                "state": "pending",
                "created_at": now,
                "updated_at": now,
                "acked_at": None,
            }
            for code, addressed, substituted in targets
        ]
        try:
            with held.begin(self.engine) as conn:
                blob = {"sha256": digest, "data": data, "size": len(data)}
                lean.execute(conn, self._blob_insert, blob).close()
                lean.execute(
                    conn,
                    self._sql.insert_message,
                    {
                        "id": message_id,
                        "sender_system": systemid,
                        "from_organ": info.from_organ,
                        "message_type": kind,
                        "service_type": (service_type or "eDoc")[:16],
                        "document_id": (info.document_id or None),
                        "title": info.title,
                        "notation": info.notation,
                        "sha256": digest,
                        "size": len(data),
                        "request_mac": mac[:64],
                        "hub_id": self.config.hub_id,
                        "received_at": now,
                    },
                ).close()
                lean.execute_many(conn, self._sql.insert_queue, rows)
        except IntegrityError:
            raise AuthenticationError(
                "replayed request: this signature was already used", error_code=E_AUTH
            ) from None
        return message_id

    def _resolve(self, code: str) -> tuple[str, str, str | None]:
        try:
            res = self.routing.resolve(code)
        except (UnknownOrganError, OrganCodeError):
            raise refuse(f"unknown recipient {code[:80]!r}", E_UNKNOWN_RECIPIENT) from None
        return res.code, code, res.substituted_from

    def _addressed(self, digest: str, info: RouteInfo) -> list[tuple[str, str, str | None]]:
        """Every To resolved, once per content: a fan-out one recipient at a time sends the
        same 705-To document 705 times, and resolving all of them each time is quadratic."""
        with self._resolved_lock:
            cached = self._resolved.get(digest)
        if cached is not None:
            return cached
        addressed = [self._resolve(c) for c in info.recipients]
        with self._resolved_lock:
            self._resolved[digest] = addressed
            while len(self._resolved) > 256:
                self._resolved.popitem(last=False)
        return addressed

    def _targets(
        self, info: RouteInfo, to: Sequence[str], digest: str
    ) -> list[tuple[str, str, str | None]]:
        """(recipient, addressed code, substituted old code) for each recipient, deduplicated."""
        if info.kind == "edoc":
            if not info.recipients:
                raise refuse("the document has no To/OrganId", E_UNKNOWN_RECIPIENT)
            addressed = self._addressed(digest, info)
            if to:
                allowed = {a[0] for a in addressed}
                wanted = [self._resolve(c) for c in to]
                for code, raw, _ in wanted:
                    if code not in allowed:
                        raise refuse(f"'to' {raw} is not among the document's To", E_FORBIDDEN)
                chosen = {w[0] for w in wanted}
                addressed = [a for a in addressed if a[0] in chosen]
        else:
            addressed = [self._resolve(c) for c in (to or info.recipients)]
            if not to and addressed[0][0] == info.from_organ:
                raise refuse("a status message about your own document needs 'to'")
        seen: dict[str, tuple[str, str, str | None]] = {}
        for item in addressed:
            seen.setdefault(item[0], item)
        return list(seen.values())

    # --- receive ---------------------------------------------------------------------------

    def _local(self, when: dt.datetime | None) -> str:
        if when is None:
            return ""
        return when.replace(tzinfo=dt.UTC).astimezone(self.zone).isoformat(timespec="seconds")

    def list_pending(self, systemid: str, message_type: str | None) -> list[dict[str, str]]:
        """``getReceivedEdocList`` rows (SDK field names, never null), hop fields added."""
        mine = self.organs(systemid)
        if not mine:
            return []
        kind = (message_type or "").strip().lower()
        q = self._sql.pending_of_kind if kind in ("edoc", "status") else self._sql.pending
        params = {"mine": self._sorted_organs(systemid), "kind": kind}
        with held.connect(self.engine) as conn:
            rows = conn.execute(q, params).all()
        # rows share few distinct times (a fan-out's rows are written at one instant), and a
        # time-zone conversion per field per row is most of a 1000-row listing's cost
        memo: dict[dt.datetime | None, str] = {}

        def local(when: dt.datetime | None) -> str:
            text = memo.get(when)
            if text is None:
                text = memo[when] = self._local(when)
            return text

        return [
            {
                "docId": r.id,
                "serviceType": r.service_type,
                "messageType": r.message_type,
                "created_time": local(r.created_at),
                "updated_time": local(r.updated_at),
                "from": r.from_organ,
                "to": r.recipient,
                "status": r.state,
                "status_desc": "waiting for the recipient",
                "senderDocId": r.mid,
                "documentId": r.document_id or "",
                "addressedTo": r.addressed_to,
                "substitutedFrom": r.substituted_from or "",
                "hub": r.hub_id,
                "hubTime": local(r.received_at),
                "sha256": r.sha256,  # lets a client skip downloading bytes it already holds
            }
            for r in rows
        ]

    def count_pending(self, systemid: str, message_type: str) -> int:
        mine = self.organs(systemid)
        if not mine:
            return 0
        with held.connect(self.engine) as conn:
            count = conn.execute(
                self._sql.count, {"mine": self._sorted_organs(systemid), "kind": message_type}
            )
            return int(count.scalar_one())

    def fetch(self, systemid: str, doc_id: str) -> bytes:
        """The stored bytes of one queue item of the caller's; refused if it is not theirs."""
        data = self.fetch_unless(systemid, doc_id, None)
        assert data is not None
        return data

    def fetch_unless(self, systemid: str, doc_id: str, known_sha256: str | None) -> bytes | None:
        """Like ``fetch``, but ``None`` when the item's bytes have the SHA-256 the caller
        says it already holds (``known_sha256``, lower-case hex): a node hosting hundreds of
        recipients of one directive then downloads the bytes once, not once per recipient,
        and every copy it stores is provably the one it verified. Same refusals as ``fetch``.
        """
        if not doc_id:
            raise refuse("docId is required")
        with held.connect(self.engine) as conn:
            row = lean.first(conn, self._sql.fetch, {"doc_id": doc_id})
        if row is None or row.recipient not in self.organs(systemid):
            raise refuse(f"no document {doc_id[:64]} in the queue of {systemid}", E_NOT_FOUND)
        if known_sha256 and known_sha256.strip().lower() == row.sha256:
            return None
        return bytes(row.data)

    def acknowledge(self, systemid: str, doc_id: str, status: str) -> None:
        """``updateStatus``: done or fail, either way the item leaves the caller's queue."""
        state = (status or "").strip().lower()
        if state not in ("done", "fail"):
            raise refuse(f"status must be done or fail, not {status[:20]!r}")
        if not doc_id:
            raise refuse("docid is required")
        mine = self.organs(systemid)
        now = _utcnow()
        # One primary-key UPDATE … RETURNING the row's recipient (cheaper than an IN over
        # hundreds of agencies, and no read-then-write transaction, which SQLite fails at
        # once when another writer committed in between); another caller's row is put back
        # by rolling the transaction back before it commits.
        with held.connect(self.engine) as conn:
            with conn.begin() as tx:
                params = {"doc_id": doc_id, "b_state": state, "b_now": now}
                cursor = lean.execute(conn, self._sql.acknowledge, params)
                found = cursor.fetchone()
                cursor.close()
                owner = found[0] if found is not None else None
                if owner is None or owner not in mine:
                    tx.rollback()
                    raise refuse(
                        f"no document {doc_id[:64]} in the queue of {systemid}", E_NOT_FOUND
                    )

    def sent_list(
        self, systemid: str, message_type: str | None, doc_id: str | None = None
    ) -> list[dict[str, str]]:
        """``getSentEdocList``: one row per (message sent by the caller, recipient); only
        those of ``doc_id`` (the ``DocId`` that ``sendEdoc`` answered) when it is given."""
        q = (
            select(
                hub_messages.c.id.label("mid"),
                hub_messages.c.from_organ,
                hub_messages.c.service_type,
                hub_messages.c.message_type,
                hub_messages.c.title,
                hub_messages.c.notation,
                hub_messages.c.received_at,
                hub_queue.c.id.label("qid"),
                hub_queue.c.recipient,
                hub_queue.c.state,
                hub_queue.c.acked_at,
                hub_queue.c.substituted_from,
            )
            .join(hub_queue, hub_queue.c.message_id == hub_messages.c.id)
            .where(hub_messages.c.sender_system == systemid)
            .order_by(hub_messages.c.received_at, hub_queue.c.id)
            .limit(self.config.list_limit * 10)
        )
        kind = (message_type or "").strip().lower()
        if kind in ("edoc", "status"):
            q = q.where(hub_messages.c.message_type == kind)
        if doc_id and doc_id.strip():
            q = q.where(hub_messages.c.id == doc_id.strip())
        with held.connect(self.engine) as conn:
            rows = conn.execute(q).all()
        descs = {"pending": "not yet received", "done": "received", "fail": "receiver failed"}
        return [
            {
                "senderDocId": r.mid,
                "receiverDocId": r.qid,
                "fromCode": r.from_organ,
                "toCode": r.recipient,
                "serviceType": r.service_type,
                "messageType": r.message_type,
                "title": r.title or "",
                "notation": r.notation or "",
                "sentTime": self._local(r.received_at),
                "receivedTime": self._local(r.acked_at),
                "sendStatus": "done",
                "sendStatusDesc": "accepted by the hub",
                "receiveStatus": r.state,
                "receiveStatusDesc": descs.get(r.state, r.state),
                "substitutedFrom": r.substituted_from or "",
            }
            for r in rows
        ]

    def agencies(self) -> list[AgencyInfo]:
        """The directory's agencies, then the systems' agencies it lacks (built once), with
        the registrations (``registerAgency``) applied, read from the store on each call so
        that every worker process lists the same."""
        if self._agencies is None:
            self._agencies = self._build_agencies()
        return self.registry.overlay(list(self._agencies))

    def register_agency(self, auth: AuthResult, body: bytes) -> bool:
        """``registerAgency``: True when new, False when updated; refusals store nothing."""
        fields = parse_registration(auth, body, require_hash=self.config.agency_body_hash)
        return self.registry.register(auth.systemid, fields)

    def delete_agency(self, auth: AuthResult) -> None:
        """``deleteAgency``: only a registration of the caller's own."""
        self.registry.delete(auth.systemid, delete_code(auth))

    def _build_agencies(self) -> list[AgencyInfo]:
        out: list[AgencyInfo] = []
        directory = self.routing.directory
        listed: set[str] = set()
        if directory is not None:
            out.extend(directory.to_agency_list())
            listed.update(a.code for a in out)
        for code in sorted(self.routing.system_organs - listed):
            out.append(AgencyInfo(code=code, name=code))
        return out

    def message_row(self, doc_id: str) -> dict[str, Any] | None:
        """Diagnostics/tests: the stored message behind a queue id (or a message id)."""
        with held.connect(self.engine) as conn:
            row = conn.execute(
                select(hub_messages, hub_blobs.c.data)
                .join(hub_blobs, hub_blobs.c.sha256 == hub_messages.c.sha256)
                .where(
                    (hub_messages.c.id == doc_id)
                    | hub_messages.c.id.in_(
                        select(hub_queue.c.message_id).where(hub_queue.c.id == doc_id)
                    )
                )
            ).first()
        return dict(row._mapping) if row is not None else None

    def close(self) -> None:
        held.release(self.engine)
        self.engine.dispose()
