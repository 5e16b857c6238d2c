"""Request bodies are capped before anything reads them, over real HTTP on loopback: a
declared size over the cap is refused at once and unread, a streamed (chunked) body as soon
as it passes the cap; the answer is the API's one-line error and nothing is stored."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from interchange.api import ApiSettings, create_api_app
from interchange.api.server import RunningApi, start_api_server
from interchange.safexml import XmlLimits
from interchange.store import auth_tables as auth
from interchange.store.tables import documents

from .world import A, World, directive_spec

pytestmark = pytest.mark.timeout(120)

MIB = 1024 * 1024
SMALL, SMALL_UPLOAD = 16 * 1024, 64 * 1024  # the caps of the second server
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
BOUNDARY = "b0undary"


def _serve(world: World, **caps: int) -> RunningApi:
    app = create_api_app(
        ApiSettings(database_url=world.url, **caps),
        engine=world.engine,
        codec=world.codec,
        directory=world.directory,
    )
    return start_api_server(app)


@pytest.fixture(scope="module")
def default(world: World) -> Iterator[RunningApi]:
    running = _serve(world)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def small(world: World) -> Iterator[RunningApi]:
    running = _serve(world, max_body_bytes=SMALL, max_upload_bytes=SMALL_UPLOAD)
    yield running
    running.stop()


def _counts(world: World) -> tuple[int, int, int]:
    """Users, audit entries, documents: what a request could have stored."""
    with world.engine.connect() as conn:
        return (
            len(auth.list_users(conn)),
            int(conn.execute(select(func.count()).select_from(auth.audit_log)).scalar_one()),
            int(conn.execute(select(func.count()).select_from(documents)).scalar_one()),
        )


def _raw(api: RunningApi, head: str, body: bytes) -> tuple[int, dict[str, str], Any]:
    """Send ``head`` and the first ``body`` bytes, nothing more, and read the answer. The
    server must answer without the rest: a server that waits for it times the test out."""
    with socket.create_connection((api.host, api.port), timeout=10) as sock:
        sock.sendall(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
        data = b""
        while b"\r\n\r\n" not in data or len(data) < _end(data):
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:  # the server closed with our bytes unread
                break
            if not chunk:
                break
            data += chunk
    head_bytes, _, rest = data.partition(b"\r\n\r\n")
    lines = head_bytes.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    return int(lines[0].split()[1]), headers, json.loads(rest)


def _end(data: bytes) -> int:
    head, sep, _ = data.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(head) + len(sep) + int(value)
    return len(data) + 1


def _refused(status: int, headers: dict[str, str], body: Any, limit: str) -> None:
    assert status == 413, body
    assert body == {"detail": f"the request body is larger than {limit}", "code": "too-large"}
    assert headers["content-type"] == "application/json"
    assert headers["connection"] == "close"
    assert headers["x-content-type-options"] == "nosniff"  # still inside the safe headers


def _bearer(world: World, who: str | None) -> str:
    return f"Authorization: Bearer {world.tokens[who]}\n" if who else ""


@pytest.mark.parametrize("who", [None, "root"])
def test_a_declared_400_mb_json_body_is_refused_unread(
    default: RunningApi, world: World, who: str | None
) -> None:
    before = _counts(world)
    head = (
        "POST /api/v1/users HTTP/1.1\nHost: x\nContent-Type: application/json\n"
        f"{_bearer(world, who)}Content-Length: {400 * 1000 * 1000}\n"
    )
    status, headers, body = _raw(default, head, b'{"name": "big", "role": "viewer", "pad": "xxxx')
    _refused(status, headers, body, "1 MiB")
    assert _counts(world) == before


@pytest.mark.parametrize("who", [None, "dept"])
def test_a_declared_2_gb_upload_is_refused_unread(
    default: RunningApi, world: World, who: str | None
) -> None:
    before = _counts(world)
    cap = XmlLimits.from_env().max_bytes + MIB
    head = (
        f"POST /api/v1/submit HTTP/1.1\nHost: x\n{_bearer(world, who)}"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\nContent-Length: {2 * 1024**3}\n"
    )
    part = f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="edxml"; filename="a.xml"\r\n\r\n'
    status, headers, body = _raw(default, head, part.encode() + b"<" * 4096)
    _refused(status, headers, body, f"{cap // MIB} MiB")
    assert _counts(world) == before


def _chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


def test_a_streamed_json_body_is_cut_at_the_cap(small: RunningApi, world: World) -> None:
    """Chunked, no length declared: refused once past 16 KiB, the stream left unfinished."""
    before = _counts(world)
    head = (
        f"POST /api/v1/users HTTP/1.1\nHost: x\nContent-Type: application/json\n"
        f"{_bearer(world, 'root')}Transfer-Encoding: chunked\n"
    )
    start = json.dumps({"name": "streamed", "role": "viewer", "tenants": [A], "pad": ""})[:-2]
    body = _chunk(start.encode()) + b"".join(_chunk(b"x" * 4096) for _ in range(5))
    status, headers, answer = _raw(small, head, body)
    _refused(status, headers, answer, f"{SMALL} bytes")
    assert _counts(world) == before


def test_a_streamed_upload_is_cut_at_its_cap(small: RunningApi, world: World) -> None:
    before = _counts(world)
    head = (
        f"POST /api/v1/submit HTTP/1.1\nHost: x\n{_bearer(world, 'dept')}"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\nTransfer-Encoding: chunked\n"
    )
    part = f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="edxml"; filename="a.xml"\r\n\r\n'
    body = _chunk(part.encode()) + b"".join(_chunk(b"<" * 8192) for _ in range(9))
    status, headers, answer = _raw(small, head, body)
    _refused(status, headers, answer, f"{SMALL_UPLOAD} bytes")
    assert _counts(world) == before


def test_bodies_within_the_caps_are_served(small: RunningApi, world: World) -> None:
    h = {"Authorization": f"Bearer {world.tokens['root']}"}
    r = httpx.post(
        f"{small.url}/api/v1/users",
        headers=h,
        json={"name": "fits", "role": "viewer", "tenants": [A]},
    )
    assert r.status_code == 201, r.text

    def streamed() -> Iterator[bytes]:  # chunked, under the cap
        yield json.dumps({"name": "fits-streamed", "role": "viewer", "tenants": [A]}).encode()

    r = httpx.post(
        f"{small.url}/api/v1/users",
        headers={**h, "Content-Type": "application/json"},
        content=streamed(),
    )
    assert r.status_code == 201, r.text


def test_a_submission_over_the_json_cap_still_goes_through(
    default: RunningApi, world: World
) -> None:
    """The upload cap, not the 1 MiB one, applies to the submit route: a 2 MiB PDF passes
    while the same bytes to a JSON route are refused."""
    pdf = PDF + b"%" + b"0" * (2 * MIB)
    spec = directive_spec("16")
    r = httpx.post(
        f"{default.url}/api/v1/submit",
        headers={"Authorization": f"Bearer {world.tokens['dept']}"},
        data={"document": json.dumps(spec)},
        files=[("files", ("lon.pdf", pdf, "application/pdf"))],
        timeout=60,
    )
    assert r.status_code == 201, r.text
    head = "POST /api/v1/users HTTP/1.1\nHost: x\n"
    head += f"{_bearer(world, 'root')}Content-Length: {len(pdf)}\n"
    status, headers, body = _raw(default, head, b"")
    _refused(status, headers, body, "1 MiB")


def test_the_caps_come_from_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = ApiSettings(database_url="sqlite://")
    assert settings.max_body_bytes == MIB
    assert settings.max_upload_bytes == XmlLimits.from_env().max_bytes + MIB
    monkeypatch.setenv("INTERCHANGE_XML_MAX_BYTES", str(100 * MIB))  # a raised XML limit
    monkeypatch.setenv("INTERCHANGE_API_MAX_BODY_BYTES", str(2 * MIB))
    settings = ApiSettings(database_url="sqlite://")
    assert (settings.max_body_bytes, settings.max_upload_bytes) == (2 * MIB, 101 * MIB)
