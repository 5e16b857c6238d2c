"""The directory file format: every bad file refused with a one-line DirectoryError."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from interchange.errors import DirectoryError
from interchange.organs import (
    dump_directory,
    generate_national,
    load_demo_directory,
    load_directory,
    parse_directory,
)

PROVINCE = {"code": "000.00.00.H53", "name": "Ủy ban nhân dân tỉnh Tây Ninh", "kind": "province"}
DISTRICT = {
    "code": "000.00.31.H53",
    "name": "Ủy ban nhân dân huyện Bến Cầu",
    "kind": "district",
    "parent": "000.00.00.H53",
}


def _doc(*agencies: Any, **extra: Any) -> dict[str, Any]:
    return {"version": 1, "agencies": list(agencies), **extra}


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_round_trip(tmp_path: Path, suffix: str) -> None:
    demo = load_demo_directory()
    path = tmp_path / f"demo{suffix}"
    dump_directory(demo, path, name="copy")
    assert load_directory(path) == demo
    if suffix == ".json":
        assert json.loads(path.read_text(encoding="utf-8"))["name"] == "copy"
    assert "Tây Ninh" in path.read_text(encoding="utf-8")  # UTF-8, not escapes


def test_round_trip_with_renames(tmp_path: Path) -> None:
    d = parse_directory(_doc(PROVINCE, renames=[{"old": "28.22.H17", "new": "000.00.00.H53"}]))
    dump_directory(d, tmp_path / "r.yaml")
    again = load_directory(tmp_path / "r.yaml")
    assert again == d and again.resolve("28.22.H17").code == "000.00.00.H53"


def test_national_round_trip(tmp_path: Path) -> None:
    d = generate_national()
    dump_directory(d, tmp_path / "n.json")
    assert load_directory(tmp_path / "n.json") == d


def test_minimal_yaml(tmp_path: Path) -> None:
    path = tmp_path / "d.yml"
    path.write_text(
        "version: 1\nagencies:\n"
        "  - {code: 000.00.00.H53, name: UBND tỉnh Tây Ninh, kind: province}\n"
        "  - code: 000.00.31.H53\n    name: UBND huyện Bến Cầu\n    kind: district\n"
        "    parent: 000.00.00.H53\n    old_codes: 28.22.H17\n",
        encoding="utf-8",
    )
    d = load_directory(path)
    assert [a.code for a in d.districts_of("000.00.00.H53")] == ["000.00.31.H53"]
    assert d.resolve("28.22.H17").code == "000.00.31.H53"


BAD_DOCS: list[tuple[str, Any, str]] = [
    ("duplicate", _doc(PROVINCE, PROVINCE), "duplicate agency code 000.00.00.H53"),
    ("unknown-parent", _doc(DISTRICT), "unknown parent 000.00.00.H53"),
    ("cycle", _doc({**PROVINCE, "parent": "000.00.31.H53"}, DISTRICT), "parent cycle"),
    ("old-is-live", _doc(PROVINCE, {**DISTRICT, "old_codes": ["000.00.00.H53"]}), "also a live"),
    (
        "rename-cycle",
        _doc(PROVINCE, renames=[{"old": "a.1", "new": "a.2"}, {"old": "a.2", "new": "a.1"}]),
        "rename cycle",
    ),
    (
        "rename-dangling",
        _doc(PROVINCE, renames=[{"old": "a.1", "new": "000.00.00.H54"}]),
        "not in the directory",
    ),
    ("rename-shape", _doc(PROVINCE, renames=[{"old": "a.1"}]), "rename #1"),
    (
        "renamed-twice",
        _doc(
            PROVINCE, renames=[{"old": "a.1", "new": "000.00.00.H53"}, {"old": "a.1", "new": "a.2"}]
        ),
        "renamed twice",
    ),
    ("version", {"agencies": []}, "version"),
    ("version-2", {"version": 2, "agencies": []}, "version 2"),
    ("not-mapping", [PROVINCE], "expected a mapping"),
    ("agencies-not-list", {"version": 1, "agencies": {"a": 1}}, "must be a list"),
    ("top-key", _doc(PROVINCE, agency=[]), "unknown top-level key 'agency'"),
    ("entry-key", _doc({**PROVINCE, "parnet": "x"}), "unknown key 'parnet'"),
    ("entry-not-mapping", _doc("000.00.00.H53"), "not a mapping"),
    ("code-number", _doc({**PROVINCE, "code": 28.22}), "must be text"),
    ("code-missing", _doc({"name": "x"}), "'code' must be text"),
    ("code-malformed", _doc({**PROVINCE, "code": "000.00.00.H5"}), "four-group"),
    ("code-bad-chars", _doc({**PROVINCE, "code": "000 00 00 H53"}), "agency code"),
    ("name-missing", _doc({"code": "000.00.00.H53"}), "'name'"),
    ("kind", _doc({**PROVINCE, "kind": "county"}), "unknown kind 'county'"),
    ("parent-type", _doc({**PROVINCE, "parent": 5}), "'parent' must be a code"),
    ("old-codes-type", _doc({**PROVINCE, "old_codes": [1]}), "'old_codes'"),
    ("email-type", _doc({**PROVINCE, "email": ["a"]}), "'email' must be text"),
    ("illustrative-type", _doc({**PROVINCE, "illustrative": "yes"}), "'illustrative'"),
]


@pytest.mark.parametrize(("case", "data", "message"), BAD_DOCS, ids=[c[0] for c in BAD_DOCS])
@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_bad_files_refused(tmp_path: Path, case: str, data: Any, message: str, suffix: str) -> None:
    path = tmp_path / f"{case}{suffix}"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")  # JSON is YAML too
    with pytest.raises(DirectoryError) as info:
        load_directory(path)
    text = str(info.value)
    assert message in text and str(path) in text and "\n" not in text


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("broken.yaml", "version: 1\nagencies: [\n", "not valid YAML"),
        ("broken.json", '{"version": 1,', "not valid JSON"),
        ("tag.yaml", "!!python/object/apply:os.system ['true']\n", "not valid YAML"),
        ("empty.yaml", "", "expected a mapping"),
    ],
)
def test_unparseable_files_refused(tmp_path: Path, name: str, content: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DirectoryError, match=message) as info:
        load_directory(path)
    assert "\n" not in str(info.value)


def test_missing_and_binary_files_refused(tmp_path: Path) -> None:
    with pytest.raises(DirectoryError, match="cannot read"):
        load_directory(tmp_path / "absent.yaml")
    (tmp_path / "bin.yaml").write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(DirectoryError, match="cannot read"):
        load_directory(tmp_path / "bin.yaml")


def test_legacy_live_codes_allowed_when_not_strict(tmp_path: Path) -> None:
    data = _doc({"code": "vxp.saas.03", "name": "Đơn vị test vxp 3"})
    with pytest.raises(DirectoryError, match="four-group"):
        parse_directory(data)
    assert "vxp.saas.03" in parse_directory(data, strict_codes=False)
