"""Drop folders: the submission path for agencies whose systems can only write files.

A file put in a tenant's drop folder is submitted, then moved to ``done/`` or to
``failed/`` beside a ``<name>.reason`` file holding the one-line error. Two forms:

- a ready, signed ``.edxml`` (or ``.xml``) document from that agency: verified as the
  node's inbox verifies what arrives (signature, trusted certificate, signer = that
  agency), then sent as it is;
- an envelope ``.json`` / ``.yaml`` / ``.yml``::

      kind: directive                  # conclusion | report | directive | followup
      recipients: [000.00.31.H53, districts-of:000.00.00.H53]   # optional for directives
      document_id: null                # optional
      bussiness: {type: revoke, document_id: "...", reason: "..."}   # optional (types 1-3)
      attachments: [{path: letter.pdf, content_type: application/pdf}]  # beside the envelope
      payload: { ...the structured part... }

Writers should write under a temporary name (leading ``.`` or ending ``.tmp`` / ``.part``)
and rename; such files are skipped. While the files cannot be moved (``done`` not a
directory, a read-only file system), none is submitted. A file submitted twice (e.g. after
a crash between the commit and the move) is recognised by its DocumentId and moved to
``done/``.
"""

from __future__ import annotations

import errno
import json
import logging
import mimetypes
import os
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..delivery.outbox import DuplicateDocumentError
from ..edxml.model import Attachment, Bussiness, BussinessDocType
from ..errors import ConfigError, FormatError, InterchangeError

log = logging.getLogger(__name__)

MAX_FILE = 50 * 1024 * 1024
ENVELOPE_SUFFIXES = (".json", ".yaml", ".yml")
DOCUMENT_SUFFIXES = (".edxml", ".xml")
_ENVELOPE_KEYS = {"kind", "recipients", "payload", "document_id", "bussiness", "attachments"}
_BUSSINESS = {
    "revoke": BussinessDocType.REVOKE,
    "update": BussinessDocType.UPDATE,
    "replace": BussinessDocType.REPLACE,
    "1": BussinessDocType.REVOKE,
    "2": BussinessDocType.UPDATE,
    "3": BussinessDocType.REPLACE,
}


@dataclass(frozen=True, slots=True)
class Envelope:
    kind: str
    payload: dict[str, Any]
    recipients: tuple[str, ...] = ()
    document_id: str | None = None
    bussiness: Bussiness | None = None
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True, slots=True)
class DropResult:
    path: Path
    ok: bool
    detail: str


def read_envelope(path: Path) -> Envelope:
    """Parse and check an envelope file; attachments are read from beside it."""
    text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise FormatError(f"{path.name}: not valid JSON/YAML: {first}") from None
    if not isinstance(data, dict):
        raise FormatError(f"{path.name}: expected a mapping with kind and payload")
    unknown = set(data) - _ENVELOPE_KEYS
    if unknown:
        raise FormatError(f"{path.name}: unknown key {sorted(unknown)[0]!r}")
    kind, payload = data.get("kind"), data.get("payload")
    if not isinstance(kind, str) or not isinstance(payload, dict):
        raise FormatError(f"{path.name}: needs 'kind' (text) and 'payload' (a mapping)")
    recipients = data.get("recipients") or []
    if not isinstance(recipients, list) or not all(isinstance(r, str) for r in recipients):
        raise FormatError(f"{path.name}: 'recipients' must be a list of agency codes")
    b = data.get("bussiness")
    bussiness = None
    if b is not None:
        if (
            not isinstance(b, dict)
            or str(b.get("type")) not in _BUSSINESS
            or not b.get("document_id")
        ):
            raise FormatError(
                f"{path.name}: 'bussiness' needs type (revoke|update|replace) and document_id"
            )
        bussiness = Bussiness(
            doc_type=_BUSSINESS[str(b["type"])],
            document_id=str(b["document_id"]),
            reason=str(b["reason"]) if b.get("reason") else None,
            paper=0,
        )
    attachments = []
    for a in data.get("attachments") or []:
        if not isinstance(a, dict) or not isinstance(a.get("path"), str):
            raise FormatError(f"{path.name}: each attachment needs a 'path'")
        apath = (path.parent / a["path"]).resolve()
        if apath.parent != path.parent.resolve():
            raise FormatError(f"{path.name}: attachment {a['path']} must sit beside the envelope")
        try:
            content = apath.read_bytes()
        except OSError as exc:
            raise FormatError(
                f"{path.name}: cannot read attachment {a['path']}: {exc.strerror}"
            ) from None
        ctype = (
            a.get("content_type")
            or mimetypes.guess_type(apath.name)[0]
            or "application/octet-stream"
        )
        attachments.append(
            Attachment(
                content_id=str(uuid.uuid4()),
                name=str(a.get("name") or apath.name),
                content_type=str(ctype),
                data=content,
            )
        )
    doc_id = data.get("document_id")
    return Envelope(
        kind=kind,
        payload=payload,
        recipients=tuple(recipients),
        document_id=str(doc_id) if doc_id else None,
        bussiness=bussiness,
        attachments=tuple(attachments),
    )


def _candidates(folder: Path) -> list[Path]:
    out = []
    for p in sorted(folder.iterdir()):
        name = p.name
        if not p.is_file() or name.startswith(".") or name.endswith((".tmp", ".part", ".reason")):
            continue
        if p.suffix.lower() in ENVELOPE_SUFFIXES + DOCUMENT_SUFFIXES:
            out.append(p)
    return out


def _attachment_names(path: Path) -> list[Path]:
    """Files an envelope names as attachments (moved along with it)."""
    try:
        env = read_envelope(path)
    except (InterchangeError, OSError, UnicodeDecodeError):
        return []
    return [path.parent / a.name for a in env.attachments if (path.parent / a.name).is_file()]


def _move(path: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / path.name
    n = 1
    while target.exists():
        target = folder / f"{path.stem}.{n}{path.suffix}"
        n += 1
    path.replace(target)
    return target


def os_reason(exc: OSError) -> str:
    """One line for an ``OSError``: the path(s) and the system's reason, no errno noise."""
    what = exc.strerror or str(exc) or type(exc).__name__
    paths = [str(f) for f in (exc.filename, exc.filename2) if f is not None]
    return f"{' -> '.join(paths)}: {what}" if paths else what


def _writable(folder: Path) -> None:
    """Raise ``OSError`` unless a file can be created in ``folder`` (checked for real: a
    read-only file system refuses root too, whatever the permission bits say)."""
    fd, name = tempfile.mkstemp(prefix=".probe-", suffix=".tmp", dir=folder)
    os.close(fd)
    os.unlink(name)


def _ready(folder: Path) -> None:
    """Make sure every file can be moved out of ``folder`` before any is submitted: a file
    submitted but left in place would be submitted again on every pass."""
    for sub in (folder / "done", folder / "failed"):
        if sub.exists() and not sub.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, "exists but is not a directory", str(sub))
        sub.mkdir(exist_ok=True)
    for d in (folder, folder / "done", folder / "failed"):
        _writable(d)


def process_folder(
    folder: Path,
    *,
    submit_envelope: Callable[[Envelope], str],
    submit_document: Callable[[bytes], str],
) -> list[DropResult]:
    """Submit every finished file in ``folder``; move each to ``done/`` or ``failed/``.

    Raises ``OSError`` (nothing submitted) when the files could not be moved afterwards:
    ``done/`` or ``failed/`` cannot be made, or the folders cannot be written.
    """
    if not folder.is_dir():
        raise ConfigError(f"drop folder {folder} does not exist")
    candidates = _candidates(folder)
    if candidates:
        _ready(folder)
    results = []
    for path in candidates:
        is_env = path.suffix.lower() in ENVELOPE_SUFFIXES
        extra = _attachment_names(path) if is_env else []
        try:
            if path.stat().st_size > MAX_FILE:
                raise FormatError(f"{path.name}: larger than {MAX_FILE} bytes")
            if is_env:
                detail = submit_envelope(read_envelope(path))
            else:
                detail = submit_document(path.read_bytes())
            ok = True
        except DuplicateDocumentError as exc:
            ok, detail = True, f"already submitted: {exc}"
        except (InterchangeError, OSError, UnicodeDecodeError) as exc:
            ok = False
            detail = (
                str(exc) if isinstance(exc, InterchangeError) else f"{type(exc).__name__}: {exc}"
            )
        dest = folder / ("done" if ok else "failed")
        moved = _move(path, dest)
        for att in extra:
            if att.exists():
                _move(att, dest)
        if not ok:
            moved.with_name(moved.name + ".reason").write_text(detail + "\n", encoding="utf-8")
            log.warning("drop folder: %s refused: %s", path.name, detail)
        results.append(DropResult(moved, ok, detail))
    return results
