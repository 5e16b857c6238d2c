"""edXML (QCVN 102:2016): the typed model, the builder, the lenient reader, the strict schemas.

Small surface::

    root = build_edoc(msg)          # or build_status(msg); the signer appends ds:Signature
    validate_envelope(root)         # SchemaError(path=, line=) when what we wrote is wrong
    data = serialize(root)          # UTF-8 bytes with the XML declaration
    msg = read_message(data)        # safe parse + lenient read (no signature check)
"""

from __future__ import annotations

from .build import build, build_edoc, build_status, format_date, format_timestamp, serialize
from .model import (
    DSIG_NS,
    EDXML_NS,
    XLINK_NS,
    Attachment,
    Bussiness,
    BussinessDocType,
    BussinessDocumentInfo,
    DocumentCode,
    DocumentType,
    EdocMessage,
    Message,
    MessageHeader,
    MessageKind,
    Organ,
    OtherInfo,
    PromulgationInfo,
    Receiver,
    ReplacementInfo,
    ResponseFor,
    SignerInfo,
    StaffInfo,
    StatusCode,
    StatusMessage,
    TraceHeader,
)
from .read import message_kind, parse_date, parse_timestamp, read_message, read_tree, text_of
from .validate import explain, is_valid, validate_envelope

__all__ = [
    "DSIG_NS",
    "EDXML_NS",
    "XLINK_NS",
    "Attachment",
    "Bussiness",
    "BussinessDocType",
    "BussinessDocumentInfo",
    "DocumentCode",
    "DocumentType",
    "EdocMessage",
    "Message",
    "MessageHeader",
    "MessageKind",
    "Organ",
    "OtherInfo",
    "PromulgationInfo",
    "Receiver",
    "ReplacementInfo",
    "ResponseFor",
    "SignerInfo",
    "StaffInfo",
    "StatusCode",
    "StatusMessage",
    "TraceHeader",
    "build",
    "build_edoc",
    "build_status",
    "explain",
    "format_date",
    "format_timestamp",
    "is_valid",
    "message_kind",
    "parse_date",
    "parse_timestamp",
    "read_message",
    "read_tree",
    "serialize",
    "text_of",
    "validate_envelope",
]
