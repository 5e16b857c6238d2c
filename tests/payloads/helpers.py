"""Shared paths and helpers for the payload tests."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import pytest

E = TypeVar("E", bound=BaseException)

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"

# (file, kind) of every example input shipped in examples/.
EXAMPLE_FILES = [
    ("conclusion.yaml", "conclusion"),
    ("conclusion-advertising.json", "conclusion"),
    ("report.yaml", "report"),
    ("report-monthly-4074.yaml", "report"),
    ("directive.yaml", "directive"),
    ("followup.yaml", "followup"),
]


def raises_exactly(cls: type[E], match: str | None = None) -> pytest.RaisesExc[E]:
    """``pytest.raises`` that also refuses subclasses (the exact error class is the contract)."""
    return pytest.raises(cls, match=match, check=lambda e: type(e) is cls)
