"""The node's configuration file (YAML or JSON), validated strictly, refusing unsafe set-ups.

Relative paths are read relative to the config file.
(``interchange/node/example-node.yaml`` is the same, commented)::

    data_dir: ./data                  # required; the SQLite file and drop folders live here
    db_url: null                      # default sqlite:///<data_dir>/node.db
    axis: {kind: vxp, url: "http://127.0.0.1:8700", systemid: "H53", secret_file: h53.secret}
    tenants:
      - organ: 000.00.13.H53
        name: Sở TT&TT Tây Ninh
        key: pki/h53.key
        cert: pki/h53.crt
        auto_accept: true
        drop_folder: drop/h53         # optional; a relative path is under the config dir
        axis: null                    # optional: this agency's own axis credentials
    trust: {anchors: [pki/root.crt], crls: [], allow_sha1: false}
    directory: directory.yaml
    routing:
      - {name: conclusions to the Ministry Inspectorate, kind: conclusion,
         sender_kind: department_of_ic, add: ["@inspectorate"]}
    poll_interval: 1.0
    backoff_base: 2.0
    backoff_max: 300
    max_age: 86400
    workers: 1
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..delivery.routing import RoutingRule
from ..errors import ConfigError

if TYPE_CHECKING:
    from ..organs import Directory
    from ..signing import SigningKey


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AxisConfig(_Strict):
    kind: Literal["vxp", "soap", "memory"] = "vxp"
    url: str | None = None
    wsdl: str | None = None  # soap: WSDL URL or path (default: the project's WSDL)
    systemid: str
    secret: str | None = None
    secret_file: Path | None = None
    timeout: float = Field(default=30.0, gt=0)

    @model_validator(mode="after")
    def _safe(self) -> AxisConfig:
        if self.kind != "memory":
            if not self.url:
                raise ValueError(f"axis.url is required for a {self.kind} axis")
            if self.secret is None and self.secret_file is None:
                raise ValueError("axis: give secret or secret_file (never run unauthenticated)")
            if self.secret is not None and len(self.secret) < 8:
                raise ValueError("axis.secret is too short (at least 8 characters)")
        return self

    def resolved_secret(self) -> str:
        if self.secret is not None:
            return self.secret
        if self.secret_file is None:
            return ""
        try:
            secret = self.secret_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"cannot read axis secret file {self.secret_file}: {exc}") from None
        if len(secret) < 8:
            raise ConfigError(f"axis secret in {self.secret_file} is too short")
        return secret


class TenantConfig(_Strict):
    organ: str = Field(min_length=1)
    name: str | None = None
    key: Path
    cert: Path
    chain: tuple[Path, ...] = ()
    auto_accept: bool = True
    drop_folder: Path | None = None
    axis: AxisConfig | None = None


class TrustConfig(_Strict):
    anchors: tuple[Path, ...] = Field(min_length=1)
    crls: tuple[Path, ...] = ()
    allow_sha1: bool = False
    schema_mode: Literal["strict", "lenient"] = "strict"


class NodeConfig(_Strict):
    data_dir: Path
    db_url: str | None = None
    axis: AxisConfig | None = None
    tenants: tuple[TenantConfig, ...] = Field(min_length=1)
    trust: TrustConfig
    directory: Path | None = None
    routing: tuple[RoutingRule, ...] = ()
    poll_interval: float = Field(default=1.0, gt=0, le=3600)
    backoff_base: float = Field(default=2.0, gt=0)
    backoff_max: float = Field(default=300.0, gt=0)
    max_age: float = Field(default=86400.0, gt=0)
    lease_seconds: float = Field(default=60.0, ge=1)
    batch: int = Field(default=50, ge=1, le=1000)
    inbox_threads: int = Field(default=4, ge=1, le=32)
    # send a document due for several recipients once, without ``to`` (the hub fans out);
    # every delivery is still recorded on its own (sent, then each recipient's statuses).
    # Off by default: one send per delivery keeps each delivery's progress observable (and
    # its own hub DocId). On, an n-recipient document (whose To list grows with n) is
    # uploaded once instead of n times: much less work for large fan-outs.
    fanout: bool = False
    workers: int = Field(default=1, ge=1, le=64)

    @model_validator(mode="after")
    def _consistent(self) -> NodeConfig:
        codes = [t.organ for t in self.tenants]
        if len(set(codes)) != len(codes):
            raise ValueError("tenants: an agency is hosted twice")
        for t in self.tenants:
            if t.axis is None and self.axis is None:
                raise ValueError(f"tenant {t.organ}: no axis (give a node axis or its own)")
        if self.directory is None and any(
            r.sender_kind or any(a.startswith("@") for a in r.add) for r in self.routing
        ):
            raise ValueError("routing: rules with sender_kind or @targets need a directory file")
        if self.backoff_max < self.backoff_base:
            raise ValueError("backoff_max must not be smaller than backoff_base")
        return self

    @property
    def database_url(self) -> str:
        return self.db_url or f"sqlite:///{self.data_dir / 'node.db'}"


_PATH_FIELDS = ("key", "cert", "drop_folder", "secret_file", "directory", "data_dir")


def _absolutise(value: Any, base: Path, key: str | None = None) -> Any:
    """Make path-valued settings absolute, relative to the config file's folder."""
    if isinstance(value, dict):
        return {k: _absolutise(v, base, k) for k, v in value.items()}
    if isinstance(value, list):
        if key in ("anchors", "crls", "chain"):
            return [str(base / v) if isinstance(v, str) else v for v in value]
        return [_absolutise(v, base) for v in value]
    if key in _PATH_FIELDS and isinstance(value, str):
        return str(base / Path(value).expanduser())
    return value


def parse_config(data: Any, *, base_dir: Path, source: str = "config") -> NodeConfig:
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping at the top level")
    try:
        return NodeConfig.model_validate(_absolutise(data, base_dir))
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "config"
        raise ConfigError(f"{source}: {where}: {err['msg']}") from None


def load_config(path: str | Path) -> NodeConfig:
    """Read a node config file (``.json`` as JSON, anything else as YAML, safe loader)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: cannot read: {exc}") from None
    try:
        data = json.loads(text) if p.suffix.lower() == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ConfigError(
            f"{p}: not valid {'JSON' if p.suffix == '.json' else 'YAML'}: {first}"
        ) from None
    return parse_config(data, base_dir=p.resolve().parent, source=str(p))


# --- checks that need the files the settings name ------------------------------------------


def check_tenants(config: NodeConfig, directory: Directory | None = None) -> dict[str, SigningKey]:
    """Refuse tenants whose settings are well-formed but wrong, before the node starts or
    creates its database: an agency ``directory`` (the node's directory, when it has one)
    does not list, whose documents could be neither routed nor answered; a certificate whose
    subject UID names another agency, so that every recipient would refuse what it signs
    (``wrong-signer``); a key its certificate does not belong to, so that nothing could be
    signed. One ``ConfigError`` line names the tenant and the problem.

    Returns each tenant's signing key, loaded once here, for the node's codec."""
    from ..signing import load_signing_key

    keys: dict[str, SigningKey] = {}
    for t in config.tenants:
        if directory is not None:
            _check_listed(t.organ, directory, config.directory)
        try:
            key = load_signing_key(t.key, t.cert, t.chain)
        except ConfigError as exc:  # unreadable, or the key matches no certificate given
            raise ConfigError(f"tenant {t.organ}: {exc} (key {t.key}, cert {t.cert})") from None
        other = _other_agency(t.organ, key)
        if other is not None:
            raise ConfigError(
                f"tenant {t.organ}: its certificate {t.cert} is for agency {other} "
                f"(subject UID), not {t.organ}: recipients would refuse what it signs"
            )
        keys[t.organ] = key
    return keys


def _check_listed(organ: str, directory: Directory, source: Path | None) -> None:
    if organ.strip() in directory:
        return
    where = f"the directory {source}" if source is not None else "the node's directory"
    successor = directory.old_codes().get(organ.strip())
    if successor is not None:
        raise ConfigError(f"tenant {organ}: {where} says this code became {successor}")
    raise ConfigError(f"tenant {organ}: not an agency in {where}")


def _other_agency(organ: str, key: SigningKey) -> str | None:
    """An agency code other than ``organ`` that the certificate names in a subject UID (as
    the verifier's signer binding reads it), else None; beside ``organ``'s own UID too, as
    such a certificate binds to no single agency. A UID that is not an agency code is left
    alone: some CAs put other identifiers there, bound by an operator's mapping."""
    from cryptography.x509.oid import NameOID

    from ..organs import is_four_group

    uids = [
        str(a.value).strip()
        for a in key.certificate.subject.get_attributes_for_oid(NameOID.USER_ID)
    ]
    return next((u for u in uids if is_four_group(u) and u != organ.strip()), None)
