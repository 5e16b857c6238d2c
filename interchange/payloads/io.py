"""Loading structured parts from JSON/YAML input files (the ``package --input`` path).

Every failure is one ``PayloadError`` line naming the kind and the field path
(``conclusion: violations.0.fine_vnd: Input should be greater than or equal to 0``), so a
clerk can fix the file without reading a traceback.
"""

from __future__ import annotations

import json
import re
import typing
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ..errors import PayloadError
from .model import MODELS, Payload, PayloadKind

MAX_INPUT_BYTES = 16 * 1024 * 1024
_OWN_FIELD = re.compile(r"^([A-Za-z_]\w*(?:\.\w+)*): (.*)$", re.DOTALL)


def _kind(kind: PayloadKind | str) -> PayloadKind:
    try:
        return PayloadKind(kind)
    except ValueError:
        names = ", ".join(k.value for k in PayloadKind)
        raise PayloadError(f"unknown payload kind {kind!r} (one of {names})") from None


def describe_validation_error(kind: PayloadKind, exc: ValidationError) -> str:
    """One line: the first error's field path and message, and how many more there are."""
    errors = exc.errors(include_url=False, include_context=False, include_input=False)
    if not errors:
        return f"{kind.value}: invalid"
    first = errors[0]
    path = ".".join(str(p) for p in first["loc"])
    msg = str(first["msg"])
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    # Model-level rules name their own field ("violations.0.remedy_deadline: ..."): join it
    # to the location so the path is always one dotted name.
    own = _OWN_FIELD.match(msg)
    if own:
        path = f"{path}.{own[1]}" if path else own[1]
        msg = own[2]
    text = f"{kind.value}: {path}: {msg}" if path else f"{kind.value}: {msg}"
    if len(errors) > 1:
        text += f" (and {len(errors) - 1} more)"
    return text


def payload_from_dict(kind: PayloadKind | str, data: Any) -> Payload:
    """Validate a mapping (from JSON, YAML or an API body) into the model of ``kind``."""
    k = _kind(kind)
    if not isinstance(data, dict):
        got = type(data).__name__
        raise PayloadError(f"{k.value}: expected a mapping at the top level, got {got}")
    try:
        return typing.cast(Payload, MODELS[k].model_validate(data))
    except ValidationError as exc:
        raise PayloadError(describe_validation_error(k, exc)) from None


def load_payload(kind: PayloadKind | str, path: Path) -> Payload:
    """Read ``path`` (``.json``, or ``.yaml``/``.yml``) as a structured part of ``kind``."""
    k = _kind(kind)
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".json", ".yaml", ".yml"):
        raise PayloadError(f"{path.name}: input must be .json, .yaml or .yml")
    try:
        if path.stat().st_size > MAX_INPUT_BYTES:
            raise PayloadError(f"{path.name}: larger than {MAX_INPUT_BYTES} bytes")
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PayloadError(f"{path.name}: cannot read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise PayloadError(f"{path.name}: not UTF-8 text") from None
    try:
        data = json.loads(text) if suffix == ".json" else yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise PayloadError(f"{path.name}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or "syntax error"
        raise PayloadError(f"{path.name}: not valid YAML ({where}{problem})") from None
    except ValueError as exc:  # PyYAML builds dates itself: 2024-02-30 raises here
        raise PayloadError(f"{path.name}: not valid YAML ({exc})") from None
    except RecursionError:
        raise PayloadError(f"{path.name}: nested too deeply") from None
    return payload_from_dict(k, data)
