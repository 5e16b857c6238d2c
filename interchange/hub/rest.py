"""The REST face, compatible with the national axis (AXIS.md §1) and its SDK 2.0.1.

Every JSON answer carries ``status``, ``ErrorCode`` and ``ErrorDesc`` (the SDK crashes on
a missing one), in ASCII. A refusal is HTTP 200 with ``status: FAIL``: the SDK judges an
answer by that triple, not by its HTTP status. Only an internal failure is HTTP 500, which
a client retries. ``downloadEdoc`` answers raw bytes, so its refusals are an empty body with
a 4xx status (``_raw_error_response``). Parameters are read from the *signed* JSON only.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from starlette.types import Message

from adapters.base import AgencyInfo
from adapters.hmac import AuthResult, hash_file_matches_digest

from ..errors import AuthenticationError, InterchangeError, RefusedError
from .agencies import MAX_BODY
from .bodies import read_capped, xml_body_limit
from .service import E_AUTH, E_BAD_REQUEST, E_INTERNAL, HubService, refuse

log = logging.getLogger("interchange.hub")

_JSON = "application/json"


def _answer(body: dict[str, Any], status_code: int = 200) -> Response:
    return Response(
        # ASCII only: the SDK reads ``sendEdoc``'s answer as US-ASCII; \u escapes survive
        json.dumps(body, separators=(",", ":")).encode("ascii"),
        status_code=status_code,
        media_type=_JSON,
    )


def ok(**fields: Any) -> Response:
    return _answer({"status": "OK", "ErrorCode": "0", "ErrorDesc": "", **fields})


def fail(code: str, desc: str, status_code: int = 200, **fields: Any) -> Response:
    return _answer({"status": "FAIL", "ErrorCode": code, "ErrorDesc": desc, **fields}, status_code)


def _error_triple(exc: Exception) -> tuple[str, str]:
    """(ErrorCode, ErrorDesc) of a failed call; anything unexpected is logged, code 500."""
    if isinstance(exc, AuthenticationError):
        return E_AUTH, str(exc)
    if isinstance(exc, RefusedError):
        return exc.error_code or E_BAD_REQUEST, str(exc)
    if isinstance(exc, InterchangeError):
        return E_BAD_REQUEST, str(exc)
    log.exception("hub internal error")
    return E_INTERNAL, f"internal error: {type(exc).__name__}"


def _error_response(exc: Exception, extra: dict[str, Any]) -> Response:
    code, desc = _error_triple(exc)
    return fail(code, desc, 500 if code == E_INTERNAL else 200, **extra)


def _raw_error_response(exc: Exception) -> Response:
    """A refused ``downloadEdoc``: no body, the reason in the HTTP status and headers.

    The SDK's ``downloadEdoc`` writes whatever body comes back to ``<docId>.edxml`` and
    reports success when it is not empty, whatever the HTTP status: a JSON triple would be
    saved as the document. An empty body makes it report the failure.
    """
    code, desc = _error_triple(exc)
    status = int(code) if code.isdigit() and 400 <= int(code) < 600 else 400
    escaped = json.dumps(desc)[1:-1]  # ASCII (\uXXXX), as a header value must be
    return Response(
        b"", status_code=status, headers={"X-Error-Code": code, "X-Error-Desc": escaped}
    )


Handler = Callable[[Request, AuthResult], Awaitable[Response]]
Endpoint = Callable[[Request], Awaitable[Response]]


def rest_routes(service: HubService) -> list[tuple[str, Endpoint, tuple[str, ...]]]:
    """(path, endpoint, methods) of every REST operation.

    The app also dispatches these exact paths itself, before FastAPI's middleware and
    router (``app.HubApp``): each endpoint already turns every error into the status
    triple, so those layers add nothing but time on the hub's hottest path.
    """

    def endpoint(
        extra: dict[str, Any] | None, *, unsigned_body: bool = False
    ) -> Callable[[Handler], Callable[[Request], Awaitable[Response]]]:
        """Authenticate, run, and turn every error into the status triple (+ ``extra``),
        or, for an operation that answers raw bytes (``extra`` None), into an empty body.

        A signature is remembered per operation (``service.replay_scope``). An operation
        whose body the SDK leaves unsigned (``unsigned_body``) reads it first, capped, so
        that its digest is part of what makes a request a replay; the handler finds it in
        ``request.state.body``.
        """

        def wrap(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
            async def run(request: Request) -> Response:
                try:
                    body = b""
                    if unsigned_body:
                        body = request.state.body = await read_capped(request, MAX_BODY)
                    auth = service.authenticate(request.headers, request.scope["path"], body)
                    return await handler(request, auth)
                except Exception as exc:
                    if extra is None:
                        return _raw_error_response(exc)
                    return _error_response(exc, extra)

            run.__name__ = handler.__name__
            return run

        return wrap

    @endpoint({"DocId": ""})
    async def send_edoc(request: Request, auth: AuthResult) -> Response:
        data = await _read_file(request)
        hash_file = auth.get("hash-file")
        if not hash_file:
            raise refuse("hash-file is required (SHA-256 of the file)")
        trimmed = hashlib.sha256(data[:-2]).digest() if data.endswith(b"\r\n") else None
        if trimmed is not None and hash_file_matches_digest(hash_file, trimmed):
            data, digest = data[:-2], trimmed  # the SDK appends CRLF; the hash excludes it
        else:
            digest = hashlib.sha256(data).digest()
            if not hash_file_matches_digest(hash_file, digest):
                raise refuse("hash-file does not match the received file")
        doc_id = await service.run(
            service.send,
            auth.systemid,
            data,
            message_type=auth.get("messagetype") or "edoc",
            mac=auth.mac,
            from_param=auth.get("from"),
            to_param=auth.get("to"),
            service_type=auth.get("servicetype") or "eDoc",
            digest=digest.hex(),
        )
        return ok(DocId=doc_id)

    @endpoint({"data": []})
    async def get_received(request: Request, auth: AuthResult) -> Response:
        rows = await service.run(service.list_pending, auth.systemid, auth.get("messagetype"))
        return ok(data=rows)

    @endpoint({"data": []})
    async def get_sent(request: Request, auth: AuthResult) -> Response:
        rows = await service.run(
            service.sent_list, auth.systemid, auth.get("messagetype"), auth.get("docId")
        )
        return ok(data=rows)

    @endpoint({"data": ""})
    async def get_edoc(request: Request, auth: AuthResult) -> Response:
        # Extension (signed like every parameter, ignored by the national axis): a client
        # that already holds bytes with SHA-256 ``ifNoneMatch`` (the ``sha256`` of the list
        # row) gets ``notModified`` instead of the same bytes again.
        known = auth.get("ifNoneMatch")
        doc_id = auth.get("docId") or ""
        data = await service.run(service.fetch_unless, auth.systemid, doc_id, known)
        if data is None:
            return ok(data="", notModified=True, sha256=(known or "").strip().lower())
        return ok(data=base64.b64encode(data).decode("ascii"))

    @endpoint({})
    async def update_status(request: Request, auth: AuthResult) -> Response:
        await service.run(
            service.acknowledge, auth.systemid, auth.get("docid") or "", auth.get("status") or ""
        )
        return ok()

    @endpoint({"count": 0})
    async def count_edoc(request: Request, auth: AuthResult) -> Response:
        return ok(count=await service.run(service.count_pending, auth.systemid, "edoc"))

    @endpoint({"count": 0})
    async def count_status(request: Request, auth: AuthResult) -> Response:
        return ok(count=await service.run(service.count_pending, auth.systemid, "status"))

    @endpoint(None)
    async def download_edoc(request: Request, auth: AuthResult) -> Response:
        data = await service.run(service.fetch, auth.systemid, auth.get("docId") or "")
        return Response(data, media_type="application/octet-stream")

    def agency_rows(extra: Callable[[AgencyInfo], dict[str, Any]]) -> list[dict[str, Any]]:
        """Every known agency as the SDK reads it: the common fields, then ``extra``'s."""
        return [
            {"code": a.code, "id": a.code, "mail": a.mail or "", "name": a.name, **extra(a)}
            for a in service.agencies()
        ]

    @endpoint({"data": []})
    async def get_agencies(request: Request, auth: AuthResult) -> Response:
        return ok(data=agency_rows(lambda a: {"pid": a.parent or "", "oldCode": a.old_code or ""}))

    @endpoint({"data": []})
    async def get_agencies_qd20(request: Request, auth: AuthResult) -> Response:
        # SDK ``getAgenciesListQD20``: codes as QCVN 102 defines them, which ours already are
        return ok(data=agency_rows(lambda a: {"code102": a.code}))

    @endpoint({"data": []})
    async def get_synchronize_unit(request: Request, auth: AuthResult) -> Response:
        # SDK ``getSynchronizeUnit``: the same list in its synchronisation shape. This hub
        # keeps no versions, deletion marks or centres: every row is current (version 1).
        return ok(data=agency_rows(lambda a: {"pid": a.parent or "", **_SYNCHRONISED}))

    @endpoint({}, unsigned_body=True)
    async def register_agency(request: Request, auth: AuthResult) -> Response:
        # the SDK sends the agency as a JSON body (see ``agencies``), read by ``endpoint``
        await service.run(service.register_agency, auth, request.state.body)
        return ok()

    @endpoint({})
    async def delete_agency(request: Request, auth: AuthResult) -> Response:
        await service.run(service.delete_agency, auth)
        return ok()

    return [
        ("/sendEdoc", send_edoc, ("POST",)),
        ("/getReceivedEdocList", get_received, ("POST", "GET")),
        ("/getSentEdocList", get_sent, ("POST", "GET")),
        ("/getEdoc", get_edoc, ("POST",)),
        ("/updateStatus", update_status, ("POST",)),
        ("/countReceiveEdoc", count_edoc, ("GET", "POST")),
        ("/countReceiveStatus", count_status, ("GET", "POST")),
        ("/downloadEdoc", download_edoc, ("GET", "POST")),
        ("/getAgenciesList", get_agencies, ("POST", "GET")),
        ("/getAgenciesListQD20", get_agencies_qd20, ("POST", "GET")),
        ("/getSynchronizeUnit", get_synchronize_unit, ("POST", "GET")),
        ("/registerAgency", register_agency, ("POST",)),
        ("/deleteAgency", delete_agency, ("POST",)),
    ]


# ``getSynchronizeUnit``'s fields that this hub does not track, as the SDK types them
_SYNCHRONISED = {
    "version": 1,
    "centerCode": "",
    "deleted": False,
    "modifyDate": "",
    "isAgency": True,
}

# room for a multipart envelope (boundaries, part headers) around the largest file
_MULTIPART_ROOM = 64 * 1024


async def _read_file(request: Request) -> bytes:
    """The raw octet-stream body, or the older SDKs' multipart part ``file_doc``.

    The body is capped at the XML size limit (``INTERCHANGE_XML_MAX_BYTES``, what the
    parser would refuse anyway) while it is read: an authenticated caller cannot make
    the hub hold an unbounded upload in memory. A multipart label on a body that is not
    multipart (or has no ``file_doc``) falls back to the raw body: the hash-file check
    then decides.
    """
    data = await read_capped(request, xml_body_limit() + _MULTIPART_ROOM)
    if request.headers.get("content-type", "").lower().startswith("multipart/"):

        async def replay() -> Message:
            return {"type": "http.request", "body": data, "more_body": False}

        try:
            form = await Request(request.scope, replay).form()
            part = form.get("file_doc")
            if part is not None and not isinstance(part, str):
                return bytes(await part.read())
        except Exception:  # not really multipart: keep the raw body
            log.debug("multipart label on a non-multipart body", exc_info=True)
    if not data:
        raise refuse("empty body: the .edxml file is required")
    return data
