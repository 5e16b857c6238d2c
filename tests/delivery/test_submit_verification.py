"""A ready, signed edXML submitted to a node is verified before anything is stored or queued.

The node checks it as its inbox checks what arrives (signature, certificate chain of its
trust policy, signer bound to From/OrganId), and the signer must be the hosted agency it is
submitted for. Every face goes through ``Node.submit_signed``: the ``send`` command, the drop
folder and ``POST /api/v1/submit``. Each refusal is the verifier's own typed error, in one
line, and leaves no document and no delivery behind.

Real PKI (a throw-away CA, plus a rogue one), real signing, real files and databases.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient
from lxml import etree
from sqlalchemy import func, select

from interchange import errors
from interchange.node.config import load_config
from interchange.node.node import Node
from interchange.packaging import package_document
from interchange.payloads import load_payload
from interchange.signing import VerifyPolicy, load_signing_key, pki, verify_document
from interchange.store.tables import deliveries, documents

REPO = Path(__file__).resolve().parents[2]
DEPT = "000.00.13.H53"  # hosted: the sender in every case
OTHER = "000.00.31.H53"  # hosted too, with its own trusted certificate
INSPECTORATE = "000.00.02.G14"  # not hosted; trusted CA; the recipient
DS = "{http://www.w3.org/2000/09/xmldsig#}"

#: the bad documents, and the exact error the verifier raises for each
BAD: dict[str, type[errors.SignatureError]] = {
    "tampered": errors.DigestMismatchError,
    "unsigned": errors.UnsignedError,
    "other-ca": errors.UntrustedCertificateError,
    "wrong-signer": errors.SignerBindingError,
}


@dataclass(frozen=True)
class Pki:
    ca_cert: Path
    keys: dict[str, tuple[Path, Path]]
    docs: dict[str, bytes]  # BAD's names, plus "valid", "from-other", "not-hosted"
    expected: dict[str, errors.SignatureError]  # BAD's names: what verify_document raised


def _signed(
    key: tuple[Path, Path], number: str, sender: str = DEPT, to: str = INSPECTORATE
) -> bytes:
    payload = load_payload("conclusion", REPO / "examples" / "conclusion.yaml")
    payload = payload.model_copy(update={"number": number})
    return package_document(
        payload=payload,
        sender=sender,
        recipients=[to],
        key=load_signing_key(*key),
    ).data


def _unsigned(signed: bytes) -> bytes:
    root = etree.fromstring(signed)
    [sig] = root.iter(f"{DS}Signature")
    parent = sig.getparent()
    assert parent is not None
    parent.remove(sig)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    tmp = tmp_path_factory.mktemp("pki")
    ca = pki.init_ca(tmp / "ca")
    keys = {c: pki.issue(ca.dir, c, out_dir=tmp / "keys") for c in (DEPT, OTHER, INSPECTORATE)}
    rogue = pki.init_ca(tmp / "rogue", name="Rogue CA")
    rogue_key = pki.issue(rogue.dir, DEPT, out_dir=tmp / "rogue-keys")

    good = _signed(keys[DEPT], "31")
    tampered = good.replace("Tây Ninh".encode(), b"Tay Ninh", 1)
    assert tampered != good
    docs = {
        "tampered": tampered,
        "unsigned": _unsigned(_signed(keys[DEPT], "32")),
        # the right agency's certificate, from a CA the node does not trust
        "other-ca": _signed(rogue_key, "33"),
        # From/OrganId is DEPT, signed with another hosted agency's trusted certificate
        "wrong-signer": _signed(keys[OTHER], "34"),
        "valid": _signed(keys[DEPT], "35"),
        # valid, but from another hosted agency / from an agency this node does not host
        "from-other": _signed(keys[OTHER], "36", sender=OTHER),
        "not-hosted": _signed(keys[INSPECTORATE], "37", sender=INSPECTORATE, to=DEPT),
    }
    policy = VerifyPolicy.from_files([ca.cert_path])
    expected: dict[str, errors.SignatureError] = {}
    for name, cls in BAD.items():
        with pytest.raises(cls) as info:
            verify_document(docs[name], policy)
        assert type(info.value) is cls, f"{name}: {type(info.value).__name__}: {info.value}"
        expected[name] = info.value
    for name in ("valid", "from-other", "not-hosted"):
        verify_document(docs[name], policy)
    return Pki(ca.cert_path, keys, docs, expected)


def _config(world: Pki, tmp: Path, **tenant_extra: object) -> Path:
    cfg = {
        "data_dir": str(tmp / "data"),
        "axis": {"kind": "memory", "systemid": "node"},
        "tenants": [
            {
                "organ": code,
                "key": str(world.keys[code][0]),
                "cert": str(world.keys[code][1]),
                **(tenant_extra if code == DEPT else {}),
            }
            for code in (DEPT, OTHER)
        ],
        "trust": {"anchors": [str(world.ca_cert)]},
    }
    path = tmp / "node.yaml"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True), "utf-8")
    return path


@pytest.fixture
def node(world: Pki, tmp_path: Path) -> Iterator[Node]:
    n = Node(load_config(_config(world, tmp_path, drop_folder=str(tmp_path / "drop"))))
    yield n
    n.close()


def _counts(node: Node) -> tuple[int, int]:
    with node.engine.connect() as conn:
        docs = conn.execute(select(func.count()).select_from(documents)).scalar_one()
        dels = conn.execute(select(func.count()).select_from(deliveries)).scalar_one()
    return docs, dels


# --- the node's own call ------------------------------------------------------------------


@pytest.mark.parametrize("case", list(BAD))
def test_submit_signed_refuses_with_the_verifiers_error(world: Pki, node: Node, case: str) -> None:
    want = world.expected[case]
    with pytest.raises(errors.InterchangeError) as info:
        node.submit_signed(world.docs[case], tenant=DEPT)
    assert type(info.value) is type(want)
    assert str(info.value) == str(want) and "\n" not in str(info.value)
    # without a tenant named (the sender is then read from the document): the same
    with pytest.raises(type(want)):
        node.submit_signed(world.docs[case])
    assert _counts(node) == (0, 0)


def test_the_signer_must_be_the_tenant_it_is_submitted_for(world: Pki, node: Node) -> None:
    # validly signed by another hosted agency, submitted as DEPT's
    with pytest.raises(errors.DeliveryError) as info:
        node.submit_signed(world.docs["from-other"], tenant=DEPT)
    assert type(info.value) is errors.DeliveryError
    assert str(info.value) == f"the document is from {OTHER}, not from {DEPT}"
    # validly signed by an agency this node does not host
    with pytest.raises(errors.NotFoundError) as nf:
        node.submit_signed(world.docs["not-hosted"])
    assert type(nf.value) is errors.NotFoundError and INSPECTORATE in str(nf.value)
    with pytest.raises(errors.DeliveryError):
        node.submit_signed(world.docs["not-hosted"], tenant=DEPT)
    assert _counts(node) == (0, 0)
    # the valid one goes through, once
    res = node.submit_signed(world.docs["valid"], tenant=DEPT)
    assert len(res.delivery_ids) == 1
    assert _counts(node) == (1, 1)
    # and a valid document of the other hosted agency, as its own
    node.submit_signed(world.docs["from-other"], tenant=OTHER)
    assert _counts(node) == (2, 2)


# --- interchange send ---------------------------------------------------------------------


def _send(config: Path, doc: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "interchange", "send", str(doc), "--config", str(config), *extra],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env={**os.environ, "COLUMNS": "300"},
    )


def _db_counts(config: Path) -> tuple[int, int]:
    node = Node(load_config(config))
    try:
        return _counts(node)
    finally:
        node.close()


@pytest.mark.parametrize("case", list(BAD))
def test_cli_send_refuses_and_queues_nothing(world: Pki, tmp_path: Path, case: str) -> None:
    config = _config(world, tmp_path)
    doc = tmp_path / f"{case}.edxml"
    doc.write_bytes(world.docs[case])
    reason = str(world.expected[case])

    res = _send(config, doc, "--from", DEPT, "--json")
    assert res.returncode == 1, res.stdout + res.stderr
    assert "Traceback" not in res.stderr
    [row] = json.loads(res.stdout)
    assert row == {"file": str(doc), "document_id": None, "deliveries": 0, "error": reason}

    res = _send(config, doc, "--from", DEPT)
    assert res.returncode == 1 and "Traceback" not in res.stdout + res.stderr
    # the table: the reason on the file's one line
    [line] = [ln for ln in res.stdout.splitlines() if doc.name in ln]
    assert reason in line and "queued" not in res.stdout

    assert _db_counts(config) == (0, 0)


def test_cli_send_queues_a_valid_document(world: Pki, tmp_path: Path) -> None:
    config = _config(world, tmp_path)
    doc = tmp_path / "valid.edxml"
    doc.write_bytes(world.docs["valid"])
    res = _send(config, doc, "--from", DEPT, "--json")
    assert res.returncode == 0, res.stdout + res.stderr
    [row] = json.loads(res.stdout)
    assert row["error"] is None and row["deliveries"] == 1
    assert _db_counts(config) == (1, 1)


# --- the drop folder ----------------------------------------------------------------------


def test_drop_folder_moves_bad_documents_to_failed_with_the_reason(
    world: Pki, node: Node, tmp_path: Path
) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    for case in (*BAD, "valid"):
        (drop / f"{case}.edxml").write_bytes(world.docs[case])
    results = {r.path.name: r for r in node.drop_once()}
    assert {name: r.ok for name, r in results.items()} == {
        **{f"{case}.edxml": False for case in BAD},
        "valid.edxml": True,
    }
    for case in BAD:
        reason = str(world.expected[case])
        assert results[f"{case}.edxml"].detail == reason
        failed = drop / "failed" / f"{case}.edxml"
        assert failed.read_bytes() == world.docs[case]
        assert (drop / "failed" / f"{case}.edxml.reason").read_text("utf-8") == reason + "\n"
        assert not (drop / "done" / f"{case}.edxml").exists()
    assert (drop / "done" / "valid.edxml").read_bytes() == world.docs["valid"]
    assert sorted(p.name for p in drop.iterdir()) == ["done", "failed"]
    # only the valid document was stored and queued
    assert _counts(node) == (1, 1)


def test_drop_folder_refuses_a_document_of_another_agency(
    world: Pki, node: Node, tmp_path: Path
) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "other.edxml").write_bytes(world.docs["from-other"])  # OTHER's, in DEPT's folder
    [res] = node.drop_once()
    assert not res.ok and res.detail == f"the document is from {OTHER}, not from {DEPT}"
    assert (drop / "failed" / "other.edxml.reason").is_file()
    assert _counts(node) == (0, 0)


# --- POST /api/v1/submit ------------------------------------------------------------------


def test_api_submit_of_a_ready_edxml_is_verified(world: Pki, node: Node) -> None:
    from interchange.api import ApiSettings, create_api_app
    from interchange.store import auth_tables as auth

    with node.engine.begin() as conn:
        token = auth.add_user(conn, "clerk", "operator", [DEPT]).token
    app = create_api_app(ApiSettings(database_url=node.config.database_url), node=node)
    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(app, raise_server_exceptions=False) as c:
        for case in BAD:
            want = world.expected[case]
            r = c.post(
                "/api/v1/submit",
                headers=headers,
                files={"edxml": (f"{case}.edxml", world.docs[case], "application/xml")},
            )
            assert r.status_code == 422, (case, r.text)
            assert r.json() == {"detail": str(want), "code": want.code}
        assert _counts(node) == (0, 0)
        r = c.post(
            "/api/v1/submit",
            headers=headers,
            files={"edxml": ("valid.edxml", world.docs["valid"], "application/xml")},
        )
        assert r.status_code == 201, r.text
    assert _counts(node) == (1, 1)
