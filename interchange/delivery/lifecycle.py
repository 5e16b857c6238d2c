"""The life of a delivery (one document × one recipient) as one explicit state machine.

The same machine serves both ends: the sender's ``deliveries`` row moves when the transport
answers and when the recipient's status messages arrive; the recipient's ``inbox_items`` row
moves when its clerk (or the auto-accept policy) answers. ``apply`` is pure: the callers
store the result and a timeline event.

Status messages may arrive out of order or twice (they travel independently through the
axis), so forward jumps are legal (03 without 01 first) and going backwards is not: the
caller records an illegal one on the timeline and keeps the state.
"""

from __future__ import annotations

from enum import StrEnum

from ..edxml.model import StatusCode
from ..errors import DeliveryError


class State(StrEnum):
    QUEUED = "queued"  # stored, waiting for a worker
    RETRYING = "retrying"  # the axis could not be reached: waits for its next attempt
    FAILED = "failed"  # the axis refused it: waits for an operator
    DEAD = "dead"  # gave up after the maximum age (last error kept)
    CANCELLED = "cancelled"  # withdrawn by the sender before it left
    SENT = "sent"  # the axis took it (DocId kept)
    ARRIVED = "arrived"  # 01
    REFUSED = "refused"  # 02
    ACCEPTED = "accepted"  # 03
    ASSIGNED = "assigned"  # 04
    IN_PROGRESS = "in_progress"  # 05
    COMPLETED = "completed"  # 06
    RECALL_REQUESTED = "recall_requested"  # 13
    RECALLED = "recalled"  # 15
    RECALL_REFUSED = "recall_refused"  # 16


class Action(StrEnum):
    """Events that are not status codes: what the transport, the clock and operators do."""

    SEND_OK = "send_ok"
    TRANSPORT_FAILED = "transport_failed"
    AXIS_REFUSED = "axis_refused"
    EXPIRED = "expired"
    RETRY = "retry"  # operator: try again now (same DocumentId)
    RESEND = "resend"  # operator: send again to one recipient after it ended
    CANCEL = "cancel"


Event = StatusCode | Action


class IllegalTransitionError(DeliveryError):
    """An event that cannot happen in this state (a late or duplicated status, a bad click)."""

    code = "illegal-transition"

    def __init__(self, state: State, event: Event) -> None:
        label = event.label if isinstance(event, StatusCode) else event.value
        name = f"{event.value} ({label})" if isinstance(event, StatusCode) else label
        super().__init__(f"cannot apply {name} to a delivery that is {state.value}")
        self.state = state
        self.event = event


# The recipient's progress, in order: a status may jump forward, never back.
_PROGRESS = (State.ARRIVED, State.ACCEPTED, State.ASSIGNED, State.IN_PROGRESS, State.COMPLETED)
_BY_CODE = {
    StatusCode.ARRIVED: State.ARRIVED,
    StatusCode.ACCEPTED: State.ACCEPTED,
    StatusCode.ASSIGNED: State.ASSIGNED,
    StatusCode.IN_PROGRESS: State.IN_PROGRESS,
    StatusCode.COMPLETED: State.COMPLETED,
}
WAITING = frozenset({State.QUEUED, State.RETRYING})
"""States a worker picks up (when due)."""

TERMINAL = frozenset({State.CANCELLED, State.REFUSED, State.COMPLETED, State.RECALLED})


def _build() -> dict[tuple[State, Event], State]:
    t: dict[tuple[State, Event], State] = {}
    # transport
    for s in WAITING:
        t[s, Action.SEND_OK] = State.SENT
        t[s, Action.TRANSPORT_FAILED] = State.RETRYING
        t[s, Action.AXIS_REFUSED] = State.FAILED
        t[s, Action.EXPIRED] = State.DEAD
        t[s, Action.CANCEL] = State.CANCELLED
    t[State.RETRYING, Action.RETRY] = State.QUEUED
    for s in (State.FAILED, State.DEAD):
        t[s, Action.RETRY] = State.QUEUED
        t[s, Action.CANCEL] = State.CANCELLED
    # a recipient that never answers is dead-lettered too
    t[State.SENT, Action.EXPIRED] = State.DEAD
    for s in (State.SENT, State.REFUSED, State.RECALLED):
        t[s, Action.RESEND] = State.QUEUED

    # the recipient's answers. Evidence of arrival also settles a delivery whose "sent"
    # was never recorded (a worker crashed after the axis took it) or that was given up on.
    before = (State.QUEUED, State.RETRYING, State.DEAD, State.SENT)
    for s in before:
        for code, target in _BY_CODE.items():
            t[s, code] = target
        t[s, StatusCode.REFUSED] = State.REFUSED
    for i, s in enumerate(_PROGRESS):
        for later in _PROGRESS[i + 1 :]:
            t[s, _code_of(later)] = later
    t[State.ARRIVED, StatusCode.REFUSED] = State.REFUSED
    # recall: the sender asks (13), the recipient agrees (15) or refuses (16)
    for s in (State.SENT, State.ARRIVED, State.ACCEPTED, State.ASSIGNED, State.IN_PROGRESS):
        t[s, StatusCode.RECALL_REQUESTED] = State.RECALL_REQUESTED
    t[State.RECALL_REFUSED, StatusCode.RECALL_REQUESTED] = State.RECALL_REQUESTED
    t[State.RECALL_REQUESTED, StatusCode.CHANGE_ACCEPTED] = State.RECALLED
    t[State.RECALL_REQUESTED, StatusCode.CHANGE_REFUSED] = State.RECALL_REFUSED
    t[State.RECALL_REQUESTED, StatusCode.REFUSED] = State.REFUSED
    # after a refused recall the document carries on
    for code in (StatusCode.ASSIGNED, StatusCode.IN_PROGRESS, StatusCode.COMPLETED):
        t[State.RECALL_REFUSED, code] = _BY_CODE[code]
    return t


def _code_of(state: State) -> StatusCode:
    for code, target in _BY_CODE.items():
        if target is state:
            return code
    raise AssertionError(state)  # pragma: no cover


TRANSITIONS: dict[tuple[State, Event], State] = _build()


def apply(state: State, event: Event) -> State:
    """The state after ``event``, or ``IllegalTransitionError``."""
    try:
        return TRANSITIONS[state, event]
    except KeyError:
        raise IllegalTransitionError(state, event) from None


def can_apply(state: State, event: Event) -> bool:
    return (state, event) in TRANSITIONS


def state_for_code(code: StatusCode) -> State:
    """The state a recipient's own answer puts its inbox item in (used on the receiving side)."""
    return {
        **_BY_CODE,
        StatusCode.REFUSED: State.REFUSED,
        StatusCode.RECALL_REQUESTED: State.RECALL_REQUESTED,
        StatusCode.CHANGE_ACCEPTED: State.RECALLED,
        StatusCode.CHANGE_REFUSED: State.RECALL_REFUSED,
    }[code]
