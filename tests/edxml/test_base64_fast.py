"""``b64decode_strict`` (pybase64 with a binascii fallback) decides exactly as
``base64.b64decode(validate=True)``: same bytes, or an error in the same cases."""

from __future__ import annotations

import base64
import binascii

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from interchange.edxml import read
from interchange.edxml.read import b64decode_strict

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def _outcome(fn: object, value: str | bytes) -> bytes | str:
    try:
        return fn(value)  # type: ignore[operator,no-any-return]
    except (binascii.Error, ValueError):
        return "error"


def _reference(value: str | bytes) -> bytes:
    return base64.b64decode(value, validate=True)


@st.composite
def near_base64(draw: st.DrawFn) -> str:
    """Valid encodings with a few insertions, deletions or replacements (padding, spaces,
    non-alphabet and non-ASCII characters), plus short free-form strings."""
    if draw(st.booleans()):
        chars = list(base64.b64encode(draw(st.binary(max_size=40))).decode())
        for _ in range(draw(st.integers(0, 3))):
            pos = draw(st.integers(0, len(chars)))
            ch = draw(st.sampled_from(_ALPHABET + "==== \n\r\t-_.é\x00"))
            op = draw(st.integers(0, 2))
            if op == 0:
                chars.insert(pos, ch)
            elif chars:
                idx = min(pos, len(chars) - 1)
                if op == 1:
                    del chars[idx]
                else:
                    chars[idx] = ch
        return "".join(chars)
    return draw(st.text(alphabet=_ALPHABET + "====\n ", max_size=14))


@settings(max_examples=3000, deadline=None)
@given(near_base64())
def test_same_verdict_as_binascii_strict(value: str) -> None:
    assert _outcome(b64decode_strict, value) == _outcome(_reference, value)
    raw = value.encode()
    assert _outcome(b64decode_strict, raw) == _outcome(_reference, raw)


@pytest.mark.parametrize(
    "value",
    ["", "QQ==", "QQ", "QQ=", "=QQ=", "QQ==QQ==", "QUJD\n", "QU JD", "QUJD====", "Q", "é"],
)
def test_edge_cases(value: str) -> None:
    assert _outcome(b64decode_strict, value) == _outcome(_reference, value)


def test_fallback_without_pybase64(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(read, "_fast_b64decode", None)
    assert b64decode_strict("QUJD") == b"ABC"
    with pytest.raises(binascii.Error):
        b64decode_strict("QU JD")
