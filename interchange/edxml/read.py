"""edXML bytes or tree → model. Lenient where real senders are, strict where routing needs it.

Lenient: children are matched by local name, in any order and under any prefix (the SDK samples
write ``<Attachment>`` unprefixed in the default namespace and ``<edXML:...>`` elsewhere);
unknown elements, comments, processing instructions and any ``Signature`` (dsig or, by a known
writer's mistake, edXML namespace) are skipped — reading never verifies. ``cid:`` is optional
on ContentIds; agency codes are kept as opaque strings (legacy three-group codes, ``vxp.saas.03``).
Text is the element's full text (a comment may split it: ``12<!--x-->/KL`` reads ``12/KL``),
stripped of surrounding whitespace. An empty date/int element reads as None (``DueDate`` is
often empty).

Strict (``NotEdXMLError``, naming the element): root not ``{QCVN NS}edXML``; no From/OrganId;
an edoc without To/OrganId or DocumentId (the duplicate check keys on it); a status without
ResponseFor or StatusCode, or with a code QCVN 102 does not have; a date, timestamp, integer or
boolean that does not parse. An attachment that is not base64, or a manifest entry without its
attachment, gives ``AttachmentError`` naming it.

Speed: one pass over each element's children (grouped by local name, or straight to their
texts, by field position, for leaf containers); no XPath, no per-field search. About 1 µs per
element in CPython, most of it lxml itself (proxy, ``.tag``, ``.text``) and the frozen
dataclasses' constructors (~0.1 µs per field).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from collections.abc import Callable
from typing import TypeVar

import pybase64
from lxml import etree

from ..errors import AttachmentError, NotEdXMLError, NotXMLError
from ..safexml import XmlLimits, parse_bytes
from .model import (
    EDXML_NS,
    Attachment,
    Bussiness,
    BussinessDocType,
    BussinessDocumentInfo,
    DocumentCode,
    DocumentType,
    EdocMessage,
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

_ROOT_TAG = "{" + EDXML_NS + "}edXML"
# SIMD base64; None falls back to binascii (the tests switch it off to check the fallback).
_fast_b64decode: Callable[..., bytes] | None = pybase64.b64decode
_T = TypeVar("_T")
_Children = dict[str, list[etree._Element]]


# --- primitives ------------------------------------------------------------------------------


_NAMES: dict[object, str] = {}  # Clark tag → local name; bounded (tags come from the sender)


def _local(tag: object) -> str | None:
    name = _NAMES.get(tag)
    if name is not None:
        return name
    if not isinstance(tag, str):
        return None  # comment or processing instruction
    name = tag[tag.rfind("}") + 1 :]
    if len(_NAMES) < 512:
        _NAMES[tag] = name
    return name


def _children(el: etree._Element) -> _Children:
    """Children grouped by local name, document order kept within each name."""
    out: _Children = {}
    names = _NAMES
    for child in el:
        tag = child.tag
        name = names.get(tag)
        if name is None:
            name = _local(tag)
            if name is None:
                continue
        lst = out.get(name)
        if lst is None:
            out[name] = [child]
        else:
            lst.append(child)
    return out


def text_of(el: etree._Element) -> str:
    """Full text of an element (comments/PIs skipped, never truncated), stripped."""
    if len(el) == 0:
        t = el.text
        return t.strip() if t else ""
    return "".join(el.itertext()).strip()  # type: ignore[arg-type]


_Index = dict[object, int]


def _index(*names: str) -> _Index:
    """Local name → position, for ``_fields``. Clark tags are added as they are met."""
    return {name: i for i, name in enumerate(names)}


def _fields(el: etree._Element, index: _Index, size: int) -> list[str | None]:
    """Full stripped texts of the children named in ``index``, by position (None: absent;
    first occurrence wins), for elements whose children are leaves (From, To, Code,
    TraceHeader, Attachment…). One dictionary lookup per child, keyed by the tag as lxml
    returns it (its local name is resolved once per tag); no per-element dictionary."""
    out: list[str | None] = [None] * size
    for child in el:
        tag = child.tag
        i = index.get(tag)
        if i is None:
            i = _index_miss(index, tag)
        if i < 0 or out[i] is not None:
            continue
        t = "".join(child.itertext()) if len(child) else child.text  # type: ignore[arg-type]
        out[i] = t.strip() if t else ""
    return out


def _index_miss(index: _Index, tag: object) -> int:
    name = _local(tag)
    i = index.get(name, -1) if name is not None else -1
    if len(index) < 256:  # tags come from the sender: bounded
        index[tag] = i
    return i


def _pick(kids: _Children, names: tuple[str, ...]) -> dict[str, str]:
    """Texts of the named leaf children of a mixed element (MessageHeader, Bussiness)."""
    return {name: text_of(kids[name][0]) for name in names if name in kids}


def _leaf(kids: _Children, name: str) -> str | None:
    found = kids.get(name)
    return text_of(found[0]) if found else None


def _where(path: str, name: str) -> str:
    return f"{path}/{name}" if path else name


def _parsed(
    value: str | None, path: str, name: str, parse: Callable[[str], _T], what: str
) -> _T | None:
    if not value:  # absent or empty: DueDate is often written empty
        return None
    try:
        return parse(value)
    except (ValueError, TypeError, OverflowError):
        raise NotEdXMLError(f"{_where(path, name)} is not {what}: {value[:40]!r}") from None


_A_DATE = "a date (yyyy/MM/dd)"


def parse_date(value: str) -> dt.date:
    """``yyyy/MM/dd`` (``yyyy-MM-dd`` tolerated)."""
    parts = value.replace("-", "/").split("/")
    if len(parts) != 3 or len(parts[0]) != 4:
        raise ValueError(value)
    return dt.date(int(parts[0]), int(parts[1]), int(parts[2]))


def parse_timestamp(value: str) -> dt.datetime:
    """``yyyy/MM/dd HH:mm:ss`` (a ``T`` separator and ``-`` in the date tolerated)."""
    day, _, clock = value.replace("T", " ").partition(" ")
    d = parse_date(day)
    hms = clock.strip().split(":")
    if len(hms) != 3:
        raise ValueError(value)
    return dt.datetime(d.year, d.month, d.day, int(hms[0]), int(hms[1]), int(hms[2]))


def _parse_bool(value: str) -> bool:
    v = value.lower()
    if v in ("true", "1"):
        return True
    if v in ("false", "0"):
        return False
    raise ValueError(value)


_A_TIMESTAMP = "a timestamp (yyyy/MM/dd HH:mm:ss)"
_TRACE_PATH = "TraceHeaderList/TraceHeader"


def _timestamp(t: dict[str, str], name: str, path: str) -> dt.datetime | None:
    return _parsed(t.get(name), path, name, parse_timestamp, _A_TIMESTAMP)


def _int(t: dict[str, str], name: str, path: str) -> int | None:
    return _parsed(t.get(name), path, name, int, _AN_INT)


def _one(kids: _Children, name: str, path: str) -> etree._Element:
    found = kids.get(name)
    if not found:
        raise NotEdXMLError(f"missing required element {_where(path, name)}")
    return found[0]


def _required(t: dict[str, str], name: str, path: str) -> str:
    value = t.get(name)
    if value is None:
        raise NotEdXMLError(f"missing required element {_where(path, name)}")
    if not value:
        raise NotEdXMLError(f"required element {_where(path, name)} is empty")
    return value


# --- parts ----------------------------------------------------------------------------------


# Field order = the model's constructor order, so that ``Model(*values)`` reads each field.
_ORGAN = _index(
    "OrganId",
    "OrganizationInCharge",
    "OrganName",
    "OrganAdd",
    "Email",
    "Telephone",
    "Fax",
    "Website",
)
_RESPONSE_FOR = _index("OrganId", "Code", "PromulgationDate", "DocumentId")
_STAFF = _index("Department", "Staff", "Email", "Mobile")
_CODE = _index("CodeNumber", "CodeNotation")
_PROMULGATION = _index("Place", "PromulgationDate")
_DOCUMENT_TYPE = _index("Type", "TypeDetail", "TypeName")
_SIGNER = _index("Competence", "Position", "FullName")
_TRACE = _index("OrganId", "Timestamp")
_RECEIVER = _index("OrganId", "ReceiverType")
_ATTACHMENT = _index(
    "ContentId", "AttachmentName", "ContentType", "ContentTransferEncoded", "Description"
)
_MANIFEST_REF = _index("ContentId", "AttachmentName", "ContentType", "Description")


def _required_v(value: str | None, name: str, path: str) -> str:
    if value is None:
        raise NotEdXMLError(f"missing required element {_where(path, name)}")
    if not value:
        raise NotEdXMLError(f"required element {_where(path, name)} is empty")
    return value


def _organ(el: etree._Element, path: str) -> Organ:
    v = _fields(el, _ORGAN, 8)
    v[0] = _required_v(v[0], "OrganId", path)
    return Organ(*v)  # type: ignore[arg-type]


def _response_for(el: etree._Element, path: str) -> ResponseFor:
    organ_id, code, date, document_id = _fields(el, _RESPONSE_FOR, 4)
    return ResponseFor(
        organ_id or "",
        code,
        _parsed(date, path, "PromulgationDate", parse_date, _A_DATE),
        document_id,
    )


def _staff_info(kids: _Children) -> StaffInfo | None:
    found = kids.get("StaffInfo")
    if not found:
        return None
    return StaffInfo(*_fields(found[0], _STAFF, 4))


def _list_texts(kids: _Children, name: str, item: str) -> tuple[str, ...] | None:
    found = kids.get(name)
    if not found:
        return None
    return tuple(text_of(e) for e in _children(found[0]).get(item, ()))


def _other_info(el: etree._Element) -> OtherInfo:
    p = "MessageHeader/OtherInfo"
    k = _children(el)
    t = {name: text_of(els[0]) for name, els in k.items() if name != "Appendixes"}
    return OtherInfo(
        priority=_int(t, "Priority", p),
        sphere_of_promulgation=t.get("SphereOfPromulgation"),
        typer_notation=t.get("TyperNotation"),
        promulgation_amount=_int(t, "PromulgationAmount", p),
        page_amount=_int(t, "PageAmount", p),
        direction=_parsed(t.get("Direction"), p, "Direction", _parse_bool, "a boolean"),
        appendixes=_list_texts(k, "Appendixes", "Appendix"),
    )


_NO_REF: list[str | None] = [None, None, None, None]
_NONE2: tuple[None, None] = (None, None)
_NONE3: tuple[None, None, None] = (None, None, None)
_AN_INT = "an integer"


def _message_header(k: _Children) -> MessageHeader:
    p = "MessageHeader"
    from_ = _organ(_one(k, "From", p), p + "/From")
    to_els = k.get("To")
    if not to_els:
        raise NotEdXMLError("missing required element MessageHeader/To")
    to: tuple[Organ, ...]
    if len(to_els) == 1:
        to = (_organ(to_els[0], p + "/To"),)
    else:
        to = tuple(_organ(e, p + "/To") for e in to_els)
    found = k.get("Code")
    number, notation = _fields(found[0], _CODE, 2) if found else _NONE2
    found = k.get("PromulgationInfo")
    place, date = _fields(found[0], _PROMULGATION, 2) if found else _NONE2
    found = k.get("DocumentType")
    type_, detail, type_name = _fields(found[0], _DOCUMENT_TYPE, 3) if found else _NONE3
    found = k.get("SignerInfo")
    signer = SignerInfo(*_fields(found[0], _SIGNER, 3)) if found else None
    oi = k.get("OtherInfo")
    rf = k.get("ResponseFor")
    return MessageHeader(
        from_,
        to,
        _required_v(_leaf(k, "DocumentId"), "DocumentId", p),
        DocumentCode(number or "", notation or ""),
        _leaf(k, "Subject") or "",
        PromulgationInfo(
            place, _parsed(date, p + "/PromulgationInfo", "PromulgationDate", parse_date, _A_DATE)
        ),
        DocumentType(
            _parsed(type_, p + "/DocumentType", "Type", int, _AN_INT),
            _parsed(detail, p + "/DocumentType", "TypeDetail", int, _AN_INT),
            type_name,
        ),
        _leaf(k, "Content"),
        signer,
        _parsed(_leaf(k, "DueDate"), p, "DueDate", parse_date, _A_DATE),
        _other_info(oi[0]) if oi else None,
        tuple(_response_for(r, p + "/ResponseFor") for r in rf) if rf else (),
        _parsed(_leaf(k, "SteeringType"), p, "SteeringType", int, _AN_INT),
        _list_texts(k, "ToPlaces", "Place"),
    )


def _bussiness(el: etree._Element) -> Bussiness:
    p = "TraceHeaderList/Bussiness"
    k = _children(el)
    t = _pick(k, ("DocumentId", "BussinessDocType", "BussinessDocReason", "Paper"))
    raw_type = _int(t, "BussinessDocType", p)
    try:
        doc_type = BussinessDocType(0 if raw_type is None else raw_type)
    except ValueError:
        raise NotEdXMLError(f"{p}/BussinessDocType {raw_type} is not 0, 1, 2 or 3") from None
    info: BussinessDocumentInfo | None = None
    if "BussinessDocumentInfo" in k:
        ik = _children(k["BussinessDocumentInfo"][0])
        receivers: list[Receiver] = []
        for rl in ik.get("ReceiverList", ()):
            for r in _children(rl).get("Receiver", ()):
                organ_id, receiver_type = _fields(r, _RECEIVER, 2)
                receivers.append(
                    Receiver(
                        organ_id or "",
                        _parsed(receiver_type, p + "/Receiver", "ReceiverType", int, _AN_INT),
                    )
                )
        info = BussinessDocumentInfo(
            document_info=_leaf(ik, "DocumentInfo"),
            document_receiver=_leaf(ik, "DocumentReceiver"),
            receivers=tuple(receivers),
        )
    replacements: tuple[ReplacementInfo, ...] | None = None
    if "ReplacementInfoList" in k:
        reps = []
        for ri in _children(k["ReplacementInfoList"][0]).get("ReplacementInfo", ()):
            rk = _children(ri)
            ids = rk.get("OrganIdList")
            reps.append(
                ReplacementInfo(
                    document_id=_leaf(rk, "DocumentId") or "",
                    organ_ids=tuple(text_of(o) for o in _children(ids[0]).get("OrganId", ()))
                    if ids
                    else (),
                )
            )
        replacements = tuple(reps)
    return Bussiness(
        doc_type=doc_type,
        document_id=t.get("DocumentId"),
        reason=t.get("BussinessDocReason"),
        paper=_int(t, "Paper", p),
        staff_info=_staff_info(k),
        document_info=info,
        replacements=replacements,
    )


def _content_id(value: str) -> str:
    return value[4:].strip() if value[:4].lower() == "cid:" else value


def b64decode_strict(value: str | bytes) -> bytes:
    """``base64.b64decode(value, validate=True)``, same result or same error, ~20x faster.

    pybase64 (SIMD) decodes; it is never more lenient than binascii's strict mode (checked
    differentially in ``tests/edxml/test_base64.py``), and where it refuses we ask binascii,
    so an input the standard library accepts still decodes (and errors are its errors).
    At 1 MB this is 13 ms → 0.1 ms: base64 was most of ``read_tree`` on large documents.
    """
    if _fast_b64decode is not None:
        try:
            return _fast_b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            pass
    return base64.b64decode(value, validate=True)


def _decode(value: str, name: str, content_id: str) -> bytes:
    try:
        return b64decode_strict(value)
    except (binascii.Error, ValueError):
        pass
    try:  # line-wrapped base64 from older writers
        return b64decode_strict("".join(value.split()))
    except (binascii.Error, ValueError):
        raise AttachmentError(
            f"attachment {name!r} (cid:{content_id}) is not valid base64", content_id=content_id
        ) from None


def _attachments(
    encoded: list[etree._Element], manifest: list[etree._Element]
) -> tuple[Attachment, ...]:
    # Manifest references by content id: [ContentId, AttachmentName, ContentType, Description].
    refs: dict[str, list[str | None]] = {}
    for m in manifest:
        for ref in _children(m).get("Reference", ()):
            rt = _fields(ref, _MANIFEST_REF, 4)
            refs[_content_id(rt[0] or "")] = rt
    out: list[Attachment] = []
    seen: set[str] = set()
    for container in encoded:
        for att in _children(container).get("Attachment", ()):
            # ContentTransferEncoded included: one pass, no second search.
            cid_text, name, content_type, payload, description = _fields(att, _ATTACHMENT, 5)
            if cid_text is None:
                raise AttachmentError(f"attachment {name!r} has no ContentId")
            cid = _content_id(cid_text)
            rt = refs.get(cid, _NO_REF)
            if name is None:
                name = rt[1] or ""
            if payload is None:
                raise AttachmentError(
                    f"attachment {name!r} (cid:{cid}) has no ContentTransferEncoded",
                    content_id=cid,
                )
            out.append(
                Attachment(
                    cid,
                    name,
                    content_type
                    if content_type is not None
                    else rt[2] or "application/octet-stream",
                    _decode(payload, name, cid),
                    description if description is not None else rt[3],
                )
            )
            seen.add(cid)
    for cid, rt in refs.items():
        if cid not in seen:
            name = rt[1] or ""
            raise AttachmentError(
                f"manifest entry {name!r} (cid:{cid}) has no attachment", content_id=cid
            )
    return tuple(out)


# --- messages -------------------------------------------------------------------------------


def _envelope_parts(root: etree._Element) -> tuple[_Children, _Children, _Children]:
    """(root children, envelope children, edXMLHeader children)."""
    if root.tag != _ROOT_TAG:
        raise NotEdXMLError(
            f"root element is {str(root.tag)[:120]!r}, "
            f"not edXML in the QCVN 102 namespace {EDXML_NS}"
        )
    rk = _children(root)
    env = _one(rk, "edXMLEnvelope", "edXML")
    ek = _children(env)
    hk = _children(_one(ek, "edXMLHeader", "edXMLEnvelope"))
    return rk, ek, hk


def _kind(hk: _Children) -> tuple[MessageKind, _Children]:
    """The kind, and the MessageHeader's children (grouped once, read by the caller)."""
    mk = _children(_one(hk, "MessageHeader", "edXMLHeader"))
    if "StatusCode" in mk:
        return MessageKind.STATUS, mk
    # No StatusCode: a document, unless it has neither To nor TraceHeaderList (then it is a
    # status message missing its code, and the error should say so).
    if "To" not in mk and "TraceHeaderList" not in hk:
        return MessageKind.STATUS, mk
    return MessageKind.EDOC, mk


def message_kind(root: etree._Element) -> MessageKind:
    """``status`` when the MessageHeader carries a StatusCode (or looks like a status message:
    no To and no TraceHeaderList), else ``edoc``."""
    return _kind(_envelope_parts(root)[2])[0]


def _read_status(k: _Children) -> StatusMessage:
    p = "MessageHeader"
    t = _pick(k, ("StatusCode", "Description", "Timestamp"))
    code = _required(t, "StatusCode", p)
    try:
        status = StatusCode(code)
    except ValueError:
        raise NotEdXMLError(f"unknown status code {code[:10]!r} in {p}/StatusCode") from None
    return StatusMessage(
        from_=_organ(_one(k, "From", p), p + "/From"),
        response_for=_response_for(_one(k, "ResponseFor", p), p + "/ResponseFor"),
        status_code=status,
        description=t.get("Description"),
        timestamp=_timestamp(t, "Timestamp", p),
        staff_info=_staff_info(k),
    )


def read_tree(
    root: etree._Element,
    check: Callable[[etree._Element, MessageKind], None] | None = None,
) -> EdocMessage | StatusMessage:
    """Read a parsed (or built) edXML tree into the model. Does not verify signatures.

    ``check(root, kind)``, if given, runs once the envelope is located and before anything
    is read (the receiver's schema check: ``validate_envelope``), so that the envelope is
    located once for both instead of twice.
    """
    rk, ek, hk = _envelope_parts(root)
    kind, mk = _kind(hk)
    if check is not None:
        check(root, kind)
    if kind is MessageKind.STATUS:
        return _read_status(mk)
    header = _message_header(mk)
    traces: list[TraceHeader] = []
    bussiness: Bussiness | None = None
    for thl in hk.get("TraceHeaderList", ()):
        tk = _children(thl)
        for th in tk.get("TraceHeader", ()):
            organ_id, timestamp = _fields(th, _TRACE, 2)
            traces.append(
                TraceHeader(
                    organ_id,
                    _parsed(timestamp, _TRACE_PATH, "Timestamp", parse_timestamp, _A_TIMESTAMP),
                )
            )
        if "Bussiness" in tk and bussiness is None:
            bussiness = _bussiness(tk["Bussiness"][0])
    manifest: list[etree._Element] = []
    for body in ek.get("edXMLBody", ()):
        manifest.extend(_children(body).get("edXMLManifest", ()))
    # AttachmentEncoded belongs to the root; tolerate writers that put it in the envelope.
    encoded = rk.get("AttachmentEncoded", []) + ek.get("AttachmentEncoded", [])
    return EdocMessage(
        header=header,
        trace_headers=tuple(traces),
        bussiness=bussiness,
        attachments=_attachments(encoded, manifest),
    )


def _stray_prefix(data: bytes) -> int:
    """How many bytes precede the first ``<`` (after a BOM and whitespace); 0 if none."""
    head = bytes(data[:4096])
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    head = head.lstrip()
    lt = head.find(b"<")
    return len(head) if lt < 0 else lt


def read_message(data: bytes, limits: XmlLimits | None = None) -> EdocMessage | StatusMessage:
    """Parse untrusted bytes safely (``safexml``) and read the message."""
    try:
        tree = parse_bytes(data, limits)
    except NotXMLError as exc:
        stray = _stray_prefix(data) if isinstance(data, bytes | bytearray) else 0
        if stray:
            raise NotXMLError(
                f"not XML: {stray} stray byte(s) before the XML declaration ({exc})"
            ) from None
        raise
    return read_tree(tree.getroot())
