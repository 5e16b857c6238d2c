"""The hot read paths answer with plain data serialised by orjson (no model validation): it
must be exactly what the published model would give, timestamps with their offset included."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select

from interchange.api.deps import today
from interchange.api.queries import Scope, SentFilter, list_sent_data, sent_detail_data
from interchange.api.routes.common import data_response
from interchange.api.schemas import DocumentDetail, DocumentPage
from interchange.store.ops import utcnow
from interchange.store.tables import deliveries, status_messages

from .world import A, World

EVERYONE = Scope(None)


def _as_published(model: type[DocumentDetail] | type[DocumentPage], data: Any) -> Any:
    return json.loads(model.model_validate(data).model_dump_json())


def _as_answered(data: dict[str, Any]) -> Any:
    return json.loads(data_response(data).body)


@pytest.fixture(scope="module")
def with_status(world: World) -> World:
    """One matched status message on A's delivery of the directive (the world has none)."""
    with world.engine.begin() as conn:
        delivery = conn.execute(
            select(deliveries).where(deliveries.c.id == world.ids[f"directive:{A}"])
        ).one()
        conn.execute(
            insert(status_messages).values(
                tenant_id=delivery.tenant_id,
                sender=A,
                document_id="x",
                status_code="03",
                description="Đã tiếp nhận",
                data=b"<status/>",
                sha256="f" * 64,
                delivery_id=delivery.id,
                outcome="matched",
                received_at=utcnow(),
            )
        )
    return world


@pytest.mark.parametrize("key", ["directive", f"sent:{A}"])
def test_detail_data_is_the_published_model(with_status: World, key: str) -> None:
    day = today()
    with with_status.engine.connect() as conn:
        data = sent_detail_data(conn, EVERYONE, with_status.ids[key], day)
    assert data is not None
    assert set(data) == set(DocumentDetail.model_fields)
    answered = _as_answered(data)
    assert answered == _as_published(DocumentDetail, data)
    if key == "directive":
        statuses = [s for d in answered["deliveries"] for s in d["statuses"]]
        assert [s["status_code"] for s in statuses] == ["03"]
        assert statuses[0]["received_at"].endswith("Z")
        assert answered["deliveries"][0]["timeline"][0]["at"].endswith("Z")


@pytest.mark.parametrize(
    "f", [SentFilter(), SentFilter(state="failed"), SentFilter(overdue=True), SentFilter(limit=1)]
)
def test_list_data_is_the_published_model(world: World, f: SentFilter) -> None:
    with world.engine.connect() as conn:
        data = list_sent_data(conn, EVERYONE, f, today())
    assert data["items"], "the world has documents for every filter used here"
    assert _as_answered(data) == _as_published(DocumentPage, data)


def test_api_answers_the_published_model(with_status: World, client: TestClient) -> None:
    token = with_status.tokens["root"]
    pk = with_status.ids["directive"]
    r = client.get(f"/api/v1/documents/{pk}", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200
    with with_status.engine.connect() as conn:
        data = sent_detail_data(
            conn,
            EVERYONE,
            pk,
            today(),
            client.app.state.names,  # type: ignore[attr-defined]
        )
    assert r.json() == _as_published(DocumentDetail, data)
