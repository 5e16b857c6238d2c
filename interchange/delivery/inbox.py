"""The inbox: list → fetch → verify and read → store → acknowledge, in that order.

Nothing is acknowledged to the axis before the transaction that stores it has committed, so
a crash anywhere leaves the item in the axis queue; on replay the unique keys recognise what
was already stored (same sender + DocumentId, or the same bytes for a refused document or a
status message) and it is only acknowledged again.

Answers (01 automatically, 03 per tenant policy, 02 with the reason for an invalid document)
are queued in the same transaction and sent by the outbox, with its retries.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from adapters.base import Axis, PendingItem

from ..edxml.model import EdocMessage, ResponseFor, StatusCode, StatusMessage
from ..errors import InterchangeError, NotEdXMLError
from ..store import held, lean
from ..store.blobs import put_blob
from ..store.ops import add_event, add_events, event_row, insert_id, sha256_hex, utcnow
from ..store.tables import documents, inbox_items
from .codec import Codec, Opened, report_json
from .lifecycle import State, apply
from .outbox import queue_status_in
from .statuses import InboxTenant, Outcome, store_status, store_statuses

__all__ = ["Inbox", "InboxTenant", "Outcome", "PollResult", "response_for"]

log = logging.getLogger(__name__)

STATUS_BATCH = 50
"""Status messages stored per transaction (short enough not to hold SQLite's write lock long)."""

AHEAD = 4
"""Documents fetched and verified ahead of the store, per inbox thread."""


@dataclass
class PollResult:
    outcomes: list[tuple[str, Outcome]] = field(default_factory=list)

    def count(self, outcome: Outcome) -> int:
        return sum(1 for _, o in self.outcomes if o == outcome)


class Verdicts:
    """Verification verdicts per SHA-256 of the bytes, for one poll pass.

    A directive to hundreds of hosted districts arrives as hundreds of byte-identical
    copies (one queue item per recipient). Verifying (and parsing) each copy again costs
    milliseconds per copy for nothing: the verdict is a function of the bytes, the codec's
    policy (fixed for the node) and the time of verification. So the first copy of a digest
    is opened and every other copy of the *same digest* in the *same pass* reuses that
    verdict (the opened message, or the refusal): each copy is either verified or provably
    identical (same SHA-256) to one verified moments before under the same policy. The cache
    lives for one pass only (seconds), so a certificate or CRL that changes is seen on the
    next pass, as it would be without the cache. Concurrent threads wait for the first one.
    """

    def __init__(self, codec: Codec) -> None:
        self._codec = codec
        self._lock = threading.Lock()
        self._futures: dict[str, Future[Opened]] = {}
        self._texts: dict[int, tuple[EdocMessage, str]] = {}

    def recipients_text(self, msg: EdocMessage) -> str:
        """``" ".join(msg.recipients)``, once per message object of this pass (the copies
        of a fan-out share one; joining a 705-code To list 705 times adds up)."""
        with self._lock:
            held = self._texts.get(id(msg))
            if held is not None and held[0] is msg:  # the entry keeps msg alive: id is unique
                return held[1]
            text = " ".join(msg.recipients)
            self._texts[id(msg)] = (msg, text)
        return text

    def open(self, sha: str, data: bytes) -> Opened:
        with self._lock:
            fut = self._futures.get(sha)
            mine = fut is None
            if fut is None:
                fut = self._futures[sha] = Future()
        if mine:
            try:
                fut.set_result(self._codec.open(data))
            except BaseException as exc:  # the refusal is the verdict, shared like a success
                fut.set_exception(exc)
        return fut.result()


_RECEIVED = select(documents.c.id).where(
    documents.c.tenant_id == bindparam("b_tenant"),
    documents.c.direction == "in",
    documents.c.dedupe_key == bindparam("b_key"),
)


def response_for(message: EdocMessage) -> ResponseFor:
    header = message.header
    return ResponseFor(
        organ_id=header.from_.organ_id,
        code=str(header.code),
        promulgation_date=header.promulgation_info.date,
        document_id=header.document_id,
    )


class Inbox:
    """Receives for the tenants that share one axis connection."""

    def __init__(
        self,
        engine: Engine,
        axis: Axis,
        codec: Codec,
        tenants: Mapping[str, InboxTenant],
        *,
        clock: Callable[[], dt.datetime] = utcnow,
        threads: int = 1,
    ) -> None:
        self.threads = max(1, threads)
        self.engine = engine
        self.axis = axis
        self.codec = codec
        self.tenants = dict(tenants)
        self.clock = clock
        self._verdicts: Verdicts | None = None  # set for the duration of one poll()
        # one pool for the inbox's life: its threads keep their per-thread caches (compiled
        # schemas) from one pass to the next
        self._pool: ThreadPoolExecutor | None = None
        self._ack_pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    def _executor(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="inbox")
            return self._pool

    def _acker(self) -> ThreadPoolExecutor:
        """Threads that acknowledge stored documents (apart: fetches queue on ``_pool``)."""
        with self._pool_lock:
            if self._ack_pool is None:
                self._ack_pool = ThreadPoolExecutor(
                    max(1, self.threads // 2), thread_name_prefix="inbox-ack"
                )
            return self._ack_pool

    def close(self) -> None:
        """Stop the inbox's threads (after the current pass)."""
        with self._pool_lock:
            pools, self._pool, self._ack_pool = (self._pool, self._ack_pool), None, None
        for pool in pools:
            if pool is not None:
                pool.shutdown(wait=True)

    # --- the loop ------------------------------------------------------------------------

    def poll(self) -> PollResult:
        """One pass: every pending document, then every pending status message.

        Documents are independent of each other and may be handled by several threads
        (fetching, verifying and acknowledging wait on the network); status messages are
        applied one by one, in the order the axis lists them.
        """
        result = PollResult()
        self._verdicts = Verdicts(self.codec)
        try:
            self._poll(result)
        finally:
            self._verdicts = None
        return result

    def _poll(self, result: PollResult) -> None:
        for message_type in ("edoc", "status"):
            try:
                pending = self.axis.list_pending(message_type)  # type: ignore[arg-type]
            except InterchangeError as exc:
                log.warning("inbox: cannot list %s: %s", message_type, exc)
                continue
            parallel = self.threads > 1 and len(pending) > 1
            if message_type == "status" and parallel:
                done = self._statuses(pending)
            elif parallel:
                done = self._documents(pending)
            else:
                done = [self._handle_logged(item) for item in pending]
            result.outcomes.extend(
                (item.doc_id, outcome)
                for item, outcome in zip(pending, done, strict=True)
                if outcome is not None
            )

    def _documents(self, pending: list[PendingItem]) -> list[Outcome | None]:
        """Documents as a pipeline: fetch and verify ahead on the pool, store here one by
        one, acknowledge behind on the acknowledging threads.

        One thread writes: several threads storing at once only queue on the database's
        write lock (SQLite's busy wait sleeps), and nobody waits for an acknowledgement's
        round trip before the next document. Each acknowledgement is still sent only after
        its own document's transaction committed. At most ``AHEAD`` per thread are fetched
        ahead of the store (a pass may list a thousand large documents).
        """
        pool, acker = self._executor(), self._acker()
        window = AHEAD * self.threads
        fetches: dict[int, Future[bytes | None]] = {}
        acks: list[tuple[int, Future[bool]]] = []
        done: list[Outcome | None] = []
        for i, item in enumerate(pending):
            for j in range(i, min(i + window, len(pending))):
                if j not in fetches:
                    fetches[j] = pool.submit(self._prefetch_logged, pending[j])
            data = fetches.pop(i).result()
            outcome = None if data is None else self._handle_logged(item, data, ack=False)
            done.append(outcome)
            if outcome is not None and outcome != "not-ours":
                acks.append((i, acker.submit(self._ack_logged, item)))
        for i, fut in acks:
            if not fut.result():
                done[i] = None  # left in the axis queue: a duplicate next pass
        return done

    def _statuses(self, pending: list[PendingItem]) -> list[Outcome | None]:
        """Status messages: fetch and verify in parallel, apply in list order, then ack.

        Applying stays sequential and in the axis's order (01 before 03 of one delivery);
        only the waiting (fetch, acknowledge) and the verification, whose verdict is kept
        in this pass's ``Verdicts``, overlap. Each acknowledgement still follows the commit
        of its own item; an item whose fetch or acknowledgement fails stays in the axis queue
        and is recognised as a duplicate next pass.
        """
        pool = self._executor()
        fetched = list(pool.map(self._prefetch_logged, pending))
        done: list[Outcome | None] = []
        pairs = list(zip(pending, fetched, strict=True))
        for start in range(0, len(pairs), STATUS_BATCH):
            done.extend(self._store_status_batch(pairs[start : start + STATUS_BATCH]))
        acks = [
            (i, item)
            for i, (item, outcome) in enumerate(zip(pending, done, strict=True))
            if outcome is not None and outcome != "not-ours"
        ]
        oks = list(pool.map(self._ack_logged, [a[1] for a in acks]))
        for (i, _), ok in zip(acks, oks, strict=True):
            if not ok:
                done[i] = None
        return done

    def _store_status_batch(
        self, chunk: list[tuple[PendingItem, bytes | None]]
    ) -> list[Outcome | None]:
        """Store fetched status messages in one transaction (``store_statuses``), in order."""
        out: list[Outcome | None] = [None] * len(chunk)
        entries: list[tuple[InboxTenant, bytes, str | None]] = []
        owners: list[int] = []  # chunk index of each entry
        for i, (item, data) in enumerate(chunk):
            if data is None:
                continue
            targets = self._tenants_for(item, data)
            if not targets:
                log.warning("inbox: %s is for %s, not hosted here", item.doc_id, item.to_organ)
                out[i] = "not-ours"
            for tenant in targets:
                entries.append((tenant, data, item.doc_id))
                owners.append(i)
        if not entries:
            return out
        verdicts = self._verdicts
        codec: Codec = self.codec if verdicts is None else _VerdictCodec(self.codec, verdicts)
        try:
            stored = store_statuses(self.engine, codec, entries, now=self.clock())
        except Exception:  # not acknowledged, so not lost: tried again next pass
            log.exception("inbox: %d status messages left in the queue", len(entries))
            return [o if o == "not-ours" else None for o in out]
        for i, outcome in zip(owners, stored, strict=True):
            if out[i] is None:  # an item's outcome is that of its first hosted recipient
                out[i] = outcome
        return out

    def _prefetch_logged(self, item: PendingItem) -> bytes | None:
        try:
            data = self.axis.fetch(item.doc_id)
        except InterchangeError as exc:
            log.warning("inbox: %s: %s", item.doc_id, exc)
            return None
        except Exception:
            log.exception("inbox: fetching %s failed", item.doc_id)
            return None
        if self._verdicts is not None:
            try:  # verify now, in parallel; the verdict (either way) is kept for the apply
                self._verdicts.open(sha256_hex(data), data)
            except Exception:  # noqa: S110 - the same verdict is raised again when applied
                pass
        return data

    def _ack_logged(self, item: PendingItem) -> bool:
        try:
            self.axis.acknowledge(item.doc_id, ok=True)
        except InterchangeError as exc:  # stays in the queue: a duplicate next pass
            log.warning("inbox: acknowledging %s: %s", item.doc_id, exc)
            return False
        except Exception:
            log.exception("inbox: acknowledging %s failed", item.doc_id)
            return False
        return True

    def _handle_logged(
        self, item: PendingItem, data: bytes | None = None, *, ack: bool = True
    ) -> Outcome | None:
        try:
            return self.handle(item, data, ack=ack)
        except InterchangeError as exc:  # left in the queue: tried again next pass
            log.warning("inbox: %s: %s", item.doc_id, exc)
            return None
        except Exception:  # a database hiccup or a bug: not acknowledged, so not lost
            log.exception("inbox: %s left in the queue", item.doc_id)
            return None

    def handle(self, item: PendingItem, data: bytes | None = None, *, ack: bool = True) -> Outcome:
        """Fetch, store (for each hosted recipient), and only then acknowledge one item.

        ``data``: the bytes, when already fetched; ``ack=False``: the caller acknowledges
        (after this returns, i.e. after the commit).
        """
        if data is None:
            data = self.axis.fetch(item.doc_id)
        targets = self._tenants_for(item, data)
        if not targets:
            log.warning("inbox: %s is for %s, not hosted here", item.doc_id, item.to_organ)
            return "not-ours"
        outcomes = []
        for tenant in targets:
            if item.message_type == "status":
                outcomes.append(self.store_status(tenant, data, axis_doc_id=item.doc_id))
            else:
                outcomes.append(self.store_document(tenant, data, axis_doc_id=item.doc_id))
        if ack:  # only now, after the commit
            self.axis.acknowledge(item.doc_id, ok=True)
        return outcomes[0]

    def _tenants_for(self, item: PendingItem, data: bytes) -> list[InboxTenant]:
        """The hosted agencies an item is for: its queue's agency, else what the file names."""
        if item.to_organ in self.tenants:
            return [self.tenants[item.to_organ]]
        if len(self.tenants) == 1 and not item.to_organ:
            return list(self.tenants.values())
        msg = self.codec.peek(data)
        if isinstance(msg, EdocMessage):
            named = list(msg.recipients)
        elif isinstance(msg, StatusMessage):
            named = [msg.response_for.organ_id]
        else:
            named = []
        return [self.tenants[c] for c in dict.fromkeys(named) if c in self.tenants]

    # --- documents -----------------------------------------------------------------------

    def store_document(
        self, tenant: InboxTenant, data: bytes, *, axis_doc_id: str | None = None
    ) -> Outcome:
        """Verify and store one incoming document; queue its answers. Idempotent."""
        now = self.clock()
        sha = sha256_hex(data)
        try:
            verdicts = self._verdicts
            opened = verdicts.open(sha, data) if verdicts is not None else self.codec.open(data)
            if not isinstance(opened.message, EdocMessage):
                raise NotEdXMLError("a status message arrived as a document")
        except InterchangeError as exc:
            return self._store_refused(tenant, data, sha, exc, axis_doc_id, now)
        msg = opened.message
        key = f"{msg.sender}|{msg.document_id}"
        b = msg.bussiness
        state = State.ARRIVED
        final = apply(state, StatusCode.ACCEPTED) if tenant.auto_accept else state
        rf = response_for(msg)
        timeline: list[dict[str, Any]] = []
        try:
            with held.begin(self.engine) as conn:
                # Read first, sign, then write: on SQLite the write lock is taken at the
                # first INSERT, so signing (the slow part) never holds it; on PostgreSQL
                # the unique key settles a race with another worker.
                if lean.first(conn, _RECEIVED, {"b_tenant": tenant.id, "b_key": key}):
                    return "duplicate"
                arrived = self.codec.sign_status(tenant.organ, rf, StatusCode.ARRIVED, None)
                accepted = (
                    self.codec.sign_status(tenant.organ, rf, StatusCode.ACCEPTED, None)
                    if tenant.auto_accept
                    else None
                )
                doc_pk = self._insert_doc(
                    conn,
                    tenant,
                    key,
                    msg,
                    data,
                    sha,
                    axis_doc_id,
                    now,
                    kind=_kind_of(opened.payload),
                    payload_kind=_payload_kind(opened.payload),
                    bussiness_type=int(b.doc_type) if b else 0,
                    original=b.document_id if b and int(b.doc_type) != 0 else None,
                )
                item_id = self._insert_item(
                    conn, tenant, doc_pk, final, True, report_json(opened.report), None, None, now
                )
                timeline.append(
                    event_row(
                        tenant_id=tenant.id,
                        event="received",
                        at=now,
                        document_pk=doc_pk,
                        inbox_item_id=item_id,
                        to_state=state.value,
                        status_code=StatusCode.ARRIVED.value,
                        hop=msg.sender,
                        detail=f"axis DocId {axis_doc_id}" if axis_doc_id else None,
                    )
                )
                self._queue(conn, tenant, msg, StatusCode.ARRIVED, None, now, arrived, timeline)
                if accepted is not None:
                    timeline.append(
                        event_row(
                            tenant_id=tenant.id,
                            event="accepted",
                            at=now,
                            document_pk=doc_pk,
                            inbox_item_id=item_id,
                            from_state=state.value,
                            to_state=final.value,
                            status_code=StatusCode.ACCEPTED.value,
                            hop=tenant.organ,
                            detail="accepted automatically (tenant policy)",
                        )
                    )
                    self._queue(
                        conn, tenant, msg, StatusCode.ACCEPTED, None, now, accepted, timeline
                    )
                add_events(conn, timeline)
        except IntegrityError:  # another worker stored it first
            return "duplicate"
        return "stored"

    def _store_refused(
        self,
        tenant: InboxTenant,
        data: bytes,
        sha: str,
        exc: InterchangeError,
        axis_doc_id: str | None,
        now: dt.datetime,
    ) -> Outcome:
        key = f"sha256:{sha}"
        if self._exists(tenant.id, key):
            return "duplicate"
        peeked = self.codec.peek(data)
        msg = peeked if isinstance(peeked, EdocMessage) else None
        reason = str(exc) or type(exc).__name__
        refusal = (
            self.codec.sign_status(tenant.organ, response_for(msg), StatusCode.REFUSED, reason)
            if msg is not None
            else None
        )
        try:
            with self.engine.begin() as conn:
                doc_pk = self._insert_doc(
                    conn,
                    tenant,
                    key,
                    msg,
                    data,
                    sha,
                    axis_doc_id,
                    now,
                    kind="other",
                    payload_kind=None,
                )
                item_id = self._insert_item(
                    conn, tenant, doc_pk, State.REFUSED, False, None, exc.code, reason, now
                )
                add_event(
                    conn,
                    tenant_id=tenant.id,
                    event="refused",
                    at=now,
                    document_pk=doc_pk,
                    inbox_item_id=item_id,
                    to_state=State.REFUSED.value,
                    status_code=StatusCode.REFUSED.value,
                    hop=msg.sender if msg else None,
                    detail=reason,
                )
                if msg is not None:
                    assert refusal is not None
                    self._queue(conn, tenant, msg, StatusCode.REFUSED, reason, now, refusal)
        except IntegrityError:
            return "duplicate"
        return "refused"

    def _exists(self, tenant_id: int, key: str) -> bool:
        with held.connect(self.engine) as conn:
            row = conn.execute(_RECEIVED, {"b_tenant": tenant_id, "b_key": key}).first()
        return row is not None

    def _insert_doc(
        self,
        conn: Connection,
        tenant: InboxTenant,
        key: str,
        msg: EdocMessage | None,
        data: bytes,
        sha: str,
        axis_doc_id: str | None,
        now: dt.datetime,
        *,
        kind: str,
        payload_kind: str | None,
        bussiness_type: int = 0,
        original: str | None = None,
    ) -> int:
        h = msg.header if msg else None
        # the bytes once per SHA-256: a fan-out to many hosted tenants keeps a single copy
        put_blob(conn, sha, data)
        return int(
            insert_id(
                conn,
                documents,
                dict(
                    tenant_id=tenant.id,
                    direction="in",
                    message_type="edoc",
                    dedupe_key=key,
                    document_id=msg.document_id if msg else None,
                    sender=msg.sender if msg else None,
                    recipients=self._recipients_text(msg) if msg else "",
                    kind=kind,
                    subject=h.subject if h else None,
                    code=str(h.code) if h else None,
                    due_date=h.due_date if h else None,
                    bussiness_type=bussiness_type,
                    original_document_id=original,
                    payload_kind=payload_kind,
                    data=None,  # in document_blobs (store.blobs.document_bytes reads it)
                    sha256=sha,
                    axis_doc_id=axis_doc_id,
                    created_at=now,
                ),
            )
        )

    def _recipients_text(self, msg: EdocMessage) -> str:
        verdicts = self._verdicts
        return verdicts.recipients_text(msg) if verdicts else " ".join(msg.recipients)

    def _insert_item(
        self,
        conn: Connection,
        tenant: InboxTenant,
        doc_pk: int,
        state: State,
        valid: bool,
        verification: str | None,
        error_code: str | None,
        reason: str | None,
        now: dt.datetime,
    ) -> int:
        return int(
            insert_id(
                conn,
                inbox_items,
                dict(
                    tenant_id=tenant.id,
                    document_pk=doc_pk,
                    state=state.value,
                    valid=valid,
                    verification=verification,
                    error_code=error_code,
                    reason=reason,
                    received_at=now,
                    decided_at=now if state is not State.ARRIVED else None,
                ),
            )
        )

    def _queue(
        self,
        conn: Connection,
        tenant: InboxTenant,
        msg: EdocMessage,
        code: StatusCode,
        reason: str | None,
        now: dt.datetime,
        data: bytes,
        timeline: list[dict[str, Any]] | None = None,
    ) -> None:
        queue_status_in(
            conn,
            tenant_id=tenant.id,
            sender=tenant.organ,
            data=data,
            document_id=msg.document_id,
            recipient=msg.sender,
            code=code,
            description=reason,
            now=now,
            timeline=timeline,
        )

    # --- status messages -----------------------------------------------------------------

    def store_status(
        self, tenant: InboxTenant, data: bytes, *, axis_doc_id: str | None = None
    ) -> Outcome:
        """Record one incoming status message and move what it is about. Idempotent."""
        verdicts = self._verdicts
        codec: Codec = self.codec if verdicts is None else _VerdictCodec(self.codec, verdicts)
        return store_status(
            self.engine, codec, tenant, data, axis_doc_id=axis_doc_id, now=self.clock()
        )


class _VerdictCodec:
    """A codec whose ``open`` answers from this pass's ``Verdicts`` (see there)."""

    def __init__(self, codec: Codec, verdicts: Verdicts) -> None:
        self._codec = codec
        self._verdicts = verdicts

    def open(self, data: bytes) -> Opened:
        return self._verdicts.open(sha256_hex(data), data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._codec, name)


def _kind_of(payload: object) -> str:
    kind = getattr(payload, "kind", None)
    if kind is None:
        return "other"
    return str(getattr(kind, "value", kind))


def _payload_kind(payload: object) -> str | None:
    return None if payload is None else type(payload).__name__
