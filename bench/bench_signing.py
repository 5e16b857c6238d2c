"""Signing benchmarks: our FULL sign and receive paths against the floor, xmlsec and signxml.

Documents: ``examples/conclusion.yaml`` packaged by ``packaging.package_document`` (label
``5k``: the realistic conclusion; its exact sizes are printed as ``*_bytes_5k``) and the same
message with a 1 MB PDF-like attachment beside the structured part (label ``1m``).

What each timed path does, on the same document:

- ``sign``: ``packaging.sign_message(message, key)`` on a prepared ``EdocMessage``: build_edoc,
  validate_envelope (XSD), enveloped RSA-2048 signature, serialisation to bytes.
- ``floor``: safe parse (``safexml.parse_bytes``) of the unsigned document, exclusive c14n,
  RSA-2048 PKCS#1 v1.5 SHA-256 sign with cryptography. ``sign_vs_floor`` = sign / floor.
- ``verify``: ``receiving.open_document(data, policy, payload=False)``: safe parse, signature
  structure and algorithm checks, SignatureValue, digest, chain to the anchor + CRL (cached per
  certificate, as in production), signer ↔ From/OrganId binding, envelope XSD validation, model
  extraction (``read_tree``, attachments base64-decoded). Not included: reading our
  structured part. ``verify_vs_xmlsec`` / ``verify_vs_signxml`` use this path.
- ``verify_full``: ``open_document(data, policy)``, i.e. ``verify`` plus our structured part
  (safe parse, payload XSD, pydantic model): ``verify_full_with_payload_vs_xmlsec``.
- ``xmlsec``: python-xmlsec's bare verification with a pinned key, including its own parse of
  the bytes (``etree.fromstring`` + find Signature + ``SignatureContext.verify``): no chain,
  CRL, binding, schema or model.
- ``signxml``: ``XMLVerifier().verify(data, x509_cert=pinned PEM, expect_config=...)``.
- Stages of ``verify`` (for the profile): ``verify_document`` alone, ``validate_envelope`` and
  ``read_tree`` on the verified tree, ``payload_from_attachments`` on the read attachments.

Timing: CPU time of this process (``time.process_time``; every path is single-threaded), so
other jobs competing for the cores do not count. Every path is warmed up, then each round runs
every path once as a batch of calls (~``BATCH_S`` seconds), ours and baselines alternating
(ours, baseline, ours, baseline …; the order reversed every other round). A ratio is the median
over rounds of the per-round ratio; times are medians. Peak memory is tracemalloc's
Python-heap peak (libxml2's and OpenSSL's buffers are not traced: xmlsec shows ~0).

``--quick`` (or ``INTERCHANGE_BENCH_QUICK=1``): fewer rounds and shorter batches (~15 s).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import gc
import os
import random
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import xmlsec
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from lxml import etree
from signxml import SignatureConfiguration, XMLVerifier

from interchange.edxml.build import build_edoc, serialize
from interchange.edxml.model import EDXML_NS, Attachment, EdocMessage
from interchange.edxml.read import read_tree
from interchange.edxml.validate import validate_envelope
from interchange.organs import load_demo_directory
from interchange.packaging import package_document, sign_message
from interchange.payloads import load_payload, payload_from_attachments
from interchange.receiving import open_document
from interchange.safexml import parse_bytes
from interchange.signing import SigningKey, VerifyPolicy, load_signing_key, pki, verify_document

SENDER = "000.00.13.H53"
RECIPIENT = "000.00.02.G14"
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "conclusion.yaml"
QUICK = "--quick" in sys.argv or os.environ.get("INTERCHANGE_BENCH_QUICK", "") not in ("", "0")
ROUNDS = 5 if QUICK else 11
BATCH_S = 0.03 if QUICK else 0.12

# Pairs (ours, baseline) whose per-round ratio is reported.
RATIOS = {
    "sign_vs_floor": ("sign", "floor"),
    "verify_vs_xmlsec": ("verify", "xmlsec"),
    "verify_vs_signxml": ("verify", "signxml"),
    "verify_full_with_payload_vs_xmlsec": ("verify_full", "xmlsec"),
    "verify_full_with_payload_vs_signxml": ("verify_full", "signxml"),
    "verify_document_vs_xmlsec": ("verify_document", "xmlsec"),
}


@dataclass(frozen=True)
class Setup:
    key: SigningKey
    policy: VerifyPolicy
    cert_pem: bytes
    xmlsec_key: xmlsec.Key


def setup(tmp: Path) -> Setup:
    ca = pki.init_ca(tmp / "ca")
    key = load_signing_key(*pki.issue(ca.dir, SENDER))
    policy = VerifyPolicy.from_files([ca.cert_path], [ca.crl_path])
    pem = key.certificate.public_bytes(serialization.Encoding.PEM)
    return Setup(
        key, policy, pem, xmlsec.Key.from_memory(pem, xmlsec.constants.KeyDataFormatCertPem)
    )


def conclusion_message(key: SigningKey) -> EdocMessage:
    """The example conclusion, packaged as the CLI would (fixed clock: stable sizes)."""
    payload = load_payload("conclusion", EXAMPLE)
    return package_document(
        payload=payload,
        sender=SENDER,
        recipients=[RECIPIENT],
        key=key,
        directory=load_demo_directory(),
        now=dt.datetime(2026, 11, 28, 9, 0, 0),
    ).message


def pdf_like(size: int) -> bytes:
    """Incompressible bytes behind a PDF header: what a scanned 1 MB PDF looks like to us."""
    head, tail = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", b"\n%%EOF\n"
    return head + random.Random(102).randbytes(size - len(head) - len(tail)) + tail


def with_pdf(message: EdocMessage, size: int) -> EdocMessage:
    pdf = Attachment(
        "pdf-1",
        "ket-luan-ky-so.pdf",
        "application/pdf",
        pdf_like(size),
        "Bản scan kết luận có chữ ký",
    )
    return dataclasses.replace(message, attachments=(*message.attachments, pdf))


# -- the baselines -----------------------------------------------------------------------


def floor_sign(data: bytes, key: rsa.RSAPrivateKey) -> bytes:
    """Safe parse, exclusive c14n of the document, RSA-2048 PKCS#1 v1.5 SHA-256 sign."""
    tree = parse_bytes(data)
    octets = etree.tostring(tree, method="c14n", exclusive=True, with_comments=False)
    return key.sign(octets, padding.PKCS1v15(), hashes.SHA256())


def xmlsec_verify(data: bytes, key: xmlsec.Key) -> None:
    """python-xmlsec's bare verification with a pinned key, its parse of the bytes included."""
    root = etree.fromstring(data, _XMLSEC_PARSER)
    node = xmlsec.tree.find_node(root, xmlsec.constants.NodeSignature)
    assert node is not None
    ctx = xmlsec.SignatureContext()
    ctx.key = key
    ctx.verify(node)


# huge_tree so that the 1 MB case parses the same way as ours (no text-node limit hit).
_XMLSEC_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
_SIGNXML_CONFIG = SignatureConfiguration(
    location=f"./{{{EDXML_NS}}}edXMLEnvelope/{{{EDXML_NS}}}edXMLHeader/", expect_references=1
)


def signxml_verify(data: bytes, cert_pem: str) -> None:
    XMLVerifier().verify(data, x509_cert=cert_pem, expect_config=_SIGNXML_CONFIG)


# -- harness -----------------------------------------------------------------------------


def _batch(fn: Callable[[], object], n: int) -> float:
    """CPU seconds of this process per call over ``n`` back-to-back calls. CPU time, not wall
    time: on a shared machine wall time also counts the waits for a free core."""
    t = time.process_time()
    for _ in range(n):
        fn()
    return (time.process_time() - t) / n


def rounds(paths: dict[str, Callable[[], object]]) -> dict[str, list[float]]:
    """Per-path seconds per call, one value per round; order alternates between rounds."""
    sizes = {}
    for name, fn in paths.items():  # warm up (fills the chain cache) and size the batches
        fn()
        one = _batch(fn, 3)
        sizes[name] = max(2, int(BATCH_S / one))
    out: dict[str, list[float]] = {k: [] for k in paths}
    order = list(paths)
    gc.collect()
    for r in range(ROUNDS):
        for name in order if r % 2 == 0 else reversed(order):
            out[name].append(_batch(paths[name], sizes[name]))
    return out


def peak_mb(fn: Callable[[], object]) -> float:
    """Python-heap peak (tracemalloc; libxml2's own buffers are not traced)."""
    gc.collect()
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 1e6


def run(label: str, s: Setup, message: EdocMessage) -> dict[str, float]:
    unsigned = serialize(build_edoc(message))
    signed = sign_message(message, s.key)
    priv = s.key.private_key
    assert isinstance(priv, rsa.RSAPrivateKey)
    pem = s.cert_pem.decode()
    policy = s.policy
    verified = verify_document(signed, policy)
    tree = verified.root
    read = read_tree(tree)
    assert isinstance(read, EdocMessage)
    assert open_document(signed, policy).payload is not None
    # Interleaved: each of ours is followed by its baseline.
    t = rounds(
        {
            "sign": lambda: sign_message(message, s.key),
            "floor": lambda: floor_sign(unsigned, priv),
            "verify": lambda: open_document(signed, policy, payload=False),
            "xmlsec": lambda: xmlsec_verify(signed, s.xmlsec_key),
            "verify_full": lambda: open_document(signed, policy),
            "signxml": lambda: signxml_verify(signed, pem),
            "verify_document": lambda: verify_document(signed, policy),
            "validate_envelope": lambda: validate_envelope(tree),
            "read_tree": lambda: read_tree(tree),
            "payload": lambda: payload_from_attachments(read.attachments),
        }
    )
    med = {k: statistics.median(v) for k, v in t.items()}
    out: dict[str, float] = {}
    for name, (a, b) in RATIOS.items():
        out[f"{name}_{label}"] = statistics.median(x / y for x, y in zip(t[a], t[b], strict=True))
    out[f"unsigned_bytes_{label}"] = float(len(unsigned))
    out[f"signed_bytes_{label}"] = float(len(signed))
    for k in ("sign", "floor", "verify", "verify_full", "xmlsec", "signxml"):
        out[f"{k}_docs_per_s_{label}"] = 1.0 / med[k]
    for k, v in med.items():
        out[f"{k}_us_{label}"] = v * 1e6
    if label == "1m":
        out[f"sign_peak_mb_{label}"] = peak_mb(lambda: sign_message(message, s.key))
        out[f"verify_peak_mb_{label}"] = peak_mb(
            lambda: open_document(signed, policy, payload=False)
        )
        out[f"verify_full_peak_mb_{label}"] = peak_mb(lambda: open_document(signed, policy))
        out[f"xmlsec_peak_mb_{label}"] = peak_mb(lambda: xmlsec_verify(signed, s.xmlsec_key))
        out[f"signxml_peak_mb_{label}"] = peak_mb(lambda: signxml_verify(signed, pem))
    return out


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        s = setup(Path(tmp))
        message = conclusion_message(s.key)
        results = run("5k", s, message)
        results |= run("1m", s, with_pdf(message, 1_000_000))
    for name, value in results.items():
        print(f"signing.{name}: {value:.3f}" if value < 100 else f"signing.{name}: {value:.0f}")


if __name__ == "__main__":
    main()
