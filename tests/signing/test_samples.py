"""The SDK's reference samples: their signatures (edXML-namespace Signature, rsa-sha1, a
misspelt exclusive-c14n URI, truncated certificates) are refused with a typed error."""

from __future__ import annotations

from pathlib import Path

import pytest

from interchange import errors
from interchange.signing import verify_document

from .conftest import Pki


def test_samples_are_refused_cleanly(samples_dir: Path, pki_env: Pki) -> None:
    lenient = pki_env.policy(allow_sha1=True, accept_edxml_ns_signature=True)
    seen = 0
    for path in sorted(samples_dir.glob("*.edxml")):
        data = path.read_bytes()
        for policy in (pki_env.policy(), lenient):
            with pytest.raises(errors.InterchangeError) as info:
                verify_document(data, policy)
            assert "\n" not in str(info.value)
        seen += 1
        if path.name.startswith("broken_"):
            continue
        with pytest.raises(errors.InterchangeError) as info:
            verify_document(data, pki_env.policy())
        if b"Signature>" not in data:
            assert type(info.value) is errors.UnsignedError
        else:  # <Signature> in the edXML namespace, as the SDK writes it
            assert type(info.value) is errors.SignatureStructureError, info.value
            # Leniently: the SDK's transform URI "http://www.w3.org/TR/xml-exc-c14n#" is not
            # a c14n algorithm (and its certificate is truncated): still a typed refusal.
            with pytest.raises(errors.SignatureStructureError, match="xml-exc-c14n"):
                verify_document(data, lenient)
    assert seen >= 10
