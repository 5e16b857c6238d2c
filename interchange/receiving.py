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


def open_document(data: bytes, policy: VerifyPolicy, *, schema: SchemaMode = "strict") -> Received:
    """Verify the signature and certificate, check the schema, extract the model.

    ``schema="lenient"`` skips the envelope XSD (real senders write elements out of order);
    the reader still refuses what cannot be routed. Raises a typed ``InterchangeError``.
    """
    verified = verify_document(data, policy)
    return _read_verified(verified.root, verified.result, schema)


def _read_verified(
    root: etree._Element, result: VerificationResult, schema: SchemaMode
) -> Received:
    if schema == "strict":
        validate_envelope(root)
    message = read_tree(root)
    payload = None
    if isinstance(message, EdocMessage):
        payload = payload_from_attachments(message.attachments)
    return Received(message=message, verification=result, payload=payload)
