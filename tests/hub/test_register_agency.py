"""``registerAgency`` / ``deleteAgency`` on a real hub on loopback.

The requests are built by hand in the SDK 2.0.1 shape (``spec_headers`` from the REST face
tests): register signs only ``{}`` (systemid, timestamp, Content-Type) and carries the agency
as a JSON body; delete signs ``AgencyCode``. Every refusal answers the status triple and
leaves ``hub_agencies`` as it was.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from adapters.vxp import VxpAxis
from interchange.errors import RefusedError
from interchange.hub import SystemConfig
from interchange.store.hub_tables import hub_agencies

from .live import SYSTEMS, A, B, C, LiveHub, live_hub, sample
from .test_rest_face import assert_refused, send, spec_headers, sys_

# A system whose agency is in the systems file but not in the directory.
D = SystemConfig("sys-d", "secret-of-d-0004", ("999.01.01.H99",))
CHILD = "001.01.00.G22"  # a new code under A's 000.00.00.G22


def _hub(db: Path, **overrides: Any) -> contextlib.AbstractContextManager[LiveHub]:
    return live_hub(db, systems=(*SYSTEMS, D), **overrides)


@pytest.fixture()
def hub(tmp_path: Path) -> Iterator[LiveHub]:
    with _hub(tmp_path / "hub.db") as h:
        yield h


@pytest.fixture()
def client(hub: LiveHub) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=hub.url, timeout=10) as c:
        yield c


def rows(hub: LiveHub) -> dict[str, dict[str, Any]]:
    """Everything in ``hub_agencies``: the 'nothing stored' assertions read this."""
    with hub.engine.connect() as conn:
        return {r.code: dict(r._mapping) for r in conn.execute(select(hub_agencies)).all()}


def agency(code: str = CHILD, **fields: str) -> dict[str, str]:
    """The SDK's body: id, pcode, code, name, mail, mobile, fax."""
    body = {
        "id": "",
        "pcode": "000.00.00.G22",
        "code": code,
        "name": "Vụ Pháp chế (thử)",
        "mail": "phapche@vpcp.gov.vn",
        "mobile": "",
        "fax": "",
    }
    body.update(fields)
    return body


def register(
    client: httpx.Client,
    system: object,
    body: dict[str, str] | bytes,
    params: dict[str, str] | None = None,
) -> dict[str, Any]:
    raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    headers = spec_headers(params or {}, sys_(system))
    r = client.post("/registerAgency", headers=headers, content=raw)
    assert r.status_code == 200, r.text
    answer = r.json()
    assert {"status", "ErrorCode", "ErrorDesc"} <= set(answer)
    return answer  # type: ignore[no-any-return]


def delete(client: httpx.Client, system: object, code: str) -> dict[str, Any]:
    r = client.post("/deleteAgency", headers=spec_headers({"AgencyCode": code}, sys_(system)))
    assert r.status_code == 200, r.text
    answer = r.json()
    assert {"status", "ErrorCode", "ErrorDesc"} <= set(answer)
    return answer  # type: ignore[no-any-return]


def listed(client: httpx.Client, system: object = C) -> dict[str, dict[str, str]]:
    r = client.post("/getAgenciesList", headers=spec_headers({}, sys_(system)), content=b"{}")
    answer = r.json()
    assert answer["status"] == "OK"
    return {row["code"]: row for row in answer["data"]}


def assert_ok(answer: dict[str, Any]) -> None:
    assert answer == {"status": "OK", "ErrorCode": "0", "ErrorDesc": ""}


# --- the life cycle ------------------------------------------------------------------------


def test_register_update_delete_child(hub: LiveHub, client: httpx.Client) -> None:
    assert_ok(register(client, A, agency()))
    row = listed(client)[CHILD]
    assert row == {
        "code": CHILD,
        "id": CHILD,
        "mail": "phapche@vpcp.gov.vn",
        "name": "Vụ Pháp chế (thử)",
        "pid": "000.00.00.G22",
        "oldCode": "",
    }
    assert rows(hub)[CHILD]["system_id"] == "sys-a"

    assert_ok(register(client, A, agency(name="Vụ Pháp chế", mail="")))
    row = listed(client)[CHILD]
    assert row["name"] == "Vụ Pháp chế" and row["mail"] == ""
    assert list(rows(hub)) == [CHILD]

    assert_ok(delete(client, A, CHILD))
    assert CHILD not in listed(client)
    assert rows(hub) == {}


def test_own_systems_agency_described_but_not_deletable(hub: LiveHub, client: httpx.Client) -> None:
    own = "999.01.01.H99"
    assert listed(client)[own]["name"] == own  # the bare systems-file row
    body = agency(own, pcode="000.00.00.H41", name="Sở thử nghiệm", oldCode="")
    assert_ok(register(client, D, body))
    row = listed(client)[own]
    assert row["name"] == "Sở thử nghiệm" and row["pid"] == "000.00.00.H41"
    before = rows(hub)
    assert_refused(delete(client, D, own), "403")
    assert rows(hub) == before and own in listed(client)


def test_fields_as_signed_parameters(hub: LiveHub, client: httpx.Client) -> None:
    params = {"code": CHILD, "name": "Vu Phap che", "pcode": "000.00.00.G22"}
    assert_ok(register(client, A, b"", params))
    assert listed(client)[CHILD]["name"] == "Vu Phap che"


def test_signed_hash_file_covers_the_body(hub: LiveHub, client: httpx.Client) -> None:
    raw = json.dumps(agency()).encode()
    good = hashlib.sha256(raw).hexdigest()
    assert_ok(register(client, A, raw, {"hash-file": good}))
    tampered = json.dumps(agency(name="Changed in flight")).encode()
    assert_refused(register(client, A, tampered, {"hash-file": good}), "400")
    assert rows(hub)[CHILD]["name"] == "Vụ Pháp chế (thử)"


# --- refusals: the status triple, nothing stored --------------------------------------------


def test_bad_hmac(hub: LiveHub, client: httpx.Client) -> None:
    raw = json.dumps(agency()).encode()
    headers = spec_headers({}, ("sys-a", "not-the-secret"))
    answer = client.post("/registerAgency", headers=headers, content=raw).json()
    assert_refused(answer, "401")
    headers = spec_headers({"AgencyCode": CHILD}, ("sys-a", "not-the-secret"))
    assert_refused(client.post("/deleteAgency", headers=headers).json(), "401")
    assert rows(hub) == {}


def test_replayed_register(hub: LiveHub, client: httpx.Client) -> None:
    raw = json.dumps(agency()).encode()
    headers = spec_headers({}, sys_(A))
    assert_ok(client.post("/registerAgency", headers=headers, content=raw).json())
    assert_ok(delete(client, A, CHILD))
    assert_refused(client.post("/registerAgency", headers=headers, content=raw).json(), "401")
    assert rows(hub) == {}


@pytest.mark.parametrize(
    ("system", "body"),
    [
        (C, agency("002.00.20.H13", pcode="")),  # A's agency, C claims it
        (C, agency("999.01.01.H99", pcode="000.00.00.G14")),  # D's (systems file only)
        (C, agency()),  # a child under A's agency
        (A, agency("000.00.00.G22", pcode="")),  # A's own, but the directory's entry
        (A, agency("000.00.00.H14", pcode="000.00.00.G22")),  # a directory agency
        (A, agency(pcode="")),  # a new code with no parent of A's
        (A, agency(oldCode="000.00.00.G14")),  # another system's code as old code
        (A, agency(pcode=CHILD)),  # its own parent
    ],
)
def test_not_the_callers_to_register(
    hub: LiveHub, client: httpx.Client, system: object, body: dict[str, str]
) -> None:
    assert_refused(register(client, system, body), "403" if body["pcode"] != CHILD else "400")
    assert rows(hub) == {}


def test_another_systems_registration_untouchable(hub: LiveHub, client: httpx.Client) -> None:
    assert_ok(register(client, A, agency()))
    before = rows(hub)
    assert_refused(register(client, B, agency(pcode="000.00.00.H41", name="hijack")), "403")
    assert_refused(delete(client, B, CHILD), "404")
    assert rows(hub) == before
    grandchild = agency("001.01.01.G22", pcode=CHILD)
    assert_refused(register(client, A, grandchild), "403")
    assert rows(hub) == before


@pytest.mark.parametrize(
    ("system", "code", "error"),
    [
        (A, "000.00.00.G22", "403"),  # the directory's
        (C, "999.01.01.H99", "403"),  # the systems file's
        (D, "999.01.01.H99", "403"),  # even by its own system
        (A, "001.09.09.G22", "404"),  # never registered
        (A, "", "400"),  # no AgencyCode
    ],
)
def test_delete_refused(
    hub: LiveHub, client: httpx.Client, system: object, code: str, error: str
) -> None:
    assert_ok(register(client, A, agency()))
    before = rows(hub)
    assert_refused(delete(client, system, code), error)
    assert rows(hub) == before


@pytest.mark.parametrize(
    "body",
    [
        agency(code=""),  # missing code
        {k: v for k, v in agency().items() if k != "code"},
        agency(name=""),  # missing name
        agency(code="not a code!"),
        agency(mail="a b@x"),
        b'{"id":"","pcode":"000.00.00.G22","code":"001.01.00.G22","mail":cc""}',  # SDK typo
        b"[]",
        json.dumps({**agency(), "name": 7}).encode(),
    ],
)
def test_bad_fields(hub: LiveHub, client: httpx.Client, body: dict[str, str] | bytes) -> None:
    assert_refused(register(client, A, body), "400")
    assert rows(hub) == {}


def test_body_and_signed_parameter_disagree(hub: LiveHub, client: httpx.Client) -> None:
    assert_refused(register(client, A, agency(), {"code": "001.01.09.G22"}), "400")
    assert rows(hub) == {}


def test_registered_child_is_not_routable(hub: LiveHub, client: httpx.Client) -> None:
    assert_ok(register(client, A, agency()))
    data = sample("edoc_new.edxml").replace(b">28.22.H17<", f">{CHILD}<".encode())
    answer = send(client, data, A)
    assert_refused(answer, "422")
    assert hub.counts() == (0, 0)


# --- through the vxp adapter ---------------------------------------------------------------


def test_vxp_adapter_round_trip_on_a_hub_requiring_the_body_hash(tmp_path: Path) -> None:
    with _hub(tmp_path / "hub.db", agency_body_hash=True) as live:
        with VxpAxis(live.url, A.systemid, A.secret) as axis:
            axis.register_agency(CHILD, "Vụ Pháp chế", parent="000.00.00.G22", mail="v@x.vn")
            info = {a.code: a for a in axis.list_agencies()}[CHILD]
            assert (info.name, info.parent, info.mail) == ("Vụ Pháp chế", "000.00.00.G22", "v@x.vn")
            with pytest.raises(RefusedError) as refused:
                axis.register_agency("001.01.01.G22", "x", parent=CHILD)
            assert refused.value.error_code == "403"
            axis.delete_agency(CHILD)
            assert CHILD not in {a.code for a in axis.list_agencies()}
        with httpx.Client(base_url=live.url) as c:  # the SDK's unhashed body: refused here
            assert_refused(register(c, A, agency()), "400")
        assert rows(live) == {}
