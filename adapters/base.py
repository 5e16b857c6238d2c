"""The ``Axis`` protocol every adapter implements, and the values it moves.

Errors (from ``interchange.errors``): ``TransportError`` when the axis could not be reached
or answered garbage (the caller retries), ``RefusedError`` (and its subclass
``AuthenticationError``) when it understood and said no (the caller does not retry).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

MessageType = Literal["edoc", "status"]


@dataclass(frozen=True, slots=True)
class SendReceipt:
    """What the axis answered to a send: its own id for the queued document."""

    doc_id: str


@dataclass(frozen=True, slots=True)
class PendingItem:
    """One item waiting in the caller's queue (``getReceivedEdocList`` row)."""

    doc_id: str
    message_type: MessageType
    from_organ: str
    to_organ: str
    created: str = ""
    status: str = ""


@dataclass(frozen=True, slots=True)
class AgencyInfo:
    """One row of the axis's agency list."""

    code: str
    name: str
    parent: str | None = None
    old_code: str | None = None
    mail: str | None = None


@runtime_checkable
class Axis(Protocol):
    """What delivery needs from a hub: send, list pending, fetch, acknowledge, agencies.

    ``send`` takes both document and status messages (``message_type``). ``acknowledge``
    removes an item from the caller's queue; call it only after the item is durably stored.
    """

    def send(
        self,
        data: bytes,
        *,
        message_type: MessageType,
        from_organ: str,
        to_organ: str | None = None,
    ) -> SendReceipt: ...

    def list_pending(self, message_type: MessageType) -> list[PendingItem]: ...

    def fetch(self, doc_id: str) -> bytes: ...

    def acknowledge(self, doc_id: str, *, ok: bool = True) -> None: ...

    def list_agencies(self) -> list[AgencyInfo]: ...

    def close(self) -> None: ...
