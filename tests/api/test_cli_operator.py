"""``interchange status``, ``inbox`` (list, accept, refuse, assign) and ``send`` on a node's
real database; answers are signed with the node's keys and audited."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml

from interchange.organs import demo_directory_path
from interchange.store import auth_tables as auth

from .world import DEPT, REPO, A, B, World


def _main(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    from interchange.cli.main import main

    old = sys.argv
    sys.argv = ["interchange", *args]
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    finally:
        sys.argv = old
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(autouse=True)
def _wide(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "220")


@pytest.fixture(scope="module")
def config(world: World, tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("cfg")
    keys = world.ca_cert.parent.parent / "keys"
    cfg = {
        "data_dir": str(tmp / "data"),
        "db_url": world.url,
        "axis": {"kind": "memory", "systemid": "node"},
        "tenants": [
            {"organ": c, "key": str(keys / f"{c}.key.pem"), "cert": str(keys / f"{c}.cert.pem")}
            for c in (DEPT, A, B)
        ],
        "trust": {"anchors": [str(world.ca_cert)]},
        "directory": str(demo_directory_path()),
    }
    path = tmp / "node.yaml"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True), "utf-8")
    return path


def test_status_list_detail_json_and_watch(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _main(["status", "--db", world.url], capsys)
    assert code == 0, err
    assert "812/STTTT-TTra" in out and "documents sent" in out
    code, out, _ = _main(["status", "--db", world.url, "--json", "--overdue"], capsys)
    page = json.loads(out)
    assert [d["id"] for d in page["items"]] == [world.ids["directive"]]
    code, out, _ = _main(["status", str(world.ids["directive"]), "--db", world.url], capsys)
    assert code == 0 and "000.00.34.H53" in out and "failed" in out and "dead" in out
    code, out, _ = _main(
        ["status", str(world.ids["directive"]), "--db", world.url, "--json"], capsys
    )
    detail = json.loads(out)
    assert len(detail["deliveries"]) == 7 and detail["signature"]["signed"] is True
    code, out, _ = _main(
        ["status", "--db", world.url, "--watch", "--interval", "0.2", "--rounds", "2"], capsys
    )
    assert code == 0 and "documents sent" in out
    code, _, err = _main(["status", "no-such-document", "--db", world.url], capsys)
    assert code == 1 and err.strip() == "error: no sent document no-such-document"


def test_inbox_list_and_answers(
    world: World, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _main(["inbox", "--db", world.url, "--json"], capsys)
    items = {i["tenant"]: i for i in json.loads(out)["items"]}
    assert set(items) == {A, B} and items[A]["state"] == "arrived"
    item_a, item_b = items[A]["id"], items[B]["id"]
    code, _, err = _main(
        ["inbox", "refuse", str(item_a), "--reason", "  ", "--config", str(config)], capsys
    )
    assert code == 1 and "needs a reason" in err
    code, out, err = _main(["inbox", "accept", str(item_a), "--config", str(config)], capsys)
    assert code == 0, err
    assert "accepted" in out
    code, out, err = _main(
        ["inbox", "assign", str(item_a), "--to", "Phòng Văn hóa", "--config", str(config)], capsys
    )
    assert code == 0 and "assigned" in out, err
    code, out, err = _main(
        [
            "inbox",
            "refuse",
            str(item_b),
            "--reason",
            "Không đúng thẩm quyền",
            "--config",
            str(config),
        ],
        capsys,
    )
    assert code == 0 and "refused" in out, err
    with world.engine.connect() as conn:
        entries = [e for e in auth.list_audit(conn, 6) if e.result != auth.STARTED]
    assert [e.action for e in entries] == ["inbox.02", "inbox.04", "inbox.03"]
    assert entries[0].actor.startswith("cli") and entries[0].tenant == B
    code, out, _ = _main(["inbox", "--db", world.url], capsys)
    assert "refused" in out and "assigned" in out


def test_send_with_progress_and_refusals(
    world: World, config: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("number: 1\n", "utf-8")
    example = REPO / "examples" / "directive.yaml"
    code, out, err = _main(
        [
            "send",
            str(example),
            str(bad),
            "--kind",
            "directive",
            "--from",
            DEPT,
            "--config",
            str(config),
            "--json",
        ],
        capsys,
    )
    assert code == 1, err
    good, failed = json.loads(out)
    assert good["error"] is None and good["deliveries"] >= 5
    assert failed["document_id"] is None and failed["error"]
    code, _, err = _main(["send", str(example), "--config", str(config)], capsys)
    assert code == 1 and "--from" in err


def test_app_mounted_on_a_real_node(world: World, config: Path) -> None:
    """``create_api_app(settings, node=node)``: the node's engine, keys, directory, routing
    and certificates (readiness) are the app's."""
    from fastapi.testclient import TestClient

    from interchange.api import ApiSettings, create_api_app
    from interchange.node.node import load_node

    node = load_node(config)
    try:
        app = create_api_app(ApiSettings(database_url=world.url), node=node)
        c = TestClient(app, raise_server_exceptions=False)
        every = {"Authorization": f"Bearer {world.tokens['root']}"}  # node-wide figures
        ready = c.get("/readyz", headers=every).json()
        assert ready["ready"] is True
        assert [k["name"] for k in ready["checks"]].count("certificate") == 3
        assert "interchange_certificate_days_left" in c.get("/metrics", headers=every).text
        h = {"Authorization": f"Bearer {world.tokens['dept']}"}
        signed = (REPO / "examples" / "directive.yaml").read_text("utf-8")
        payload = {**yaml.safe_load(signed), "number": "990"}
        spec = {"sender": DEPT, "kind": "directive", "payload": payload}
        r = c.post("/api/v1/submit", headers=h, data={"document": json.dumps(spec, default=str)})
        assert r.status_code == 201, r.text
        assert A in r.json()["recipients"]
        again = c.post(
            "/api/v1/submit", headers=h, data={"document": json.dumps(spec, default=str)}
        )
        assert again.status_code == 409 and again.json()["code"] == "duplicate-document"
        assert c.get("/api/v1/directory/000.00.31.H53", headers=h).json()["kind"] == "district"
    finally:
        node.close()
