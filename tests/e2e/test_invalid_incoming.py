"""Invalid incoming documents are refused with 02, and the reason is visible at the sender.

The sending node queues prepared bytes as they are, straight into its outbox (a sender that
does not check what it sends: ``submit_signed`` now refuses such bytes itself, see
``tests/delivery/test_submit_verification.py``); the receiving node verifies, stores the
document as refused (not valid) and answers 02 with the reason, which the sender's delivery
shows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from interchange.delivery.outbox import submit
from interchange.demo.network import Network
from interchange.demo.scenario import demo_spec, directive
from interchange.edxml.model import EdocMessage
from interchange.edxml.read import read_message
from interchange.packaging import package_document
from interchange.signing import SigningKey, load_signing_key, pki

from .helpers import FAST, wait_for

pytestmark = pytest.mark.slow


def test_tampered_untrusted_and_wrong_agency_are_refused_with_02_and_reason(
    tmp_path: Path, network_factory: Callable[..., Network]
) -> None:
    spec, cast = demo_spec(timings=FAST)
    spec = replace(spec, nodes=tuple(n for n in spec.nodes if n.name != "ministry"))
    net = network_factory(spec)
    creds = net.prepared.credentials
    district = cast.districts[0]

    def signed(key: SigningKey, number: str) -> bytes:
        payload = directive(cast, number=number)
        return package_document(
            payload=payload, sender=cast.department, recipients=[district], key=key
        ).data

    own = load_signing_key(creds[cast.department].key_path, creds[cast.department].cert_path)
    # a byte of the signed subject changed after signing
    good = signed(own, "9001")
    tampered = good.replace("tăng cường".encode(), "giảm bớt".encode(), 1)
    assert tampered != good
    # signed by a certificate for the right agency, from a CA the receiver does not trust
    rogue_ca = tmp_path / "rogue-ca"
    pki.init_ca(rogue_ca, ecdsa=True, name="Rogue CA")
    rkey, rcert = pki.issue(rogue_ca, cast.department, ecdsa=True)
    untrusted = signed(load_signing_key(rkey, rcert), "9002")
    # signed with a trusted certificate of another agency (a district's), From = department
    other = creds[cast.districts[1]]
    wrong_agency = signed(load_signing_key(other.key_path, other.cert_path), "9003")
    valid = signed(own, "9004")

    client = net.client("department")
    tenant_id = client.tenant(cast.department).id

    def unchecked(data: bytes) -> str:
        message = read_message(data)
        assert isinstance(message, EdocMessage)
        return submit(client.engine, tenant_id=tenant_id, data=data, message=message).document_id

    cases = {
        "digest-mismatch": unchecked(tampered),
        "untrusted": unchecked(untrusted),
        "wrong-signer": unchecked(wrong_agency),
        "valid": client.submit_signed(valid).document_id,
    }
    department = net.stores["department"]

    def answered() -> bool:
        rows = department.deliveries(cast.department)
        return len(rows) == 4 and all(r.state in ("refused", "accepted") for r in rows)

    wait_for(answered, 45, "the district to answer all four documents")
    at_sender = {r.document_id: r for r in department.deliveries(cast.department)}
    inbox = {i.document_id: i for i in net.stores["districts"].inbox(district)}

    valid_row = at_sender[cases.pop("valid")]
    assert (valid_row.state, valid_row.status_code) == ("accepted", "03")
    for error_code, doc_id in cases.items():
        row = at_sender[doc_id]
        assert (row.recipient, row.state, row.status_code) == (district, "refused", "02")
        assert row.reason, f"{error_code}: no reason reached the sender"
        # what the receiver stored: the document, marked invalid, with the typed error
        refused = [i for i in inbox.values() if i.error_code == error_code]
        assert len(refused) == 1, (error_code, list(inbox.values()))
        assert not refused[0].valid and refused[0].state == "refused"
        assert refused[0].reason and refused[0].reason in row.reason
