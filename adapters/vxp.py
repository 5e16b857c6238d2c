"""``VxpAxis``: the national axis's REST face (AXIS.md §1) over pooled keep-alive HTTP.

Requests are shaped like the operator's SDK 2.0.1 sends them (same headers, unpadded
``hash-file``, the file followed by ``\\r\\n``, ``to`` JSON-encoded), so what works against
the embedded hub works against the real axis by construction. One extra signed parameter,
``nonce``, makes every request's MAC unique (hubs ignore parameters they do not use), so
two identical calls within one millisecond are not mistaken for a replay.

Errors: unreachable, 5xx, or an answer that is not the status triple → ``TransportError``
(retry); ``status: FAIL`` → ``RefusedError`` with the axis's ErrorCode, or
``AuthenticationError`` for the hub's authentication codes (do not retry).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import http.client
import json
import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import httpx

from interchange.errors import AuthenticationError, RefusedError, TransportError

from .base import AgencyInfo, MessageType, PendingItem, SendReceipt
from .hmac import (
    AuthResult,
    ReplayCache,
    check_headers,
    hash_file_matches,
    new_nonce,
    sdk_hash_file,
    sign_headers,
)
from .http11 import HttpAnswer, HttpPool, proxied

__all__ = [
    "AUTH_ERROR_CODES",
    "AuthResult",
    "ReplayCache",
    "VxpAxis",
    "check_headers",
    "hash_file_matches",
    "sdk_hash_file",
    "sign_headers",
]

# ErrorCodes the embedded hub uses for authentication failures (see interchange.hub.errors).
AUTH_ERROR_CODES = frozenset({"401"})

_LISTED_MAX = 20_000  # docId → announced SHA-256 entries kept
_HOLD_MAX = 8  # downloads kept by digest
_HOLD_MIN = 4096  # smaller files are cheaper to download again than to hold


def _header_text(value: str) -> str:
    """A header value the hub wrote JSON-escaped (headers are ASCII), read back as text."""
    try:
        text = json.loads(f'"{value}"')
    except ValueError:
        return value
    return text if isinstance(text, str) else value


class VxpAxis:
    """An ``Axis`` over the REST face. Thread-safe (the pools are); keep one per system."""

    def __init__(
        self,
        base_url: str,
        systemid: str,
        secret: str,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        *,
        tz: str = "Asia/Ho_Chi_Minh",
        nonce: bool = True,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.systemid = systemid
        self._secret = secret
        self._tz = tz
        self._nonce = nonce
        agent = {"User-Agent": "interchange-vxp/1.0 XRoad/VPCP"}
        # the stdlib pool (``http11``): about a fifth of httpx's CPU per call; httpx when a
        # test hands in a transport or the environment names a proxy for the axis
        self._pool: HttpPool | None = None
        self._client: httpx.Client | None = None
        if transport is None and not proxied(self.base_url):
            self._pool = HttpPool(self.base_url, timeout=timeout, headers=agent)
        else:
            self._client = httpx.Client(
                base_url=self.base_url,
                timeout=timeout,
                transport=transport,
                headers=agent,
                limits=httpx.Limits(max_keepalive_connections=20, keepalive_expiry=30.0),
            )
        # the SHA-256 each listed item's row announced, and the last few large downloads
        # by their digest: byte-identical copies (a fan-out) are downloaded once (``fetch``)
        self._lock = threading.Lock()
        self._listed: OrderedDict[str, str] = OrderedDict()
        self._blobs: OrderedDict[str, bytes] = OrderedDict()
        self._last_hash: tuple[bytes, str] | None = None

    # --- plumbing --------------------------------------------------------------------------

    def _headers(self, params: Mapping[str, str], content_type: str) -> dict[str, str]:
        full = dict(params)
        if self._nonce:
            full["nonce"] = new_nonce()
        return sign_headers(
            full, self.systemid, self._secret, tz=self._tz, content_type=content_type
        )

    def _http(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes | None = None
    ) -> HttpAnswer:
        """One HTTP exchange; ``TransportError`` when the axis could not be reached."""
        try:
            if self._pool is not None:
                return self._pool.request(method, path, headers, body)
            assert self._client is not None
            resp = self._client.request(method, path, headers=headers, content=body)
            return HttpAnswer(
                resp.status_code,
                resp.headers.get("content-type", ""),
                resp.content,
                resp.headers.get("x-error-desc", ""),
            )
        except (httpx.HTTPError, OSError, http.client.HTTPException) as exc:
            raise TransportError(f"axis {self.base_url}{path} unreachable: {exc!r}") from None

    def _call(
        self,
        method: str,
        path: str,
        params: Mapping[str, str],
        *,
        body: bytes | None = None,
        content_type: str = "application/json",
    ) -> dict[str, Any]:
        headers = self._headers(params, content_type)
        resp = self._http(method, path, headers, body)
        if resp.status >= 500:
            raise TransportError(f"axis {path} answered HTTP {resp.status}")
        try:
            answer = json.loads(resp.content)
        except ValueError:
            raise TransportError(f"axis {path} answered HTTP {resp.status} without JSON") from None
        if not isinstance(answer, dict) or "status" not in answer:
            raise TransportError(f"axis {path} answered without a status")
        status = str(answer.get("status", "")).upper()
        code = str(answer.get("ErrorCode", ""))
        if status == "FAIL" or (code not in ("0", "") and status != "OK"):
            desc = str(answer.get("ErrorDesc") or f"refused by the axis ({path})")
            if code in AUTH_ERROR_CODES:
                raise AuthenticationError(desc, error_code=code)
            raise RefusedError(desc, error_code=code or "1")
        if status not in ("OK", "SUCCESS"):
            raise TransportError(f"axis {path} answered an unknown status {status[:20]!r}")
        return answer

    def _hash_file(self, data: bytes) -> str:
        """``sdk_hash_file``, remembered for the last bytes object: a fan-out sent one
        recipient at a time hands the same (immutable) bytes to hundreds of sends."""
        last = self._last_hash
        if last is not None and last[0] is data:
            return last[1]
        value = sdk_hash_file(data)
        self._last_hash = (data, value)
        return value

    @staticmethod
    def _rows(answer: Mapping[str, Any]) -> list[dict[str, Any]]:
        data = answer.get("data") or []
        if not isinstance(data, list):
            raise TransportError("axis answered a list that is not a list")
        return [row for row in data if isinstance(row, dict)]

    # --- the Axis protocol ------------------------------------------------------------------

    def send(
        self,
        data: bytes,
        *,
        message_type: MessageType,
        from_organ: str,
        to_organ: str | None = None,
    ) -> SendReceipt:
        params = {
            "from": from_organ,
            "servicetype": "eDoc",
            "messagetype": message_type,
            "hash-file": self._hash_file(data),
        }
        if to_organ:
            params["to"] = json.dumps(to_organ)  # the SDK sends JsonElement.toString()
        answer = self._call(
            "POST",
            "/sendEdoc",
            params,
            body=data + b"\r\n",
            content_type="application/octet-stream",
        )
        doc_id = str(answer.get("DocId") or "")
        if not doc_id:
            raise TransportError("axis accepted the document but returned no DocId")
        return SendReceipt(doc_id=doc_id)

    def list_pending(self, message_type: MessageType) -> list[PendingItem]:
        answer = self._call(
            "POST", "/getReceivedEdocList", {"servicetype": "eDoc", "messagetype": message_type}
        )
        items = []
        rows = self._rows(answer)
        with self._lock:
            for row in rows:
                sha = row.get("sha256")
                if isinstance(sha, str) and len(sha) == 64:
                    self._listed[str(row.get("docId", ""))] = sha.lower()
            while len(self._listed) > _LISTED_MAX:
                self._listed.popitem(last=False)
        for row in rows:
            kind = str(row.get("messageType") or message_type).lower()
            items.append(
                PendingItem(
                    doc_id=str(row.get("docId", "")),
                    message_type="status" if kind == "status" else "edoc",
                    from_organ=str(row.get("from", "")),
                    to_organ=str(row.get("to", "")),
                    created=str(row.get("created_time", "")),
                    status=str(row.get("status", "")),
                )
            )
        return items

    def fetch(self, doc_id: str) -> bytes:
        """``getEdoc``. When the list row named a SHA-256 (our hub's extension) whose bytes
        this client already downloaded, it asks with ``ifNoneMatch`` and, if the hub answers
        ``notModified`` for that digest, returns the bytes it holds: identical by SHA-256 to
        what the hub would send. A hub without the extension simply sends the bytes."""
        with self._lock:
            listed = self._listed.get(doc_id)
            held = self._blobs.get(listed) if listed else None
        params = {"docId": doc_id}
        if held is not None and listed:
            params["ifNoneMatch"] = listed
        answer = self._call("POST", "/getEdoc", params)
        same = answer.get("notModified") is True and answer.get("sha256") == listed
        if held is not None and same:
            return held
        if answer.get("notModified"):  # not what we asked: never take "" for the document
            raise TransportError(f"axis answered notModified for {doc_id} unasked")
        try:
            # Some servers wrap base64 in lines (MIME style): whitespace is not data.
            data = base64.b64decode("".join(str(answer.get("data", "")).split()), validate=True)
        except (binascii.Error, ValueError):
            raise TransportError(f"axis returned undecodable data for {doc_id}") from None
        if listed and len(data) >= _HOLD_MIN:
            digest = hashlib.sha256(data).hexdigest()  # held under the digest of what came
            with self._lock:
                self._blobs[digest] = data
                self._blobs.move_to_end(digest)
                while len(self._blobs) > _HOLD_MAX:
                    self._blobs.popitem(last=False)
        return data

    def acknowledge(self, doc_id: str, *, ok: bool = True) -> None:
        self._call("POST", "/updateStatus", {"docid": doc_id, "status": "done" if ok else "fail"})

    def list_agencies(self) -> list[AgencyInfo]:
        answer = self._call("POST", "/getAgenciesList", {})
        out = []
        for row in self._rows(answer):
            code = str(row.get("code") or "")
            if not code:
                continue
            out.append(
                AgencyInfo(
                    code=code,
                    name=str(row.get("name") or code),
                    parent=str(row["pid"]) if row.get("pid") else None,
                    old_code=str(row["oldCode"]) if row.get("oldCode") else None,
                    mail=str(row["mail"]) if row.get("mail") else None,
                )
            )
        return out

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
        if self._client is not None:
            self._client.close()

    # --- extras of the REST face -------------------------------------------------------------

    def get_sent_list(self, message_type: MessageType = "edoc") -> list[dict[str, Any]]:
        """``getSentEdocList`` rows as the axis gives them (senderDocId, receiveStatus, ...)."""
        answer = self._call(
            "POST", "/getSentEdocList", {"servicetype": "eDoc", "messagetype": message_type}
        )
        return self._rows(answer)

    def count_pending(self, message_type: MessageType = "edoc") -> int:
        path = "/countReceiveStatus" if message_type == "status" else "/countReceiveEdoc"
        answer = self._call("GET", path, {})
        try:
            return int(answer.get("count", 0))
        except (TypeError, ValueError):
            raise TransportError("axis answered a count that is not a number") from None

    def download(self, doc_id: str) -> bytes:
        """``downloadEdoc``: the raw file."""
        headers = self._headers({"docId": doc_id}, "application/json")
        resp = self._http("GET", "/downloadEdoc", headers)
        if resp.status >= 500:
            raise TransportError(f"axis /downloadEdoc answered HTTP {resp.status}")
        if resp.status >= 400:  # our hub: no body (the SDK would save it as the file)
            desc = (
                _header_text(resp.error_desc) or f"axis /downloadEdoc answered HTTP {resp.status}"
            )
            if str(resp.status) in AUTH_ERROR_CODES:
                raise AuthenticationError(desc, error_code=str(resp.status))
            raise RefusedError(desc, error_code=str(resp.status))
        if resp.content_type.startswith("application/json"):
            self._call_result_error(resp)
        return resp.content

    def register_agency(
        self,
        code: str,
        name: str,
        *,
        parent: str | None = None,
        mail: str | None = None,
        old_code: str | None = None,
    ) -> None:
        """``registerAgency`` (register or update), the SDK's shape: the agency as a JSON
        body ``{id, pcode, code, name, mail, mobile, fax}``. The SDK leaves that body outside
        the HMAC; this client also signs ``hash-file`` (SHA-256 of the body) so that a hub
        can tell it was not altered. ``oldCode`` is sent only when given (our extension)."""
        fields: dict[str, str] = {
            "id": "",
            "pcode": parent or "",
            "code": code,
            "name": name,
            "mail": mail or "",
            "mobile": "",
            "fax": "",
        }
        if old_code:
            fields["oldCode"] = old_code
        body = json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        self._call("POST", "/registerAgency", {"hash-file": sdk_hash_file(body)}, body=body)

    def delete_agency(self, code: str) -> None:
        """``deleteAgency``: the SDK's signed ``AgencyCode`` header, no body."""
        self._call("POST", "/deleteAgency", {"AgencyCode": code})

    @staticmethod
    def _call_result_error(resp: HttpAnswer) -> None:
        try:
            answer = json.loads(resp.content)
        except ValueError:
            raise TransportError("axis answered garbage") from None
        code = str(answer.get("ErrorCode", "1"))
        desc = str(answer.get("ErrorDesc") or "refused by the axis")
        if code in AUTH_ERROR_CODES:
            raise AuthenticationError(desc, error_code=code)
        raise RefusedError(desc, error_code=code)

    def __enter__(self) -> VxpAxis:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
