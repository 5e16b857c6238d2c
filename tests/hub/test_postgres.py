"""The hub on PostgreSQL: same guarantees (a throw-away database per test module)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from adapters.vxp import VxpAxis
from interchange.errors import RefusedError
from interchange.store.db import normalise_url

from .live import SUCCESSOR, A, B, C, LiveHub, live_hub, sample

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    base = os.environ.get("INTERCHANGE_TEST_PG_URL")
    if not base:
        if os.environ.get("CI"):
            pytest.fail("INTERCHANGE_TEST_PG_URL is not set in CI: PostgreSQL tests must run")
        pytest.skip("INTERCHANGE_TEST_PG_URL not set")
    name = f"hub_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(normalise_url(base), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(normalise_url(base)).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="module")
def pg_hub(pg_url: str) -> Iterator[LiveHub]:
    with live_hub(pg_url) as h:
        yield h


def test_round_trip_and_refusals_on_postgres(pg_hub: LiveHub) -> None:
    data = sample("edoc_new.edxml")
    with (
        VxpAxis(pg_hub.url, A.systemid, A.secret) as a,
        VxpAxis(pg_hub.url, B.systemid, B.secret) as b,
        VxpAxis(pg_hub.url, C.systemid, C.secret) as c,
    ):
        a.send(data, message_type="edoc", from_organ="002.00.20.H13")
        items = b.list_pending("edoc")
        assert [i.to_organ for i in items] == [SUCCESSOR]
        assert b.fetch(items[0].doc_id) == data
        with pytest.raises(RefusedError):
            c.fetch(items[0].doc_id)
        before = pg_hub.counts()
        with pytest.raises(RefusedError):
            c.send(data, message_type="edoc", from_organ="002.00.20.H13")
        assert pg_hub.counts() == before
        b.acknowledge(items[0].doc_id)
        assert b.list_pending("edoc") == []
        assert a.get_sent_list("edoc")[0]["receiveStatus"] == "done"


def test_register_and_delete_agency_on_postgres(pg_hub: LiveHub) -> None:
    child = "001.01.00.G22"
    with (
        VxpAxis(pg_hub.url, A.systemid, A.secret) as a,
        VxpAxis(pg_hub.url, B.systemid, B.secret) as b,
    ):
        a.register_agency(child, "Vụ Pháp chế", parent="000.00.00.G22")
        a.register_agency(child, "Vụ Pháp chế (mới)", parent="000.00.00.G22")
        assert {x.code: x.name for x in b.list_agencies()}[child] == "Vụ Pháp chế (mới)"
        with pytest.raises(RefusedError):
            b.delete_agency(child)
        a.delete_agency(child)
        assert child not in {x.code for x in b.list_agencies()}
