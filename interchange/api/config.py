"""Settings of the operator API and dashboard (environment ``INTERCHANGE_API_*`` or arguments).

Why it refuses instead of defaulting: a session secret such as ``changeme`` lets anyone forge
an operator's cookie, and a public bind with insecure cookies leaks sessions. When no secret is
given a random one is drawn per process (sessions end on restart), never a fixed default.
Every face that binds an address builds its settings with ``settings_for_host``, so the
public-address rule cannot be skipped by one of them.

Request bodies are capped (``bodies.BodyLimit``) before anything reads them: 1 MiB for
every request but a submission, whose cap is the largest document the node parses at all
(``INTERCHANGE_XML_MAX_BYTES``, 64 MiB by default) plus 1 MiB of multipart framing and the
``document`` field. That admits everything the submit route can turn into a document a
receiver accepts: a ready edXML file (20 MB at most) or PDFs whose base64 in the signed XML
must fit the same XML limit.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ..errors import ConfigError

MIB = 1024 * 1024
LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")
_WEAK = {"changeme", "secret", "password", "default", "dev", "test", "example", "insecure"}


def _upload_cap() -> int:
    from ..safexml import XmlLimits

    return XmlLimits.from_env().max_bytes + MIB


class ApiSettings(BaseSettings):
    """What the operator face needs: the node's database, and what readiness checks."""

    model_config = SettingsConfigDict(env_prefix="INTERCHANGE_API_", frozen=True, extra="forbid")

    database_url: str = Field(min_length=1)
    session_secret: str = Field(default_factory=lambda: secrets.token_urlsafe(48), repr=False)
    session_hours: int = Field(default=12, ge=1, le=24 * 7)
    cookie_secure: bool = False  # set on a TLS deployment (behind a proxy)
    public: bool = False  # bound beyond loopback: then cookies must be secure
    node_name: str = "interchange"
    hub_url: str | None = None  # readiness: is the axis reachable
    certificate: Path | None = None  # readiness: days until this PEM certificate expires
    default_lang: str = "vi"
    refresh_seconds: int = Field(default=10, ge=2, le=3600)
    page_size: int = Field(default=50, ge=1, le=500)
    max_body_bytes: int = Field(default=MIB, ge=1024)  # any request but a submission
    max_upload_bytes: int = Field(default_factory=_upload_cap, ge=1024)  # POST /api/v1/submit

    @field_validator("session_secret")
    @classmethod
    def _strong_secret(cls, value: str) -> str:
        if len(value) < 32 or value.lower() in _WEAK or len(set(value)) < 10:
            raise ValueError("session secret must be at least 32 random characters")
        return value

    @field_validator("default_lang")
    @classmethod
    def _lang(cls, value: str) -> str:
        if value not in ("vi", "en"):
            raise ValueError("default_lang must be 'vi' or 'en'")
        return value

    @model_validator(mode="after")
    def _public_needs_secure_cookies(self) -> ApiSettings:
        if self.public and not self.cookie_secure:
            raise ValueError("a public dashboard needs cookie_secure (serve it over TLS)")
        return self


def load_settings(**values: object) -> ApiSettings:
    """Settings from arguments and the environment, refused as one ``ConfigError`` line."""
    from pydantic import ValidationError

    try:
        return ApiSettings(**values)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "settings"
        raise ConfigError(f"{where}: {first.get('msg', 'invalid')}") from None


def settings_for_host(database_url: str, host: str, **values: object) -> ApiSettings:
    """Settings of an API bound to ``host``: beyond loopback it is ``public``, so insecure
    cookies are refused (set ``INTERCHANGE_API_COOKIE_SECURE=true`` behind a TLS proxy)."""
    return load_settings(database_url=database_url, public=host not in LOOPBACK_HOSTS, **values)
