"""The node config: the example parses; unsafe or inconsistent set-ups are refused."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from interchange.errors import ConfigError
from interchange.node.config import load_config, parse_config

EXAMPLE = Path(__file__).resolve().parents[2] / "interchange" / "node" / "example-node.yaml"


def example() -> dict[str, Any]:
    return yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))


def test_example_parses_with_paths_relative_to_the_file() -> None:
    cfg = load_config(EXAMPLE)
    assert cfg.tenants[0].organ == "000.00.13.H53"
    assert cfg.tenants[0].key.is_absolute()
    assert cfg.tenants[0].key.parent == EXAMPLE.parent / "pki"
    assert cfg.database_url == f"sqlite:///{EXAMPLE.parent / 'data' / 'node.db'}"
    assert cfg.routing[0].add == ("@inspectorate",)
    assert cfg.trust.allow_sha1 is False


def _broken(edit: str) -> dict[str, Any]:
    data = copy.deepcopy(example())
    if edit == "no-secret":
        del data["axis"]["secret_file"]
    elif edit == "short-secret":
        del data["axis"]["secret_file"]
        data["axis"]["secret"] = "abc"
    elif edit == "no-anchors":
        data["trust"]["anchors"] = []
    elif edit == "no-tenants":
        data["tenants"] = []
    elif edit == "twice":
        data["tenants"].append(data["tenants"][0])
    elif edit == "unknown-key":
        data["tenants"][0]["autoaccept"] = False
    elif edit == "no-axis":
        del data["axis"]
    elif edit == "rule-without-directory":
        del data["directory"]
    elif edit == "backoff":
        data["backoff_max"] = 1.0
    elif edit == "no-data-dir":
        del data["data_dir"]
    return data


@pytest.mark.parametrize(
    "edit",
    [
        "no-secret",
        "short-secret",
        "no-anchors",
        "no-tenants",
        "twice",
        "unknown-key",
        "no-axis",
        "rule-without-directory",
        "backoff",
        "no-data-dir",
    ],
)
def test_unsafe_or_inconsistent_config_is_refused(edit: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(_broken(edit), base_dir=tmp_path)
    assert "\n" not in str(info.value)


def test_unreadable_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        load_config(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("data_dir: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
    bad.write_text("- just a list\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_config(bad)
