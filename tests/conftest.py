"""Fixtures shared by every test package."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO.parent / "shared" / "samples" / "vxp"


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    """The axis operator's reference edXML files (read in place, never copied)."""
    if not SAMPLES.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"reference samples missing at {SAMPLES}")
        pytest.skip(f"reference samples missing at {SAMPLES}")
    return SAMPLES
