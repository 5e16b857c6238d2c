"""Whatever the bytes, reading returns a model or raises a typed FormatError: never a crash."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from interchange.edxml import build_edoc, build_status, read_tree, serialize
from interchange.edxml.read import read_message
from interchange.errors import FormatError
from interchange.safexml import parse_root

from .conftest import make_edoc, make_status

EDOC = serialize(build_edoc(make_edoc()))
STATUS = serialize(build_status(make_status()))
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from([EDOC, STATUS])))
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(data) - 1))
        op = draw(st.sampled_from(["flip", "delete", "insert"]))
        if op == "flip":
            data[i] = draw(st.integers(0, 255))
        elif op == "delete":
            del data[i : i + draw(st.integers(1, 40))]
        else:
            data[i:i] = draw(st.sampled_from([b"<", b">", b"&", b"<!--x-->", b"9", b"/", b"x"]))
    return bytes(data)


@FUZZ
@given(mutated())
def test_mutated_bytes_never_crash(data: bytes) -> None:
    try:
        read_message(data)
    except FormatError as exc:
        assert "\n" not in str(exc)


# Replacement texts aimed at the typed fields: numbers, dates, codes out of range.
_TEXTS = st.sampled_from(
    [
        "",
        " ",
        "x",
        "-1",
        "99999999999999999999",
        "2026/13/01",
        "2026/02/30",
        "99999/99/99",
        "2026/01/01 24:00:00",
        "abc=",
        "cid:",
        "07",
        "true",
        "1_0",
    ]
)


@FUZZ
@given(st.data())
def test_mutated_trees_never_crash(data: st.DataObject) -> None:
    root = parse_root(data.draw(st.sampled_from([EDOC, STATUS])))
    elements = list(root.iter())
    for _ in range(data.draw(st.integers(1, 4))):
        el = data.draw(st.sampled_from(elements))
        action = data.draw(st.sampled_from(["text", "remove", "comment"]))
        if action == "text":
            el.text = data.draw(_TEXTS)
        elif action == "remove":
            parent = el.getparent()
            if parent is not None:
                parent.remove(el)
        else:
            el.append(etree.Comment("c"))
    try:
        read_tree(root)
    except FormatError as exc:
        assert "\n" not in str(exc)
