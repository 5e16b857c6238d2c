"""What a verifier trusts and tolerates, as one frozen value built once per configuration."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from cryptography import x509

from ..safexml import XmlLimits
from .trust import TrustStore, load_certificates, load_crls


def normalize_fingerprint(fp: str) -> str:
    return fp.replace(":", "").replace(" ", "").lower()


@dataclass(frozen=True, eq=False)
class VerifyPolicy:
    """Trust anchors, CRLs and the interop options. Build it once: the trust store inside
    caches validated certificate paths for the life of the policy."""

    anchors: tuple[x509.Certificate, ...] = ()
    crls: tuple[x509.CertificateRevocationList, ...] = ()
    allow_sha1: bool = False  # legacy peers: rsa-sha1 signatures / sha1 digests
    accept_edxml_ns_signature: bool = False  # interop: <Signature> in the edXML namespace
    organ_bindings: Mapping[str, str] = field(default_factory=dict)  # sha256 fp -> agency code
    now: dt.datetime | None = None  # fixed clock for tests
    max_stripped_hops: int = 8
    xml_limits: XmlLimits | None = None  # None: XmlLimits.from_env(), read once here
    trust: TrustStore = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "anchors", tuple(self.anchors))
        object.__setattr__(self, "crls", tuple(self.crls))
        object.__setattr__(
            self,
            "organ_bindings",
            MappingProxyType(
                {normalize_fingerprint(k): v.strip() for k, v in self.organ_bindings.items()}
            ),
        )
        if self.now is not None and self.now.tzinfo is None:
            object.__setattr__(self, "now", self.now.replace(tzinfo=dt.UTC))
        object.__setattr__(
            self, "trust", TrustStore(self.anchors, self.crls, allow_sha1=self.allow_sha1)
        )
        if self.xml_limits is None:
            object.__setattr__(self, "xml_limits", XmlLimits.from_env())

    @classmethod
    def from_files(
        cls,
        trust_paths: Sequence[str | Path],
        crl_paths: Sequence[str | Path] = (),
        *,
        allow_sha1: bool = False,
        accept_edxml_ns_signature: bool = False,
        organ_bindings: Mapping[str, str] | None = None,
        now: dt.datetime | None = None,
        max_stripped_hops: int = 8,
    ) -> VerifyPolicy:
        return cls(
            tuple(load_certificates(trust_paths)),
            tuple(load_crls(crl_paths)),
            allow_sha1=allow_sha1,
            accept_edxml_ns_signature=accept_edxml_ns_signature,
            organ_bindings=organ_bindings or {},
            now=now,
            max_stripped_hops=max_stripped_hops,
        )

    def current_time(self) -> dt.datetime:
        return self.now or dt.datetime.now(dt.UTC)
