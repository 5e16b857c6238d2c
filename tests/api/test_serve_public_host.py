"""``interchange serve --api-host``: beyond loopback the operator API needs secure cookies,
as ``interchange api serve`` does; refused in one line before anything starts or is stored."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from interchange.api.config import settings_for_host
from interchange.errors import ConfigError

from .test_serve_mount import REPO, _free_port, node_config

pytestmark = pytest.mark.timeout(120)

REFUSAL = "error: settings: Value error, a public dashboard needs cookie_secure (serve it over TLS)"


def test_serve_on_a_public_address_with_insecure_cookies_is_refused(tmp_path: Path) -> None:
    config = node_config(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTERCHANGE_API_")}
    argv = [sys.executable, "-m", "interchange", "serve", "--config", str(config)]
    argv += ["--api-port", str(_free_port()), "--api-host", "0.0.0.0", "--workers", "2"]
    proc = subprocess.Popen(
        argv,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    )
    try:
        _, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail("the node served its API on a public address with insecure cookies")
    assert proc.returncode == 1
    assert err.strip().splitlines() == [REFUSAL], err
    assert not (tmp_path / "data").exists(), "nothing is started or stored before the refusal"


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.10", "::"])
def test_settings_for_a_public_host_need_secure_cookies(
    host: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("INTERCHANGE_API_COOKIE_SECURE", raising=False)
    with pytest.raises(ConfigError) as refused:
        settings_for_host("sqlite://", host)
    assert str(refused.value) == REFUSAL.removeprefix("error: ")
    monkeypatch.setenv("INTERCHANGE_API_COOKIE_SECURE", "true")  # behind a TLS proxy
    settings = settings_for_host("sqlite://", host)
    assert settings.public and settings.cookie_secure


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost"])
def test_settings_on_loopback_are_not_public(host: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INTERCHANGE_API_COOKIE_SECURE", raising=False)
    settings = settings_for_host("sqlite://", host)
    assert not settings.public and not settings.cookie_secure
