"""Where the project's data files live (schemas, the demo directory, calendars)."""

from __future__ import annotations

import os
from pathlib import Path

_ROOT = Path(__file__).resolve().parent.parent


def schemas_dir() -> Path:
    """``schemas/`` at the project root (the install is editable), or ``INTERCHANGE_SCHEMAS``."""
    override = os.environ.get("INTERCHANGE_SCHEMAS")
    return Path(override) if override else _ROOT / "schemas"


def data_dir() -> Path:
    """Data shipped inside the package: the demo directory, calendars."""
    return Path(__file__).resolve().parent / "data"
