"""Open a document that arrived: verify, validate, read — in that order, and only what was signed.

``open_document`` is the receiving half of ``packaging``. Everything it returns is read from
the tree the signature verification handed back (comments removed, hub hops stripped), never
from the raw input, so a wrapped or commented forgery cannot show the caller other text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from lxml import etree

from .edxml.model import EdocMessage, StatusMessage
from .edxml.read import read_tree
from .edxml.validate import validate_envelope
from .payloads import Payload, payload_from_attachments
from .signing import VerificationResult, VerifyPolicy, verify_document

SchemaMode = Literal["strict", "lenient"]


@dataclass(frozen=True, slots=True)
class Received:
    """A verified message, its verification report, and our structured part if it has one."""

    message: EdocMessage | StatusMessage
    verification: VerificationResult
    payload: Payload | None = None


def open_document(
    data: bytes, policy: VerifyPolicy, *, schema: SchemaMode = "strict", payload: bool = True
) -> Received:
    """Verify the signature and certificate, check the schema, extract the model.

    ``schema="lenient"`` skips the envelope XSD (real senders write elements out of order);
    the reader still refuses what cannot be routed. ``payload=False`` leaves our structured
    part unread (``Received.payload`` is None): for callers that only route or store.
    Raises a typed ``InterchangeError``.
    """
    verified = verify_document(data, policy)
    return _read_verified(verified.root, verified.result, schema, payload)


def _read_verified(
    root: etree._Element, result: VerificationResult, schema: SchemaMode, with_payload: bool
) -> Received:
    # The schema check runs inside read_tree, after the envelope is located and before
    # anything is read: the same order as validate-then-read, one envelope lookup.
    message = read_tree(root, validate_envelope if schema == "strict" else None)
    payload = None
    if with_payload and isinstance(message, EdocMessage):
        payload = payload_from_attachments(message.attachments)
    return Received(message=message, verification=result, payload=payload)
