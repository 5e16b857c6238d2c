"""Property: model → XML → model is the identity, and what we write validates."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings

from interchange.payloads import (
    Payload,
    header_hints,
    payload_from_dict,
    payload_from_xml,
    payload_to_xml,
    validate_payload,
)

from .strategies import payloads

_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_SETTINGS
@given(payloads)
def test_xml_round_trip_is_identity(p: Payload) -> None:
    xml = payload_to_xml(p)
    assert validate_payload(xml) is type(p).kind
    assert payload_from_xml(xml) == p


@_SETTINGS
@given(payloads)
def test_json_round_trip_and_hints(p: Payload) -> None:
    assert payload_from_dict(type(p).kind, p.model_dump(mode="json")) == p
    hints = header_hints(p)
    assert hints.code_number == p.number and hints.subject
