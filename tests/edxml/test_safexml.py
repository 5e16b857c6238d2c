"""``interchange.safexml``: the bounded stream read (``first_element``) and the refusals
that must stay typed one-line errors whatever libxml2 gives up on."""

from __future__ import annotations

import pytest
from lxml import etree

from interchange import safexml
from interchange.errors import NotXMLError, UnsafeXMLError

S = "{urn:s}"


def _doc(head: str, body: str) -> bytes:
    return f'<e xmlns="urn:s"><h>{head}</h><b>{body}</b></e>'.encode()


def test_first_element_found_before_the_stop() -> None:
    found = safexml.first_element(_doc("<a>1</a><a>2</a>", ""), S + "a", stop=S + "b")
    assert found is not None and found.text == "1"


def test_first_element_none_when_the_stop_comes_first() -> None:
    assert safexml.first_element(_doc("", "<a>1</a>"), S + "a", stop=S + "b") is None


def test_first_element_reads_only_its_window() -> None:
    """What follows the window is never parsed: here it is not even well-formed."""
    data = _doc("<a>1</a>", "<<<" * 100_000)
    found = safexml.first_element(data, S + "a", stop=S + "c", within=200)
    assert found is not None and found.text == "1"
    late = _doc("<x/>" * 100 + "<a>1</a>", "")
    assert safexml.first_element(late, S + "a", stop=S + "b", within=200) is None


@pytest.mark.parametrize(
    ("data", "err"),
    [
        (b'<!DOCTYPE e [<!ENTITY x "y">]><e>&x;</e>', UnsafeXMLError),
        (b"   ", NotXMLError),
        (b"<e><a></e>", NotXMLError),
    ],
)
def test_first_element_refusals(data: bytes, err: type[Exception]) -> None:
    with pytest.raises(err):
        safexml.first_element(data, "a", stop="b")


def test_a_depth_check_libxml2_gives_up_on_is_a_refusal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past about ten million nodes libxml2's XPath fails (XPathEvalError): that must reach
    the caller as ``UnsafeXMLError``, not as an internal error that a client retries."""

    def gives_up(_root: etree._Element) -> bool:
        raise etree.XPathEvalError("Memory allocation failed")

    monkeypatch.setattr(
        safexml._local, f"depth_{safexml.DEFAULT_MAX_DEPTH}", gives_up, raising=False
    )
    with pytest.raises(UnsafeXMLError, match="too many elements"):
        safexml.parse_bytes(b"<e><a/></e>")
