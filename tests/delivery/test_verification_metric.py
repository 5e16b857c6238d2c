"""Verification latency is measured where the inbox verifies: every open, refusals included."""

from __future__ import annotations

from pathlib import Path

import pytest

from interchange.delivery.codec import RealCodec
from interchange.delivery.metrics import VERIFICATION_SECONDS
from interchange.errors import DigestMismatchError
from interchange.payloads import load_payload
from interchange.signing import VerifyPolicy, load_signing_key, pki

REPO = Path(__file__).resolve().parents[2]
DEPT = "000.00.13.H53"


def _count() -> float:
    for metric in VERIFICATION_SECONDS.collect():
        for sample in metric.samples:
            if sample.name.endswith("_count"):
                return sample.value
    raise AssertionError("no _count sample")


def test_each_open_is_observed_success_or_refusal(tmp_path: Path) -> None:
    pki.init_ca(tmp_path)
    key_path, cert_path = pki.issue(tmp_path, DEPT)
    key = load_signing_key(key_path, cert_path)
    policy = VerifyPolicy.from_files([tmp_path / "ca.cert.pem"])
    codec = RealCodec({DEPT: key}, policy)
    payload = load_payload("conclusion", REPO / "examples" / "conclusion.yaml")
    data = codec.package(DEPT, payload, ["000.00.02.G14"]).data

    before = _count()
    assert codec.open(data).message.sender == DEPT
    assert _count() == before + 1
    with pytest.raises(DigestMismatchError):
        codec.open(data.replace(b"Ph\xc3\xba C\xc6\xb0\xe1\xbb\x9dng", b"Phu Cuong", 1))
    assert _count() == before + 2
