"""Model → XML → model is the identity (hypothesis), and what we build validates."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings

from interchange.edxml import (
    EdocMessage,
    StatusMessage,
    build_edoc,
    build_status,
    read_message,
    read_tree,
    serialize,
    validate_envelope,
)

from .strategies import edoc_messages, status_messages

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(edoc_messages())
def test_edoc_tree_round_trip(msg: EdocMessage) -> None:
    assert read_tree(build_edoc(msg)) == msg


@SETTINGS
@given(edoc_messages())
def test_edoc_bytes_round_trip(msg: EdocMessage) -> None:
    assert read_message(serialize(build_edoc(msg))) == msg


@SETTINGS
@given(status_messages())
def test_status_round_trip(msg: StatusMessage) -> None:
    assert read_tree(build_status(msg)) == msg
    assert read_message(serialize(build_status(msg))) == msg


@SETTINGS
@given(edoc_messages(strict=True))
def test_built_edoc_validates(msg: EdocMessage) -> None:
    validate_envelope(build_edoc(msg))


@SETTINGS
@given(status_messages(strict=True))
def test_built_status_validates(msg: StatusMessage) -> None:
    validate_envelope(build_status(msg))
