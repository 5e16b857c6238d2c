"""Incoming status messages: verify, keep every one, move what it is about.

A recipient's answer (01–06, 02 with its reason, 15/16) moves the matching delivery (same
DocumentId, answered by its recipient or the old code it replaced); a sender's recall
request (13) moves our inbox item. Every message is kept with its outcome: ``matched``,
``ignored`` (out of order or late: recorded on the timeline, the state kept),
``unknown-document`` (kept and reported, never dropped) or ``invalid`` (failed
verification). The same bytes twice are stored once.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import namedtuple
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Row, Select, bindparam, or_, select, union_all, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from ..edxml.model import StatusCode, StatusMessage
from ..errors import DeliveryError, InterchangeError, NotEdXMLError
from ..store import held, lean
from ..store.ops import (
    add_events,
    event_row,
    insert_id,
    insert_many,
    sha256_hex,
    update_many_where,
    update_where,
    utcnow,
)
from ..store.tables import deliveries, documents, inbox_items, status_messages
from .codec import Codec
from .lifecycle import IllegalTransitionError, State, apply

log = logging.getLogger(__name__)

Outcome = Literal[
    "stored",
    "refused",
    "duplicate",
    "matched",
    "unknown-document",
    "invalid",
    "ignored",
    "not-ours",
]


@dataclass(frozen=True, slots=True)
class InboxTenant:
    """What the inbox needs to know about one hosted agency."""

    id: int
    organ: str
    auto_accept: bool = True


def store_status(
    engine: Engine,
    codec: Codec,
    tenant: InboxTenant,
    data: bytes,
    *,
    axis_doc_id: str | None = None,
    now: dt.datetime | None = None,
) -> Outcome:
    """Record one incoming status message and move what it is about. Idempotent."""
    now = now or utcnow()
    sha = sha256_hex(data)
    with held.connect(engine) as conn:
        if _kept(conn, [(tenant.id, sha)]):
            return "duplicate"
    try:
        opened = codec.open(data)
        if not isinstance(opened.message, StatusMessage):
            raise NotEdXMLError("a document arrived as a status message")
    except InterchangeError as exc:
        peeked = codec.peek(data)
        sm = peeked if isinstance(peeked, StatusMessage) else None
        row = _status_row(tenant, data, sha, axis_doc_id, now, sm, "invalid", str(exc))
        return _insert_status(engine, row)
    status = opened.message
    timeline: list[dict[str, Any]] = []
    try:
        with held.begin(engine) as conn:
            if status.status_code is StatusCode.RECALL_REQUESTED:
                outcome = _recall_requested(
                    conn, tenant, status, data, sha, axis_doc_id, now, timeline
                )
            else:
                outcome = _update_delivery(
                    conn, tenant, status, data, sha, axis_doc_id, now, timeline
                )
            add_events(conn, timeline)
            return outcome
    except IntegrityError:
        return "duplicate"


def store_statuses(
    engine: Engine,
    codec: Codec,
    entries: Sequence[tuple[InboxTenant, bytes, str | None]],
    *,
    now: dt.datetime | None = None,
) -> list[Outcome]:
    """``store_status`` for several messages, in order, in one transaction.

    The same checks and rows as one by one (a message already kept, or kept earlier in this
    batch, is a duplicate); one commit instead of one per message, one query for what is
    already kept, one for the deliveries answered (``Found``), one statement for the
    timeline. If the batch fails
    (a concurrent writer, a constraint), nothing of it is kept and each message is stored
    on its own with ``store_status``; the caller acknowledges only after this returns.
    """
    now = now or utcnow()
    opened: list[tuple[str, StatusMessage | None, InterchangeError | None]] = []
    for _, data, _ in entries:
        sha = sha256_hex(data)
        try:
            message = codec.open(data).message
            if not isinstance(message, StatusMessage):
                raise NotEdXMLError("a document arrived as a status message")
            opened.append((sha, message, None))
        except InterchangeError as exc:
            opened.append((sha, None, exc))
    timeline: list[dict[str, Any]] = []
    later = Later()
    try:
        with held.begin(engine) as conn:
            keys = [(e[0].id, o[0]) for e, o in zip(entries, opened, strict=True)]
            kept = _kept(conn, keys)
            found = Found.of(
                conn,
                [
                    (e[0].id, o[1])
                    for e, o in zip(entries, opened, strict=True)
                    if o[1] is not None and o[1].status_code is not StatusCode.RECALL_REQUESTED
                ],
            )
            out: list[Outcome] = []
            for (tenant, data, axis_doc_id), (sha, status, err) in zip(
                entries, opened, strict=True
            ):
                if (tenant.id, sha) in kept:
                    out.append("duplicate")
                    continue
                kept.add((tenant.id, sha))
                if status is None:
                    peeked = codec.peek(data)
                    sm = peeked if isinstance(peeked, StatusMessage) else None
                    reason = str(err)
                    _keep(
                        conn,
                        _status_row(tenant, data, sha, axis_doc_id, now, sm, "invalid", reason),
                    )
                    out.append("invalid")
                elif status.status_code is StatusCode.RECALL_REQUESTED:
                    out.append(
                        _recall_requested(
                            conn, tenant, status, data, sha, axis_doc_id, now, timeline
                        )
                    )
                else:
                    out.append(
                        _update_delivery(
                            conn,
                            tenant,
                            status,
                            data,
                            sha,
                            axis_doc_id,
                            now,
                            timeline,
                            found=found,
                            later=later,
                        )
                    )
            later.write(conn)
            add_events(conn, timeline)
            return out
    except (IntegrityError, OperationalError, DeliveryError):
        log.info("status batch of %d failed; storing one by one", len(entries), exc_info=True)
    return [store_status(engine, codec, t, d, axis_doc_id=a, now=now) for t, d, a in entries]


_KEPT = select(status_messages.c.tenant_id, status_messages.c.sha256).where(
    status_messages.c.tenant_id.in_(bindparam("b_tenants", expanding=True)),
    status_messages.c.sha256.in_(bindparam("b_shas", expanding=True)),
)


def _kept(conn: Connection, keys: Sequence[tuple[int, str]]) -> set[tuple[int, str]]:
    """Which (tenant, SHA-256) of these are already kept: one query on the unique index."""
    if not keys:
        return set()
    params = {"b_tenants": sorted({k[0] for k in keys}), "b_shas": sorted({k[1] for k in keys})}
    return {(int(r[0]), str(r[1])) for r in conn.execute(_KEPT, params)}


def _find_statement() -> Select[tuple[Any, ...]]:
    """The delivery a status answers, in one statement: of our document with its DocumentId
    (its dedupe key: the unique index finds it; a query on ``document_id`` let SQLite pick
    the tenant's whole listing index), to its sender or to the agency that replaced the
    sender's old code, the newest if both exist. Each branch is one indexed lookup,
    however many recipients the document has."""
    d = deliveries
    ours = (
        select(documents.c.id)
        .where(
            documents.c.tenant_id == bindparam("b_tenant"),
            documents.c.direction == "out",
            documents.c.dedupe_key == bindparam("b_doc"),
            documents.c.message_type == "edoc",
        )
        .scalar_subquery()
    )
    cols = (d.c.id, d.c.state, d.c.document_pk)
    by_recipient = select(*cols).where(
        d.c.document_pk == ours, d.c.recipient == bindparam("b_code")
    )
    by_substituted = select(*cols).where(
        d.c.document_pk == ours, d.c.substituted_from == bindparam("b_code")
    )
    both = union_all(by_recipient, by_substituted).subquery()
    return select(both).order_by(both.c.id.desc()).limit(1)


_FIND = _find_statement()


def _find_delivery(
    conn: Connection, tenant_id: int, status: StatusMessage
) -> Row[tuple[Any, ...]] | None:
    params = {"b_tenant": tenant_id, "b_doc": status.document_id, "b_code": status.sender}
    return lean.first(conn, _FIND, params)  # type: ignore[no-any-return]


class Found:
    """The deliveries a batch of status messages answers: looked up in one query for the
    whole batch (one per message otherwise), kept current as the batch moves them; a
    message not covered, or whose delivery moved meanwhile, is looked up on its own."""

    def __init__(self, rows: dict[tuple[int, str | None, str], Any] | None = None) -> None:
        self._rows = rows if rows is not None else {}

    @classmethod
    def of(cls, conn: Connection, wanted: Sequence[tuple[int, StatusMessage]]) -> Found:
        if not wanted:
            return cls()
        params = {
            "b_tenants": sorted({t for t, _ in wanted}),
            "b_docs": sorted({m.document_id or "" for _, m in wanted}),
            "b_codes": sorted({m.sender for _, m in wanted}),
        }
        rows: dict[tuple[int, str | None, str], Any] = {}
        for r in conn.execute(_FIND_MANY, params):
            row = _Delivery(r.id, r.state, r.document_pk)
            for code in (r.recipient, r.substituted_from):
                key = (r.tenant_id, r.dedupe_key, code)
                if code and (key not in rows or rows[key].id < row.id):  # the newest
                    rows[key] = row
        return cls({k: rows.get(k) for k in ((t, m.document_id, m.sender) for t, m in wanted)})

    def get(self, conn: Connection, tenant_id: int, status: StatusMessage) -> Any:
        key = (tenant_id, status.document_id, status.sender)
        if key in self._rows and self._rows[key] is not None:
            return self._rows[key]
        return _find_delivery(conn, tenant_id, status)

    def moved(self, tenant_id: int, status: StatusMessage, row: Any, state: str) -> None:
        key = (tenant_id, status.document_id, status.sender)
        if key in self._rows:
            self._rows[key] = _Delivery(row.id, state, row.document_pk)

    def forget(self, tenant_id: int, status: StatusMessage) -> None:
        self._rows.pop((tenant_id, status.document_id, status.sender), None)


class Later:
    """The writes of a status batch, made at its end: the rows of matched messages in one
    statement, and the deliveries moved, each once, guarded by the state the batch found
    it in (a 01 and its 03 in one batch are one UPDATE to the state after 03), in one
    executemany. One round trip for all, not one per message: on PostgreSQL each was a
    tenth of a millisecond of CPU, client and server together.

    A guard that fails means a worker moved the delivery meanwhile (it recorded a send):
    ``DeliveryError``, so the batch is rolled back and stored one message at a time, which
    reads each delivery again."""

    def __init__(self) -> None:
        self.matched: list[dict[str, Any]] = []
        self._moves: dict[int, tuple[str, dict[str, object]]] = {}  # id: (found in, values)

    def move(self, row: Any, values: dict[str, object]) -> None:
        pending = self._moves.get(row.id)
        if pending is None:
            self._moves[row.id] = (row.state, dict(values))
        elif pending[1]["state"] == row.state:  # the next step of the same delivery
            pending[1].update(values)
        else:  # seen in two states (answered under its old code and its new one)
            raise DeliveryError(f"delivery {row.id} was found in two states in one batch")

    def write(self, conn: Connection) -> None:
        changes = [({"id": i, "state": s}, v) for i, (s, v) in self._moves.items()]
        if update_many_where(conn, deliveries, changes) != len(changes):
            raise DeliveryError("a delivery moved while its status batch was stored")
        insert_many(conn, status_messages, self.matched)


_Delivery = namedtuple("_Delivery", "id state document_pk")
_FIND_MANY = (
    select(
        deliveries.c.id,
        deliveries.c.state,
        deliveries.c.document_pk,
        deliveries.c.recipient,
        deliveries.c.substituted_from,
        documents.c.tenant_id,
        documents.c.dedupe_key,
    )
    .join(documents, documents.c.id == deliveries.c.document_pk)
    .where(
        documents.c.tenant_id.in_(bindparam("b_tenants", expanding=True)),
        documents.c.direction == "out",
        documents.c.dedupe_key.in_(bindparam("b_docs", expanding=True)),
        documents.c.message_type == "edoc",
        or_(
            deliveries.c.recipient.in_(bindparam("b_codes", expanding=True)),
            deliveries.c.substituted_from.in_(bindparam("b_codes", expanding=True)),
        ),
    )
)


def _update_delivery(
    conn: Connection,
    tenant: InboxTenant,
    status: StatusMessage,
    data: bytes,
    sha: str,
    axis_doc_id: str | None,
    now: dt.datetime,
    timeline: list[dict[str, Any]],
    *,
    found: Found | None = None,
    later: Later | None = None,
) -> Outcome:
    """``later``: where a batch collects its writes, to make them at its end."""
    found = found or Found()
    for _ in range(5):  # the delivery may move under us (a worker records its send)
        outcome = _try_update_delivery(
            conn, tenant, status, data, sha, axis_doc_id, now, timeline, found, later
        )
        if outcome is not None:
            return outcome
    raise DeliveryError(f"delivery for {status.document_id} keeps changing; try again")


def _try_update_delivery(
    conn: Connection,
    tenant: InboxTenant,
    status: StatusMessage,
    data: bytes,
    sha: str,
    axis_doc_id: str | None,
    now: dt.datetime,
    timeline: list[dict[str, Any]],
    found: Found,
    later: Later | None,
) -> Outcome | None:
    d = deliveries
    row = found.get(conn, tenant.id, status)
    if row is None:
        unknown = "no delivery of this document to this sender"
        _keep(
            conn,
            _status_row(tenant, data, sha, axis_doc_id, now, status, "unknown-document", unknown),
        )
        log.warning(
            "status %s from %s for unknown document %s",
            status.status_code.value,
            status.sender,
            status.document_id,
        )
        return "unknown-document"
    code = status.status_code
    try:
        new = apply(State(row.state), code)
    except IllegalTransitionError as exc:
        sid = _keep(
            conn,
            _status_row(
                tenant, data, sha, axis_doc_id, now, status, "ignored", str(exc), delivery_id=row.id
            ),
        )
        detail = f"{exc} (status message {sid})"
        timeline.append(
            _delivery_event(tenant, row, status, row.state, detail, now, event="status-ignored")
        )
        return "ignored"
    values: dict[str, object] = {
        "state": new.value,
        "updated_at": now,
        "lease_owner": None,
        "lease_until": None,
    }
    if code in (StatusCode.REFUSED, StatusCode.CHANGE_REFUSED, StatusCode.CHANGE_ACCEPTED):
        values["reason"] = status.description
    if later is not None:
        later.move(row, values)
    elif update_where(conn, d, {"id": row.id, "state": row.state}, values) != 1:
        found.forget(tenant.id, status)  # moved meanwhile: read it again
        return None
    found.moved(tenant.id, status, row, new.value)
    matched = _status_row(
        tenant, data, sha, axis_doc_id, now, status, "matched", None, delivery_id=row.id
    )
    if later is None:
        _keep(conn, matched)
    else:
        later.matched.append(matched)
    timeline.append(
        _delivery_event(tenant, row, status, new.value, status.description, now, event="status")
    )
    return "matched"


def _delivery_event(
    tenant: InboxTenant,
    row: Any,
    status: StatusMessage,
    to_state: str,
    detail: str | None,
    now: dt.datetime,
    *,
    event: str,
) -> dict[str, Any]:
    """The timeline row of a status message applied to (or ignored by) a delivery."""
    return event_row(
        tenant_id=tenant.id,
        event=event,
        at=now,
        document_pk=row.document_pk,
        delivery_id=row.id,
        from_state=row.state,
        to_state=to_state,
        status_code=status.status_code.value,
        hop=status.sender,
        detail=detail,
    )


def _recall_requested(
    conn: Connection,
    tenant: InboxTenant,
    status: StatusMessage,
    data: bytes,
    sha: str,
    axis_doc_id: str | None,
    now: dt.datetime,
    timeline: list[dict[str, Any]],
) -> Outcome:
    i = inbox_items
    row = conn.execute(
        select(i.c.id, i.c.state, i.c.document_pk)
        .join(documents, documents.c.id == i.c.document_pk)
        .where(
            documents.c.tenant_id == tenant.id,
            documents.c.direction == "in",
            documents.c.sender == status.sender,
            documents.c.document_id == status.document_id,
            i.c.valid.is_(True),
        )
    ).first()
    if row is None:
        unknown = "no such document received"
        _keep(
            conn,
            _status_row(tenant, data, sha, axis_doc_id, now, status, "unknown-document", unknown),
        )
        return "unknown-document"
    try:
        new = apply(State(row.state), StatusCode.RECALL_REQUESTED)
    except IllegalTransitionError as exc:
        _keep(
            conn,
            _status_row(
                tenant, data, sha, axis_doc_id, now, status, "ignored", str(exc), item_id=row.id
            ),
        )
        return "ignored"
    conn.execute(
        update(i)
        .where(i.c.id == row.id, i.c.state == row.state)
        .values(state=new.value, reason=status.description)
    )
    _keep(
        conn,
        _status_row(tenant, data, sha, axis_doc_id, now, status, "matched", None, item_id=row.id),
    )
    timeline.append(
        event_row(
            tenant_id=tenant.id,
            event="recall-requested",
            at=now,
            document_pk=row.document_pk,
            inbox_item_id=row.id,
            from_state=row.state,
            to_state=new.value,
            status_code=StatusCode.RECALL_REQUESTED.value,
            hop=status.sender,
            detail=status.description,
        )
    )
    return "matched"


def _insert_status(engine: Engine, row: dict[str, Any]) -> Outcome:
    """Keep one message on its own (``row["outcome"]``), or "duplicate" if already kept."""
    try:
        with engine.begin() as conn:
            _keep(conn, row)
    except IntegrityError:
        return "duplicate"
    outcome: Outcome = row["outcome"]
    return outcome


def _keep(conn: Connection, row: dict[str, Any]) -> int:
    """Insert one ``status_messages`` row (``_status_row``); its id."""
    return int(insert_id(conn, status_messages, row))


def _status_row(
    tenant: InboxTenant,
    data: bytes,
    sha: str,
    axis_doc_id: str | None,
    now: dt.datetime,
    status: StatusMessage | None,
    outcome: Outcome,
    error: str | None,
    *,
    delivery_id: int | None = None,
    item_id: int | None = None,
) -> dict[str, Any]:
    """The ``status_messages`` row of one message as it was received."""
    ts = status.timestamp if status else None
    return dict(
        tenant_id=tenant.id,
        sender=status.sender if status else None,
        document_id=status.document_id if status else None,
        response_organ=status.response_for.organ_id if status else None,
        status_code=status.status_code.value if status else None,
        description=status.description if status else None,
        timestamp=ts.replace(tzinfo=None) if isinstance(ts, dt.datetime) else None,
        data=data,
        sha256=sha,
        axis_doc_id=axis_doc_id,
        delivery_id=delivery_id,
        inbox_item_id=item_id,
        outcome=outcome,
        error=error,
        received_at=now,
    )
