"""``interchange package | verify | validate | show``: the document commands.

The output of these commands is a contract other tools rely on (issue 2): ``verify --json``
prints one object with at least ``valid``, ``kind``, ``from``, ``to``, ``document_id``,
``subject``, ``status_code``, ``signer_organ``, ``signature_algorithm``, ``stripped_hops``.
"""

from __future__ import annotations

import json
import mimetypes
import uuid
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from ..edxml.model import Attachment, EdocMessage, StatusMessage
from ..errors import InterchangeError
from .files import write_bytes

ExistingFile = Annotated[
    Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="An .edxml file.")
]
JsonFlag = Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")]


class Kind(StrEnum):
    conclusion = "conclusion"
    report = "report"
    directive = "directive"
    followup = "followup"


def summary(message: EdocMessage | StatusMessage) -> dict[str, Any]:
    """The keys shared by ``verify --json`` and ``show --json``."""
    if isinstance(message, EdocMessage):
        bussiness = message.bussiness
        return {
            "kind": "edoc",
            "from": message.sender,
            "to": list(message.recipients),
            "document_id": message.document_id,
            "subject": message.header.subject,
            "status_code": None,
            "bussiness_type": bussiness.doc_type.name.lower() if bussiness else None,
        }
    return {
        "kind": "status",
        "from": message.sender,
        "to": [message.response_for.organ_id],
        "document_id": message.document_id,
        "subject": None,
        "status_code": message.status_code.value,
        "description": message.description,
    }


def _emit(obj: dict[str, Any]) -> None:
    typer.echo(json.dumps(obj, ensure_ascii=False, default=str))


def _refuse(exc: InterchangeError, as_json: bool, **extra: Any) -> typer.Exit:
    if as_json:
        _emit({"valid": False, "reason": str(exc), "error": exc.code, **extra})
    else:
        typer.echo(f"refused: {exc}", err=True)
    return typer.Exit(1)


def package(
    kind: Annotated[Kind, typer.Option("--kind", help="What the structured part is.")],
    input: Annotated[
        Path, typer.Option("--input", exists=True, dir_okay=False, help="JSON or YAML file.")
    ],
    sender: Annotated[str, typer.Option("--from", help="Sender agency code.")],
    to: Annotated[list[str], typer.Option("--to", help="Recipient agency code (repeatable).")],
    key: Annotated[Path, typer.Option("--key", exists=True, dir_okay=False)],
    cert: Annotated[Path, typer.Option("--cert", exists=True, dir_okay=False)],
    out: Annotated[Path, typer.Option("--out", dir_okay=False)],
    attach: Annotated[
        list[Path] | None, typer.Option("--attach", exists=True, dir_okay=False)
    ] = None,
    directory: Annotated[
        Path | None, typer.Option("--directory", exists=True, dir_okay=False)
    ] = None,
) -> None:
    """Package a structured part (and PDFs) as a signed edXML document."""
    from ..organs import load_directory
    from ..packaging import package_document
    from ..payloads import load_payload
    from ..signing import load_signing_key

    try:
        payload = load_payload(kind.value, input)
        files = tuple(
            Attachment(
                content_id=str(uuid.uuid4()),
                name=p.name,
                content_type=mimetypes.guess_type(p.name)[0] or "application/octet-stream",
                data=p.read_bytes(),
            )
            for p in attach or ()
        )
        packaged = package_document(
            payload=payload,
            sender=sender,
            recipients=to,
            key=load_signing_key(key, cert),
            directory=load_directory(directory) if directory else None,
            attachments=files,
        )
    except InterchangeError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    try:
        write_bytes(out, packaged.data)
    except InterchangeError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(
        f"packaged {packaged.document_id} → {', '.join(to)}: {out} ({len(packaged.data)} bytes)"
    )


def verify(
    file: ExistingFile,
    trust: Annotated[
        list[Path], typer.Option("--trust", exists=True, dir_okay=False, help="Trust anchor PEM.")
    ],
    crl: Annotated[list[Path] | None, typer.Option("--crl", exists=True, dir_okay=False)] = None,
    allow_sha1: Annotated[
        bool, typer.Option("--allow-sha1", help="Accept rsa-sha1/sha1 from legacy peers.")
    ] = False,
    lenient: Annotated[
        bool, typer.Option("--lenient", help="Skip the envelope XSD (real senders' order).")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Verify signature, certificate chain, signer binding and schema; exit 0 valid, 1 refused."""
    from ..receiving import SchemaMode, open_document
    from ..signing import VerifyPolicy

    try:
        policy = VerifyPolicy.from_files(trust, crl or [], allow_sha1=allow_sha1)
    except InterchangeError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    try:
        mode: SchemaMode = "lenient" if lenient else "strict"
        received = open_document(file.read_bytes(), policy, schema=mode)
    except InterchangeError as exc:
        raise _refuse(exc, as_json) from None
    result = received.verification
    info = {
        "valid": True,
        **summary(received.message),
        "signer_organ": result.signer_organ,
        "signer_subject": result.signer_subject,
        "signature_algorithm": result.signature_algorithm,
        "digest_algorithm": result.digest_algorithm,
        "stripped_hops": [list(h) for h in result.stripped_hops],
        "payload_kind": _payload_kind(received.payload),
    }
    if as_json:
        _emit(info)
        return
    hops = f", {len(result.stripped_hops)} hub hop(s) removed" if result.stripped_hops else ""
    what = info["subject"] if info["kind"] == "edoc" else f"status {info['status_code']}"
    typer.echo(
        f"valid: {info['kind']} {info['document_id']} from {info['from']} to "
        f"{', '.join(info['to'])}: {what} (signed by {result.signer_organ}, "
        f"{result.signature_algorithm}{hops})"
    )


def _payload_kind(payload: object | None) -> str | None:
    if payload is None:
        return None
    kind = getattr(payload, "kind", None)
    return str(getattr(kind, "value", kind)) if kind is not None else type(payload).__name__


def validate(file: ExistingFile, as_json: JsonFlag = False) -> None:
    """Schema check of the envelope and of any structured part we know; exit 0 / 1."""
    from ..edxml.read import read_tree
    from ..edxml.validate import validate_envelope
    from ..payloads import find_payload_attachment, validate_payload
    from ..safexml import parse_bytes

    try:
        root = parse_bytes(file.read_bytes()).getroot()
        validate_envelope(root)
        message = read_tree(root)
        parts = 0
        if isinstance(message, EdocMessage):
            part = find_payload_attachment(message.attachments)
            if part is not None:
                validate_payload(part.data)
                parts = 1
    except InterchangeError as exc:
        raise _refuse(exc, as_json) from None
    if as_json:
        _emit({"valid": True, "kind": message.kind.value, "structured_parts": parts})
    else:
        typer.echo(f"valid: {message.kind.value} envelope" + (", structured part" if parts else ""))


def show(file: ExistingFile, as_json: JsonFlag = False) -> None:
    """The header and attachments in human form, without verification."""
    from ..edxml.read import read_message

    try:
        message = read_message(file.read_bytes())
    except InterchangeError as exc:
        raise _refuse(exc, as_json) from None
    info: dict[str, Any] = {
        "valid": None,
        **summary(message),
        "signer_organ": None,
        "signature_algorithm": None,
        "stripped_hops": None,
        "attachments": [],
    }
    if isinstance(message, EdocMessage):
        info["attachments"] = [
            {
                "content_id": a.content_id,
                "name": a.name,
                "content_type": a.content_type,
                "size": a.size,
                "description": a.description,
            }
            for a in message.attachments
        ]
    if as_json:
        _emit(info)
        return
    _print_human(message, info)


def _print_human(message: EdocMessage | StatusMessage, info: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column()
    for key in ("kind", "document_id", "from", "to", "subject", "status_code", "bussiness_type"):
        value = info.get(key)
        if value is not None:
            table.add_row(key, ", ".join(value) if isinstance(value, list) else str(value))
    if isinstance(message, EdocMessage):
        h = message.header
        table.add_row("code", str(h.code))
        if h.promulgation_info.date:
            table.add_row("date", h.promulgation_info.date.isoformat())
        if h.due_date:
            table.add_row("due", h.due_date.isoformat())
        for t in message.trace_headers:
            table.add_row("hop", f"{t.organ_id or '?'} {t.timestamp or ''}")
    elif message.description:
        table.add_row("description", message.description)
    console.print(table)
    if info["attachments"]:
        att = Table("name", "type", "bytes")
        for a in info["attachments"]:
            att.add_row(a["name"], a["content_type"], str(a["size"]))
        console.print(att)


def register(app: typer.Typer) -> None:
    app.command()(package)
    app.command()(verify)
    app.command()(validate)
    app.command()(show)
