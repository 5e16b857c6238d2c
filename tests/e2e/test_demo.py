"""The demo scenario end to end: `interchange demo` as a user runs it, its stores asserted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from interchange.demo.observe import NodeStore
from interchange.demo.scenario import cast_of, demo_directory_path
from interchange.organs import load_directory

pytestmark = pytest.mark.slow


def test_demo_delivers_directive_to_every_district_and_forwards_conclusion(
    tmp_path: Path,
) -> None:
    data = tmp_path / "demo"
    run = subprocess.run(
        [sys.executable, "-m", "interchange", "demo", "--data-dir", str(data)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, f"{run.stdout}\n{run.stderr}"
    assert "Traceback" not in run.stderr
    for name in ("hub", "ministry", "department", "districts"):
        assert (data / "logs" / f"{name}.log").is_file()

    cast = cast_of(load_directory(demo_directory_path()))
    assert len(cast.districts) >= 2
    department = NodeStore(f"sqlite:///{data / 'nodes' / 'department' / 'node.db'}")
    ministry = NodeStore(f"sqlite:///{data / 'nodes' / 'ministry' / 'node.db'}")
    districts = NodeStore(f"sqlite:///{data / 'nodes' / 'districts' / 'node.db'}")
    try:
        rows = department.deliveries(cast.department)
        by_kind: dict[str, list[str]] = {}
        for r in rows:
            by_kind.setdefault(r.kind, []).append(r.recipient)
            # every recipient answered 03 and the sender knows it
            assert (r.state, r.status_code) == ("accepted", "03"), r
        # the directive reached every district of the province (expanded by routing), once
        assert sorted(by_kind["directive"]) == sorted(cast.districts)
        # the conclusion was addressed to nobody: routing forwarded it to the Inspectorate
        assert by_kind["conclusion"] == [cast.inspectorate]

        directive_id = next(r.document_id for r in rows if r.kind == "directive")
        conclusion_id = next(r.document_id for r in rows if r.kind == "conclusion")
        assert districts.received_counts(directive_id) == {c: 1 for c in cast.districts}
        inbox = ministry.inbox(cast.inspectorate)
        assert [(i.document_id, i.valid, i.state) for i in inbox] == [
            (conclusion_id, True, "accepted")
        ]
        assert all(i.valid and i.state == "accepted" for i in districts.inbox())
    finally:
        for store in (department, ministry, districts):
            store.close()
