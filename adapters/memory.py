"""``MemoryHub`` + ``MemoryAxis``: the hub's semantics in-process, for unit tests of delivery.

Same rules as the embedded hub (AXIS.md §3): routing by ``To/OrganId`` (status messages to
``ResponseFor/OrganId``, or to ``to_organ``), one queue per recipient agency, a caller sees
only its own agencies' queues, ``acknowledge`` removes the item, ``From`` must be one of the
caller's agencies, an unknown recipient is refused with nothing queued. Bytes are kept as
given. Knobs: ``fail_next(n)`` makes the next ``n`` calls raise ``TransportError``;
``down = True`` makes every call raise it until reset.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from interchange.errors import RefusedError, TransportError

from .base import AgencyInfo, MessageType, PendingItem, SendReceipt

Router = Callable[[bytes], tuple[MessageType, str, tuple[str, ...]]]


def edxml_router(data: bytes) -> tuple[MessageType, str, tuple[str, ...]]:
    """(kind, From, recipients) read with the project's edXML reader."""
    from interchange.edxml.model import EdocMessage
    from interchange.edxml.read import read_message
    from interchange.errors import FormatError

    try:
        msg = read_message(data)
    except FormatError as exc:
        raise RefusedError(f"not a readable edXML message: {exc}", error_code="400") from None
    if isinstance(msg, EdocMessage):
        return "edoc", msg.sender, msg.recipients
    return "status", msg.sender, (msg.response_for.organ_id,)


@dataclass
class _Item:
    doc_id: str
    message_type: MessageType
    from_organ: str
    to_organ: str
    data: bytes
    substituted_from: str | None = None
    state: str = "pending"


@dataclass
class _Sent:
    doc_id: str
    systemid: str
    data: bytes
    message_type: MessageType
    recipients: tuple[str, ...] = field(default_factory=tuple)


class MemoryHub:
    """Thread-safe in-process hub. ``renames`` maps old codes to their successors."""

    def __init__(
        self,
        *,
        known: Iterable[str] = (),
        renames: dict[str, str] | None = None,
        router: Router | None = None,
    ) -> None:
        self._lock = threading.RLock()
        self._organs: dict[str, set[str]] = {}
        self._known: set[str] = set(known)
        self._renames = dict(renames or {})
        self._router = router or edxml_router
        self._items: dict[str, _Item] = {}
        self._ids = itertools.count(1)
        self._fail = 0
        self.down = False
        self.sent: list[_Sent] = []
        self.calls = 0

    # --- knobs -----------------------------------------------------------------------------

    def fail_next(self, n: int = 1) -> None:
        with self._lock:
            self._fail = n

    def register(self, systemid: str, organs: Iterable[str]) -> None:
        with self._lock:
            self._organs.setdefault(systemid, set()).update(organs)
            self._known.update(organs)

    def _gate(self) -> None:
        with self._lock:
            self.calls += 1
            if self.down:
                raise TransportError("memory hub is down")
            if self._fail > 0:
                self._fail -= 1
                raise TransportError("memory hub: injected failure")

    # --- operations (called by MemoryAxis) ----------------------------------------------------

    def send(
        self, systemid: str, data: bytes, message_type: MessageType, from_organ: str, to: str | None
    ) -> str:
        self._gate()
        kind, sender, recipients = self._router(data)
        with self._lock:
            if kind != message_type:
                raise RefusedError(
                    f"message_type {message_type} but the file is {kind}", error_code="400"
                )
            mine = self._organs.get(systemid, set())
            if sender not in mine or from_organ != sender:
                raise RefusedError(
                    f"From {sender} is not one of {systemid}'s agencies", error_code="403"
                )
            targets = [to] if to else list(recipients)
            resolved: dict[str, str | None] = {}
            for code in targets:
                new = self._renames.get(code, code)
                if new not in self._known:
                    raise RefusedError(f"unknown recipient {code}", error_code="422")
                resolved.setdefault(new, code if new != code else None)
            doc_id = f"m{next(self._ids)}"
            for code, old in resolved.items():
                qid = f"q{next(self._ids)}"
                self._items[qid] = _Item(qid, kind, sender, code, bytes(data), old)
            self.sent.append(_Sent(doc_id, systemid, bytes(data), kind, tuple(resolved)))
            return doc_id

    def pending(self, systemid: str, message_type: MessageType) -> list[PendingItem]:
        self._gate()
        with self._lock:
            mine = self._organs.get(systemid, set())
            return [
                PendingItem(i.doc_id, i.message_type, i.from_organ, i.to_organ, status=i.state)
                for i in self._items.values()
                if i.state == "pending" and i.to_organ in mine and i.message_type == message_type
            ]

    def _mine(self, systemid: str, doc_id: str) -> _Item:
        item = self._items.get(doc_id)
        if item is None or item.to_organ not in self._organs.get(systemid, set()):
            raise RefusedError(f"no document {doc_id} in the queue of {systemid}", error_code="404")
        return item

    def fetch(self, systemid: str, doc_id: str) -> bytes:
        self._gate()
        with self._lock:
            return self._mine(systemid, doc_id).data

    def acknowledge(self, systemid: str, doc_id: str, ok: bool) -> None:
        self._gate()
        with self._lock:
            self._mine(systemid, doc_id).state = "done" if ok else "fail"

    def agencies(self) -> list[AgencyInfo]:
        self._gate()
        with self._lock:
            olds = {new: old for old, new in self._renames.items()}
            return [AgencyInfo(code=c, name=c, old_code=olds.get(c)) for c in sorted(self._known)]

    def queue_of(self, organ: str) -> list[str]:
        """Test helper: pending docIds of one agency."""
        with self._lock:
            return [
                i.doc_id
                for i in self._items.values()
                if i.to_organ == organ and i.state == "pending"
            ]

    def substituted(self, doc_id: str) -> str | None:
        with self._lock:
            return self._items[doc_id].substituted_from


class MemoryAxis:
    """One system's view of a ``MemoryHub`` (implements ``adapters.base.Axis``)."""

    def __init__(self, hub: MemoryHub, systemid: str, organs: Iterable[str]) -> None:
        self.hub = hub
        self.systemid = systemid
        hub.register(systemid, organs)
        self.closed = False

    def send(
        self,
        data: bytes,
        *,
        message_type: MessageType,
        from_organ: str,
        to_organ: str | None = None,
    ) -> SendReceipt:
        return SendReceipt(self.hub.send(self.systemid, data, message_type, from_organ, to_organ))

    def list_pending(self, message_type: MessageType) -> list[PendingItem]:
        return self.hub.pending(self.systemid, message_type)

    def fetch(self, doc_id: str) -> bytes:
        return self.hub.fetch(self.systemid, doc_id)

    def acknowledge(self, doc_id: str, *, ok: bool = True) -> None:
        self.hub.acknowledge(self.systemid, doc_id, ok)

    def list_agencies(self) -> list[AgencyInfo]:
        return self.hub.agencies()

    def close(self) -> None:
        self.closed = True
