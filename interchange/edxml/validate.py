"""Schema check of an edXML envelope with lxml's XMLSchema (hot path: tens of µs on 5 KB).

Two schemas share one root name (``edXML``), so the document or status schema is picked by
content: a MessageHeader with a StatusCode is a status message. Schemas are compiled once per
thread (lxml schema objects are not shared across threads) and loaded through a parser that
refuses network access and DTDs, with a resolver that only opens files under ``schemas/``.

``explain`` re-runs the check with xmlschema for fuller messages (~35× slower; for the CLI's
``validate`` command and for humans, never on the hot path).
"""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

from lxml import etree

from ..errors import ConfigError, SchemaError
from ..resources import schemas_dir
from ..safexml import SCHEMA_COMPILE_LOCK
from .model import EDXML_NS, MessageKind
from .read import message_kind

EDOC_SCHEMA = "edxml/edxml-edoc.xsd"
STATUS_SCHEMA = "edxml/edxml-status.xsd"

_local = threading.local()
_STEP = re.compile(r"^(?:[^:\[]+:)?([^\[]+)(?:\[(\d+)\])?$")


class _LocalOnly(etree.Resolver):
    """Resolve schema includes/imports only to files under the schemas directory."""

    def __init__(self, base: Path) -> None:
        super().__init__()
        self._base = base.resolve()

    def resolve(  # type: ignore[override]
        self, system_url: str, public_id: str, context: Any
    ) -> Any:
        url = system_url.removeprefix("file://")
        path = Path(url).resolve()
        if "://" in url or not path.is_relative_to(self._base):
            raise ConfigError(f"schema reference outside {self._base}: {system_url}")
        return self.resolve_filename(str(path), context)  # type: ignore[attr-defined]


def _load(relative: str) -> etree.XMLSchema:
    base = schemas_dir()
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False
    )
    parser.resolvers.add(_LocalOnly(base))
    path = base / relative
    try:
        with SCHEMA_COMPILE_LOCK:
            doc = etree.parse(str(path), parser)
            return etree.XMLSchema(doc)
    except (OSError, etree.XMLSyntaxError, etree.XMLSchemaParseError) as exc:
        raise ConfigError(f"cannot load schema {path}: {exc}") from None


def schema_for(kind: str) -> etree.XMLSchema:
    """The compiled schema for ``edoc`` or ``status`` (cached per thread)."""
    cache: dict[str, etree.XMLSchema] | None = getattr(_local, "schemas", None)
    if cache is None:
        cache = _local.schemas = {}
    schema = cache.get(kind)
    if schema is None:
        schema = cache[kind] = _load(STATUS_SCHEMA if kind == "status" else EDOC_SCHEMA)
    return schema


def _readable_path(root: etree._Element, raw: str | None) -> str | None:
    """libxml2's ``/*/edXML:edXMLEnvelope/*[2]/...`` → ``/edXML/edXMLEnvelope/...``.

    libxml2 writes ``*[n]`` (n-th element child) for elements in a default namespace, so the
    path is walked on the tree to name every step by its local name.
    """
    if not raw or not raw.startswith("/"):
        return None
    steps = raw.strip("/").split("/")
    names = []
    current: etree._Element | None = None
    for step in steps:
        m = _STEP.match(step)
        if m is None:
            return raw
        name, index = m.group(1), int(m.group(2) or 1)
        if current is None:
            current = root
        else:
            kids = [c for c in current if isinstance(c.tag, str)]
            if name != "*":
                kids = [c for c in kids if etree.QName(c).localname == name]
            if len(kids) < index:
                return raw
            current = kids[index - 1]
        local = etree.QName(current).localname
        same = [c for c in (current.itersiblings(preceding=True)) if c.tag == current.tag]
        names.append(local + (f"[{len(same) + 1}]" if same else ""))
    return "/" + "/".join(names)


def validate_envelope(root: etree._Element, kind_of: MessageKind | None = None) -> None:
    """Raise ``SchemaError`` (message, element path, line) unless the envelope is valid.

    ``kind_of``: the message kind when the caller already knows it (``read_tree``'s check
    hook); otherwise it is read from the tree (NotEdXMLError if there is no envelope)."""
    # A StrEnum member is its value as a key and in text (``.value`` is a Python-level
    # descriptor: skipped on this hot path).
    kind: str = kind_of or message_kind(root)
    schema = schema_for(kind)
    if schema.validate(root):
        return
    log: Any = schema.error_log  # lxml-stubs do not declare _ErrorLog iterable
    entry = next(iter(log), None)  # the first is the cause; later ones echo it
    if entry is None:  # pragma: no cover - libxml2 always logs the failure
        raise SchemaError(f"edXML {kind} message is not valid")
    message = entry.message
    # libxml2 prefixes messages with "Element '{ns}Local': ..." — shorten the Clark names.
    message = message.replace("{" + EDXML_NS + "}", "edXML:").replace(
        "{http://www.w3.org/2000/09/xmldsig#}", "ds:"
    )
    raise SchemaError(
        f"edXML {kind} message breaks the schema: {message}",
        path=_readable_path(root, entry.path),
        line=entry.line if entry.line and entry.line > 0 else None,
    )


def is_valid(root: etree._Element) -> bool:
    """``validate_envelope`` as a yes/no."""
    try:
        validate_envelope(root)
    except SchemaError:
        return False
    return True


def explain(root: etree._Element) -> list[str]:
    """Every schema violation, as xmlschema words them (slow; for people, not the hot path)."""
    import xmlschema

    kind = message_kind(root).value
    path = schemas_dir() / (STATUS_SCHEMA if kind == "status" else EDOC_SCHEMA)
    schema = _xmlschema_cache.get(str(path))
    if schema is None:
        schema = _xmlschema_cache[str(path)] = xmlschema.XMLSchema(
            str(path), allow="local", defuse="always"
        )
    out = []
    for err in schema.iter_errors(root):
        where = err.path or ""
        line = getattr(err.elem, "sourceline", None) if err.elem is not None else None
        reason = " ".join((err.reason or str(err)).split())
        out.append(f"{where}{f' (line {line})' if line else ''}: {reason}")
    return out


_xmlschema_cache: dict[str, Any] = {}
