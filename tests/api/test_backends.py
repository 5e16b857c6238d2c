"""The operator face on both stores: concurrent audit appends keep one unbroken chain, and
the API's reads and actions behave the same on PostgreSQL (``INTERCHANGE_TEST_PG_URL``; a
failure, not a skip, when ``CI`` is set and it is missing)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from interchange.api import ApiSettings, create_api_app
from interchange.api.database import open_database
from interchange.store import auth_tables as auth
from interchange.store.db import normalise_url

from .world import A, B, build_world


@pytest.fixture
def pg_url() -> Iterator[str]:
    url = os.environ.get("INTERCHANGE_TEST_PG_URL")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("INTERCHANGE_TEST_PG_URL is not set (.ci/setup.d/10-postgres.sh)")
        pytest.skip("no PostgreSQL (INTERCHANGE_TEST_PG_URL)")
    base = make_url(normalise_url(url))
    name = f"ix_api_{os.getpid()}_{threading.get_ident() % 10000}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _concurrent_appends(url: str) -> None:
    engine = open_database(url)
    try:

        def work(n: int) -> None:
            for i in range(15):
                with engine.begin() as conn:
                    auth.append_audit(conn, actor=f"t{n}", action="x", target=str(i), result="ok")

        threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        with engine.connect() as conn:
            report = auth.check_audit(conn)
        assert report.count == 90
    finally:
        engine.dispose()


def test_concurrent_audit_appends_sqlite(tmp_path: Path) -> None:
    _concurrent_appends(f"sqlite:///{tmp_path / 'a.db'}")


@pytest.mark.postgres
def test_concurrent_audit_appends_postgres(pg_url: str) -> None:
    _concurrent_appends(pg_url)


@pytest.mark.postgres
def test_api_on_postgres(pg_url: str, tmp_path: Path) -> None:
    world = build_world(tmp_path, url=pg_url)
    try:
        app = create_api_app(
            ApiSettings(database_url=pg_url),
            engine=world.engine,
            codec=world.codec,
            directory=world.directory,
        )
        c = TestClient(app, raise_server_exceptions=False)
        h = {"Authorization": f"Bearer {world.tokens['operator']}"}
        page = c.get("/api/v1/documents?q=STTTT&state=failed", headers=h).json()
        assert [d["tenant"] for d in page["items"]] == [A]
        assert c.get(f"/api/v1/documents/{world.ids[f'sent:{B}']}", headers=h).status_code == 404
        doc, did = world.ids[f"sent:{A}"], world.ids[f"delivery:{A}"]
        r = c.post(f"/api/v1/documents/{doc}/deliveries/{did}/retry", headers=h)
        assert r.status_code == 200 and r.json()["state"] == "queued"
        r = c.post(
            f"/api/v1/inbox/{world.ids[f'inbox:{A}']}/refuse",
            headers=h,
            json={"reason": "Sai thẩm quyền"},
        )
        assert r.status_code == 200, r.text
        for path in (
            "/api/v1/documents?overdue=true",
            "/api/v1/inbox",
            "/api/v1/overview",
            "/readyz",
            f"/api/v1/documents/{2**31 - 1}",
            "/api/v1/documents?q=%25_%5C",
        ):
            assert c.get(path, headers=h).status_code in (200, 404), path
        root = {"Authorization": f"Bearer {world.tokens['root']}"}
        assert c.get("/metrics", headers=root).status_code == 200  # node-wide: every tenant
        assert c.get("/api/v1/audit/verify", headers=root).json()["ok"] is True
    finally:
        world.engine.dispose()


@pytest.mark.postgres
def test_dashboard_and_detail_on_postgres(pg_url: str, tmp_path: Path) -> None:
    """The pages a clerk opens, and the detail's plain-data path, on PostgreSQL."""
    import json

    from interchange.api.deps import today
    from interchange.api.queries import Scope, sent_detail_data
    from interchange.api.routes.common import data_response
    from interchange.api.schemas import DocumentDetail
    from tests.web.conftest import client as web_client
    from tests.web.conftest import login

    world = build_world(tmp_path, url=pg_url)
    try:
        with world.engine.connect() as conn:
            data = sent_detail_data(conn, Scope(None), world.ids["directive"], today())
        assert data is not None and len(data["deliveries"]) == 7
        published = json.loads(DocumentDetail.model_validate(data).model_dump_json())
        assert json.loads(data_response(data).body) == published
        assert web_client(world).get("/ui/", follow_redirects=False).status_code == 303
        c = login(world, "root")
        pages = {
            "/ui/": "000.00.13.H53",
            "/ui/documents": "STTTT",
            f"/ui/documents/{world.ids['directive']}": "000.00.35.H53",
            "/ui/inbox": A,
            f"/ui/inbox/{world.ids[f'inbox:{A}']}": A,
        }
        for path, expected in pages.items():
            r = c.get(path)
            assert r.status_code == 200 and expected in r.text, path
    finally:
        world.engine.dispose()
