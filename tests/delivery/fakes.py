"""Test doubles for delivery unit tests: a codec without PKI, a recording ``MemoryAxis``.

``FakeCodec`` builds real edXML with the format helper's builder and reader, but "signs"
nothing: a document containing the marker ``FORGED`` fails verification, which is all the
delivery logic needs to know about signatures.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from adapters.memory import MemoryAxis, MemoryHub
from interchange.delivery.codec import Opened, PackagedDoc, peek_message
from interchange.edxml.build import build, serialize
from interchange.edxml.model import (
    Attachment,
    Bussiness,
    DocumentCode,
    EdocMessage,
    MessageHeader,
    Organ,
    PromulgationInfo,
    ResponseFor,
    StatusCode,
    StatusMessage,
    TraceHeader,
)
from interchange.edxml.read import read_message
from interchange.errors import SignatureValueError

NOW = dt.datetime(2026, 11, 28, 10, 0, 0)


def make_edoc(
    sender: str,
    recipients: Sequence[str],
    number: str = "12",
    *,
    subject: str = "Kết luận thanh tra",
    bussiness: Bussiness | None = None,
) -> EdocMessage:
    code = DocumentCode(number, "KL-STTTT")
    return EdocMessage(
        header=MessageHeader(
            from_=Organ(sender),
            to=tuple(Organ(r) for r in recipients),
            document_id=f"{sender},2026/11/28,{code}",
            code=code,
            subject=subject,
            promulgation_info=PromulgationInfo(place="Tây Ninh", date=NOW.date()),
        ),
        trace_headers=(TraceHeader(sender, NOW),),
        bussiness=bussiness or Bussiness(),
    )


def encode(msg: EdocMessage | StatusMessage) -> bytes:
    return serialize(build(msg))


def forge(data: bytes) -> bytes:
    return data.replace(b"</edXML:edXMLEnvelope>", b"<!--FORGED--></edXML:edXMLEnvelope>")


class FakeCodec:
    def __init__(self) -> None:
        self.opened = 0

    def open(self, data: bytes) -> Opened:
        self.opened += 1
        if b"FORGED" in data:
            raise SignatureValueError("the signature value does not verify")
        return Opened(message=read_message(data), report={"fake": True})

    def peek(self, data: bytes) -> EdocMessage | StatusMessage | None:
        return peek_message(data)

    def sign_status(
        self, tenant: str, response_for: ResponseFor, code: StatusCode, description: str | None
    ) -> bytes:
        return encode(
            StatusMessage(
                from_=Organ(tenant),
                response_for=response_for,
                status_code=code,
                description=description,
                timestamp=NOW,
            )
        )

    def package(
        self,
        tenant: str,
        payload: Any,
        recipients: Sequence[str],
        *,
        bussiness: Bussiness | None = None,
        document_id: str | None = None,
        attachments: Sequence[Attachment] = (),
    ) -> PackagedDoc:
        number = str(payload.get("number", "1")) if isinstance(payload, dict) else "1"
        subject = str(payload.get("subject", "x")) if isinstance(payload, dict) else "x"
        msg = make_edoc(tenant, recipients, number, subject=subject, bussiness=bussiness)
        return PackagedDoc(msg.document_id, encode(msg), msg)


class RecordingAxis(MemoryAxis):
    """A ``MemoryAxis`` that records acknowledgements and can die just before one."""

    def __init__(self, hub: MemoryHub, systemid: str, organs: Sequence[str]) -> None:
        super().__init__(hub, systemid, organs)
        self.acks: list[str] = []
        self.crash_before_ack = False

    def acknowledge(self, doc_id: str, *, ok: bool = True) -> None:
        if self.crash_before_ack:
            raise SystemExit("crash between commit and acknowledge")
        super().acknowledge(doc_id, ok=ok)
        self.acks.append(doc_id)


def sent_to(hub: MemoryHub, organ: str, message_type: str = "edoc") -> list[bytes]:
    """The bytes the hub accepted for ``organ``, in order."""
    return [s.data for s in hub.sent if s.message_type == message_type and organ in s.recipients]


def status_codes(hub: MemoryHub, organ: str) -> list[StatusCode]:
    out = []
    for data in sent_to(hub, organ, "status"):
        msg = read_message(data)
        assert isinstance(msg, StatusMessage)
        out.append(msg.status_code)
    return out
