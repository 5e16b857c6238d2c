"""Every (state, event) pair: the legal ones land where the table says, the rest raise."""

from __future__ import annotations

import itertools

import pytest

from interchange.delivery.lifecycle import (
    Action,
    IllegalTransitionError,
    State,
    apply,
    state_for_code,
)
from interchange.edxml.model import StatusCode as C
from interchange.errors import DeliveryError

S = State
A = Action

# Written out by hand, independently of the implementation's construction.
LEGAL: dict[tuple[State, object], State] = {}


def legal(states: tuple[State, ...], event: object, target: State) -> None:
    for s in states:
        LEGAL[s, event] = target


WAITING = (S.QUEUED, S.RETRYING)
legal(WAITING, A.SEND_OK, S.SENT)
legal(WAITING, A.TRANSPORT_FAILED, S.RETRYING)
legal(WAITING, A.AXIS_REFUSED, S.FAILED)
legal(WAITING, A.EXPIRED, S.DEAD)
legal((*WAITING, S.FAILED, S.DEAD), A.CANCEL, S.CANCELLED)
legal((S.RETRYING, S.FAILED, S.DEAD), A.RETRY, S.QUEUED)
legal((S.SENT,), A.EXPIRED, S.DEAD)
legal((S.SENT, S.REFUSED, S.RECALLED), A.RESEND, S.QUEUED)
BEFORE = (S.QUEUED, S.RETRYING, S.DEAD, S.SENT)
legal(BEFORE, C.ARRIVED, S.ARRIVED)
legal((*BEFORE, S.ARRIVED, S.RECALL_REQUESTED), C.REFUSED, S.REFUSED)
legal((*BEFORE, S.ARRIVED), C.ACCEPTED, S.ACCEPTED)
legal((*BEFORE, S.ARRIVED, S.ACCEPTED, S.RECALL_REFUSED), C.ASSIGNED, S.ASSIGNED)
legal((*BEFORE, S.ARRIVED, S.ACCEPTED, S.ASSIGNED, S.RECALL_REFUSED), C.IN_PROGRESS, S.IN_PROGRESS)
legal(
    (*BEFORE, S.ARRIVED, S.ACCEPTED, S.ASSIGNED, S.IN_PROGRESS, S.RECALL_REFUSED),
    C.COMPLETED,
    S.COMPLETED,
)
legal(
    (S.SENT, S.ARRIVED, S.ACCEPTED, S.ASSIGNED, S.IN_PROGRESS, S.RECALL_REFUSED),
    C.RECALL_REQUESTED,
    S.RECALL_REQUESTED,
)
legal((S.RECALL_REQUESTED,), C.CHANGE_ACCEPTED, S.RECALLED)
legal((S.RECALL_REQUESTED,), C.CHANGE_REFUSED, S.RECALL_REFUSED)

EVENTS: list[object] = [*C, *A]


@pytest.mark.parametrize(
    ("state", "event"), list(itertools.product(State, EVENTS)), ids=lambda v: str(v.value)
)
def test_every_pair(state: State, event: C | Action) -> None:
    expected = LEGAL.get((state, event))
    if expected is None:
        with pytest.raises(IllegalTransitionError) as info:
            apply(state, event)
        assert isinstance(info.value, DeliveryError)
        assert state.value in str(info.value)
        assert "\n" not in str(info.value)
    else:
        assert apply(state, event) is expected


def test_normal_life() -> None:
    s = S.QUEUED
    for e in (
        A.TRANSPORT_FAILED,
        A.SEND_OK,
        C.ARRIVED,
        C.ACCEPTED,
        C.ASSIGNED,
        C.IN_PROGRESS,
        C.COMPLETED,
    ):
        s = apply(s, e)
    assert s is S.COMPLETED


def test_terminal_states_take_no_status() -> None:
    for s in (S.CANCELLED, S.COMPLETED, S.RECALLED, S.REFUSED):
        for code in C:
            with pytest.raises(IllegalTransitionError):
                apply(s, code)


def test_recipient_side_states() -> None:
    assert state_for_code(C.ARRIVED) is S.ARRIVED
    assert state_for_code(C.CHANGE_ACCEPTED) is S.RECALLED
    assert {state_for_code(c) for c in C} <= set(State)
