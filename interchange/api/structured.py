"""Read a stored document back for display: the message and its structured part as JSON.

Stored bytes were verified when they arrived; here they are only read (through the one safe
reader) so the dashboard and API can show the structured part and serve attachments.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..edxml.model import EdocMessage, StatusMessage
from ..edxml.read import read_message
from ..errors import InterchangeError


@dataclass(frozen=True, slots=True)
class Stored:
    message: EdocMessage | StatusMessage | None
    structured: dict[str, Any] | None
    error: str | None = None


def read_stored(data: bytes) -> Stored:
    try:
        msg = read_message(data)
    except InterchangeError as exc:
        return Stored(None, None, str(exc))
    if not isinstance(msg, EdocMessage):
        return Stored(msg, None)
    try:
        from ..payloads import find_payload_attachment, payload_from_xml

        att = find_payload_attachment(msg.attachments)
        if att is None:
            return Stored(msg, None)
        payload = payload_from_xml(att.data)
    except InterchangeError as exc:
        return Stored(msg, None, f"structured part unreadable: {exc}")
    body = payload.model_dump(mode="json")
    return Stored(msg, {"kind": type(payload).__name__.lower(), **body})
