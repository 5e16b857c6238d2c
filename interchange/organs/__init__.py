"""Agency codes and the agency directory: the hierarchy as data, old codes resolved.

Public surface (import from here)::

    parse_code, is_four_group, normalise_organ_id, check_organ_id, OrganCode
    Agency, AgencyKind, Directory, Resolution, Level
    load_directory, parse_directory, dump_directory, demo_directory_path, load_demo_directory
    generate_national, guess_kind
"""

from __future__ import annotations

from pathlib import Path

from ..resources import data_dir
from .codes import OrganCode, check_organ_id, is_four_group, normalise_organ_id, parse_code
from .directory import Agency, AgencyKind, Directory, Level, Resolution
from .files import directory_to_data, dump_directory, load_directory, parse_directory
from .sync import guess_kind
from .synthetic import generate_national


def demo_directory_path() -> Path:
    """The demo directory shipped with the package (``interchange/data/directory/demo.yaml``)."""
    return data_dir() / "directory" / "demo.yaml"


def load_demo_directory() -> Directory:
    return load_directory(demo_directory_path())


__all__ = [
    "Agency",
    "AgencyKind",
    "Directory",
    "Level",
    "OrganCode",
    "Resolution",
    "check_organ_id",
    "demo_directory_path",
    "directory_to_data",
    "dump_directory",
    "generate_national",
    "guess_kind",
    "is_four_group",
    "load_demo_directory",
    "load_directory",
    "normalise_organ_id",
    "parse_code",
    "parse_directory",
]
