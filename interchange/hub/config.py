"""The hub's configuration: who may call (systems file), whom it knows (directory), time.

Read once at start; handlers never re-read a file. Codes are resolved through the
directory here, so that a system registered under an agency's old code still sees the
documents addressed to the agency's current code.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..errors import ConfigError, UnknownOrganError
from ..organs import Directory, Resolution, load_directory, normalise_organ_id


@dataclass(frozen=True, slots=True)
class SystemConfig:
    """One caller: its id, its shared secret, the agencies it sends as and receives for."""

    systemid: str
    secret: str
    organs: tuple[str, ...]


@dataclass(frozen=True)
class HubConfig:
    """Everything ``create_hub_app`` needs. ``directory`` is a loaded Directory or a path."""

    db_url: str
    systems: tuple[SystemConfig, ...]
    directory: Directory | Path | str | None = None
    tz: str = "Asia/Ho_Chi_Minh"
    skew: dt.timedelta = dt.timedelta(minutes=5)
    hub_id: str = "interchange-hub"
    # where clients reach this hub (``check_public_url``): the served WSDL's address is
    # built from it, never from a request's Host; None keeps the WSDL file's own localhost
    public_url: str | None = None
    replay_cache_size: int = 600_000  # signatures fresh at once: ~5 min at 2,000 calls/s
    list_limit: int = 1000
    migrate: bool = True
    inline_db: bool | None = None  # None: inline on SQLite, thread pool on PostgreSQL
    # registerAgency: refuse a body not covered by a signed ``hash-file`` (the SDK's
    # body is outside the HMAC; see ``interchange.hub.agencies``)
    agency_body_hash: bool = False


#: Characters RFC 3986 allows in a URI: anything else (a space, a quote, ``<``) is refused
#: rather than guessed at, since the address is written into the WSDL as given.
_URI_CHARS = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+")


def check_public_url(url: str, *, option: str = "--public-url") -> str:
    """The hub's public base URL without a trailing slash, else ``ConfigError`` in one line.

    http or https, a host, an optional port and path prefix (a reverse proxy's); no
    credentials, query or fragment, which have no meaning in a service address."""
    if not _URI_CHARS.fullmatch(url):
        raise ConfigError(f"{option} {url!r}: not a URL (spaces or characters a URL cannot hold)")
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        raise ConfigError(f"{option} {url!r}: must start with http:// or https://")
    try:
        host, port = parts.hostname, parts.port
    except ValueError:  # a port out of range or not a number
        host, port = None, 0
    if port == 0:
        raise ConfigError(f"{option} {url!r}: the port is not a number from 1 to 65535")
    if not host:
        raise ConfigError(f"{option} {url!r}: names no host")
    if parts.username is not None or parts.password is not None:
        raise ConfigError(f"{option} {url!r}: must not hold a user name or password")
    if parts.query or parts.fragment or "?" in url or "#" in url:
        raise ConfigError(f"{option} {url!r}: must not have a query (?) or fragment (#)")
    return url.rstrip("/")


def default_public_url(host: str, port: int) -> str:
    """``http://HOST:PORT`` of the address the hub listens on.

    Listening on every interface (``0.0.0.0``, ``::``) names no address a client could use,
    and guessing one (a hostname, the first interface) would put a wrong address into the
    WSDL unnoticed: that is refused, with the option to give instead."""
    bare = host.strip("[]")
    try:
        ip = ipaddress.ip_address(bare) if bare else None
    except ValueError:  # a host name
        return check_public_url(f"http://{host}:{port}", option="--host")
    if ip is None or ip.is_unspecified:
        raise ConfigError(
            f"--host {host or repr(host)} listens on every interface: give --public-url, the "
            "address clients reach this hub at (the served WSDL names it)"
        )
    shown = f"[{ip}]" if ip.version == 6 else str(ip)
    return f"http://{shown}:{port}"


def parse_systems(data: Any, source: str = "systems file") -> tuple[SystemConfig, ...]:
    """``{"systems": [{"systemid", "secret", "organs": [...]}]}`` → SystemConfigs (checked)."""
    if not isinstance(data, dict) or not isinstance(data.get("systems"), list):
        raise ConfigError(f"{source}: expected an object with a 'systems' list")
    out: list[SystemConfig] = []
    seen: set[str] = set()
    for i, entry in enumerate(data["systems"]):
        if not isinstance(entry, dict):
            raise ConfigError(f"{source}: systems[{i}] is not an object")
        sid, secret, organs = entry.get("systemid"), entry.get("secret"), entry.get("organs")
        if not isinstance(sid, str) or not sid.strip():
            raise ConfigError(f"{source}: systems[{i}] has no systemid")
        if not isinstance(secret, str) or len(secret) < 8:
            raise ConfigError(f"{source}: system {sid} needs a secret of at least 8 characters")
        if not isinstance(organs, list) or not all(isinstance(o, str) for o in organs):
            raise ConfigError(f"{source}: system {sid} needs an 'organs' list of codes")
        if sid in seen:
            raise ConfigError(f"{source}: duplicate systemid {sid}")
        seen.add(sid)
        try:
            codes = tuple(normalise_organ_id(o) for o in organs)
        except Exception as exc:  # OrganCodeError: one line naming the system
            raise ConfigError(f"{source}: system {sid}: {exc}") from None
        out.append(SystemConfig(systemid=sid.strip(), secret=secret, organs=codes))
    return tuple(out)


def load_systems(path: str | Path) -> tuple[SystemConfig, ...]:
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read systems file {p}: {exc}") from None
    return parse_systems(data, str(p))


class Routing:
    """Who is a known recipient, where an old code goes now, whose queue an agency is in."""

    def __init__(self, systems: Iterable[SystemConfig], directory: Directory | None) -> None:
        self.directory = directory
        self.system_organs: set[str] = set()
        systems = tuple(systems)
        for s in systems:
            self.system_organs.update(s.organs)
        # Each system's effective agencies: as configured, plus what they resolve to now.
        self.organs_of: dict[str, frozenset[str]] = {}
        self.owner: dict[str, str] = {}
        for s in systems:
            eff = set(s.organs)
            for code in s.organs:
                try:
                    eff.add(self.resolve(code).code)
                except UnknownOrganError:
                    pass
            self.organs_of[s.systemid] = frozenset(eff)
            for code in eff:
                self.owner.setdefault(code, s.systemid)

    def resolve(self, code: str) -> Resolution:
        """The agency a document addressed to ``code`` reaches; ``UnknownOrganError`` else."""
        code = code.strip()
        if self.directory is not None and self.directory.knows(code):
            return self.directory.resolve(code)
        if code in self.system_organs:
            return Resolution(code)
        raise UnknownOrganError(f"unknown recipient {code[:80]!r}")


def load_directory_opt(directory: Directory | Path | str | None) -> Directory | None:
    if directory is None or isinstance(directory, Directory):
        return directory
    return load_directory(directory, strict_codes=False)
