"""Structured parts to and from XML in ``urn:interchange:inspection:1``, checked by our XSDs.

The mapping is generic and driven by the pydantic models, so model and XML cannot drift
apart silently: each field becomes an element named in camelCase, in field order; ``None``
and empty tuples are omitted; a tuple becomes a container holding one element per item
(``violations/violation``). The XSDs in ``schemas/payloads/v1/`` spell the same shape out with
real types, and every document we write or read is validated against them (the hypothesis
round-trip test keeps the two in step).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import threading
import types
import typing
from dataclasses import dataclass
from enum import Enum
from typing import Any

from lxml import etree
from pydantic import BaseModel, ValidationError

from ..errors import PayloadError, SchemaError
from ..resources import schemas_dir
from ..safexml import SCHEMA_COMPILE_LOCK, parse_bytes
from .model import (
    SCHEMA_VERSION,
    Conclusion,
    Directive,
    FollowUpReport,
    Payload,
    PayloadKind,
    PeriodicReport,
)

NS = f"urn:interchange:inspection:{SCHEMA_VERSION}"
NS_PREFIX = "urn:interchange:inspection:"

ROOTS: dict[PayloadKind, str] = {
    PayloadKind.CONCLUSION: "inspectionConclusion",
    PayloadKind.REPORT: "periodicReport",
    PayloadKind.DIRECTIVE: "directive",
    PayloadKind.FOLLOWUP: "followUpReport",
}
_KIND_BY_TAG = {f"{{{NS}}}{name}": kind for kind, name in ROOTS.items()}
_CLASSES: dict[PayloadKind, type[BaseModel]] = {
    PayloadKind.CONCLUSION: Conclusion,
    PayloadKind.REPORT: PeriodicReport,
    PayloadKind.DIRECTIVE: Directive,
    PayloadKind.FOLLOWUP: FollowUpReport,
}

# Element name of one item of each tuple field.
_ITEMS = {
    "findings": "finding",
    "violations": "violation",
    "actions": "action",
    "recipients": "recipient",
    "targets": "target",
    "remedies": "remedy",
}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def _unwrap(tp: Any) -> Any:
    """Strip ``Annotated`` and ``X | None`` down to the type a value is made of."""
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
        elif origin is typing.Union or origin is types.UnionType:
            tp = next(a for a in typing.get_args(tp) if a is not type(None))
        else:
            return tp


@dataclass(frozen=True, slots=True)
class _Slot:
    """How one model field maps to XML: its element, and for tuples the item element."""

    name: str
    tag: str  # Clark notation
    item_tag: str | None  # set for tuple fields
    type: Any  # the value's (or item's) plain type


@functools.cache
def _plan(cls: type[BaseModel]) -> tuple[_Slot, ...]:
    # Computed once per model class: the per-document work is then plain loops.
    slots = []
    for name, info in cls.model_fields.items():
        tp = _unwrap(info.annotation)
        item_tag = None
        if typing.get_origin(tp) is tuple:
            item_tag = f"{{{NS}}}{_ITEMS[name]}"
            tp = _unwrap(typing.get_args(tp)[0])
        slots.append(_Slot(name, f"{{{NS}}}{_camel(name)}", item_tag, tp))
    return tuple(slots)


# --- writing -----------------------------------------------------------------------------


def _scalar_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _write_value(parent: etree._Element, tag: str, value: object) -> None:
    el = etree.SubElement(parent, tag)
    if isinstance(value, BaseModel):
        _write_fields(el, value)
    else:
        el.text = _scalar_text(value)


def _write_fields(parent: etree._Element, model: BaseModel) -> None:
    for slot in _plan(type(model)):
        value = getattr(model, slot.name)
        if value is None or value == ():
            continue
        if slot.item_tag is not None:
            container = etree.SubElement(parent, slot.tag)
            for item in value:
                _write_value(container, slot.item_tag, item)
        else:
            _write_value(parent, slot.tag, value)


def payload_kind(p: Payload) -> PayloadKind:
    return type(p).kind


def payload_to_element(p: Payload) -> etree._Element:
    nsmap: Any = {None: NS}
    root = etree.Element(f"{{{NS}}}{ROOTS[payload_kind(p)]}", nsmap=nsmap)
    root.set("schemaVersion", SCHEMA_VERSION)
    _write_fields(root, p)
    return root


def payload_to_xml(p: Payload) -> bytes:
    """The structured part as a UTF-8 XML document, validated against our XSD before return."""
    root = payload_to_element(p)
    validate_payload(root)  # what we write must validate; a failure here is our bug
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


# --- validation --------------------------------------------------------------------------

_local = threading.local()


def _schema() -> etree.XMLSchema:
    # Compiled once per thread: lxml validators keep a per-instance error log.
    schema: etree.XMLSchema | None = getattr(_local, "schema", None)
    if schema is None:
        path = schemas_dir() / "payloads" / f"v{SCHEMA_VERSION}" / "payloads.xsd"
        try:
            with SCHEMA_COMPILE_LOCK:
                schema = etree.XMLSchema(etree.parse(str(path)))
        except (OSError, etree.XMLSchemaParseError, etree.XMLSyntaxError) as exc:
            raise SchemaError(f"cannot load payload schema {path}: {exc}") from None
        _local.schema = schema
    return schema


def _readable_path(el: etree._Element) -> str:
    parts = []
    node: etree._Element | None = el
    while node is not None:
        name = etree.QName(node).localname
        parent = node.getparent()
        if parent is not None:
            same = [c for c in parent if c.tag == node.tag]
            if len(same) > 1:
                name += f"[{same.index(node) + 1}]"
        parts.append(name)
        node = parent
    return "/" + "/".join(reversed(parts))


def validate_payload(root_or_bytes: etree._Element | bytes) -> PayloadKind:
    """Check a structured part against our XSD; return its kind or raise ``SchemaError``
    (element path and line) / ``PayloadError`` (not one of our parts at all)."""
    if isinstance(root_or_bytes, bytes | bytearray | memoryview):
        root = parse_bytes(bytes(root_or_bytes), remove_comments=True).getroot()
    else:
        root = root_or_bytes
    kind = _identify(root)
    schema = _schema()
    if schema.validate(root):
        return kind
    entry: Any = schema.error_log[0]  # type: ignore[index]  # lxml-stubs lack __getitem__
    message = entry.message.replace(f"{{{NS}}}", "")
    path = None
    try:
        found = root.getroottree().xpath(entry.path) if entry.path else []
    except etree.XPathError:
        found = []
    if isinstance(found, list) and found and isinstance(found[0], etree._Element):
        path = _readable_path(found[0])
    line = entry.line or None
    raise SchemaError(
        f"{ROOTS[kind]} breaks schema v{SCHEMA_VERSION}: {message}", path=path, line=line
    )


def _identify(root: etree._Element) -> PayloadKind:
    if not isinstance(root.tag, str):
        raise PayloadError("not a structured part: the root is not an element")
    kind = _KIND_BY_TAG.get(root.tag)
    if kind is not None:
        return kind
    qname = etree.QName(root)
    ns = qname.namespace or ""
    if ns.startswith(NS_PREFIX) and ns != NS:
        raise PayloadError(f"unsupported structured-part version {ns} (this service reads {NS})")
    raise PayloadError(f"not a structured part we know: root element {{{ns}}}{qname.localname}")


def identify_payload(root: etree._Element) -> PayloadKind | None:
    """The kind of part this root is, or ``None`` if it is not one of ours (no validation)."""
    return _KIND_BY_TAG.get(root.tag) if isinstance(root.tag, str) else None


# --- reading -----------------------------------------------------------------------------


def _leaf_text(el: etree._Element) -> str:
    # A comment or PI inside signed text must not truncate it (LIBRARIES.md).
    if len(el) == 0:
        return el.text or ""
    return "".join(str(t) for t in el.itertext())


_CONVERT: dict[Any, Any] = {
    bool: lambda s: s.strip() in ("true", "1"),
    int: lambda s: int(s.strip()),
    dt.date: lambda s: dt.date.fromisoformat(s.strip()),
    str: lambda s: s,
}


def _read_value(el: etree._Element, tp: Any) -> Any:
    return _reader(tp)(el)


_Reader = typing.Callable[[etree._Element], Any]


@functools.cache
def _reader(tp: Any) -> _Reader:
    """Element → value for one plain type, decided once per type: the subclass checks
    (pydantic's metaclass makes ``issubclass`` slow) stay off the per-element path."""
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return functools.partial(_read_fields, cls=tp)
    if isinstance(tp, type) and issubclass(tp, Enum):
        enum = tp
        return lambda el: enum(_leaf_text(el).strip())
    convert = _CONVERT[tp]
    if tp is str:
        return _leaf_text
    return lambda el: convert(_leaf_text(el))


@functools.cache
def _readers(cls: type[BaseModel]) -> tuple[tuple[str, str, bool, _Reader], ...]:
    """Per field: (name, Clark tag, is a tuple field, reader of one value)."""
    return tuple(
        (slot.name, slot.tag, slot.item_tag is not None, _reader(slot.type))
        for slot in _plan(cls)
    )


def _read_fields(el: etree._Element, cls: type[BaseModel]) -> dict[str, Any]:
    # Only called on XSD-valid trees: every child is ours, in order, at most once.
    children = {c.tag: c for c in el if isinstance(c.tag, str)}
    out: dict[str, Any] = {}
    for name, tag, many, read in _readers(cls):
        child = children.get(tag)
        if child is None:
            continue
        if many:
            out[name] = tuple(read(c) for c in child if isinstance(c.tag, str))
        else:
            out[name] = read(child)
    return out


def payload_from_element(root: etree._Element) -> Payload:
    kind = validate_payload(root)
    cls = _CLASSES[kind]
    try:
        data = _read_fields(root, cls)
        return typing.cast(Payload, cls.model_validate(data))
    except ValidationError as exc:
        from .io import describe_validation_error

        raise PayloadError(describe_validation_error(kind, exc)) from None
    except ValueError as exc:  # a value the XSD let through but Python cannot read
        raise PayloadError(f"{kind.value}: {exc}") from None


def payload_from_xml(data: bytes) -> Payload:
    """Parse (safely), validate and read a structured part; ``SchemaError`` / ``PayloadError``."""
    root = parse_bytes(data, remove_comments=True).getroot()
    return payload_from_element(root)


_XML_TYPE = re.compile(r"^(application|text)/([a-z0-9.+-]+\+)?xml$")


def is_xml_content_type(content_type: str | None) -> bool:
    base = (content_type or "").split(";", 1)[0].strip().lower()
    return bool(_XML_TYPE.match(base))
