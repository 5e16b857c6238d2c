"""The delivery layer's one door to packaging, signing and verification.

Delivery moves bytes and rows; it never builds or checks XML itself. Everything it needs
from the format side goes through a ``Codec`` so that unit tests of the delivery logic can
inject a fake (no PKI), while the node uses ``RealCodec`` (``interchange.packaging`` and
``interchange.receiving``).
"""

from __future__ import annotations

import dataclasses
import enum
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

from ..edxml.model import Attachment, Bussiness, EdocMessage, ResponseFor, StatusCode, StatusMessage
from ..errors import ConfigError, InterchangeError

if TYPE_CHECKING:
    from ..organs import Directory


@dataclass(frozen=True, slots=True)
class Opened:
    """A verified message, a JSON-able report of its verification, and its structured part."""

    message: EdocMessage | StatusMessage
    report: Mapping[str, Any]
    payload: Any = None


@dataclass(frozen=True, slots=True)
class PackagedDoc:
    document_id: str
    data: bytes
    message: EdocMessage


class Codec(Protocol):
    def open(self, data: bytes) -> Opened:
        """Verify and read; raise a typed ``InterchangeError`` to refuse."""
        ...

    def peek(self, data: bytes) -> EdocMessage | StatusMessage | None:
        """Unverified best-effort read, only to address a refusal (02) to its sender."""
        ...

    def sign_status(
        self, tenant: str, response_for: ResponseFor, code: StatusCode, description: str | None
    ) -> bytes: ...

    def package(
        self,
        tenant: str,
        payload: Any,
        recipients: Sequence[str],
        *,
        bussiness: Bussiness | None = None,
        document_id: str | None = None,
        attachments: Sequence[Attachment] = (),
    ) -> PackagedDoc: ...


def peek_message(data: bytes) -> EdocMessage | StatusMessage | None:
    from ..edxml.read import read_message

    try:
        return read_message(data)
    except InterchangeError:
        return None


def report_of(result: Any) -> dict[str, Any]:
    """A JSON-able summary of a verification result, whatever its exact shape."""

    def plain(value: Any) -> Any:
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if isinstance(value, enum.Enum):
            return value.value
        if isinstance(value, Mapping):
            return {str(k): plain(v) for k, v in value.items()}
        if isinstance(value, list | tuple | set | frozenset):
            return [plain(v) for v in value]
        if value is None or isinstance(value, str | int | float | bool):
            return value
        return str(value)

    out = plain(result)
    return out if isinstance(out, dict) else {"result": out}


def report_json(report: Mapping[str, Any]) -> str:
    return json.dumps(report, ensure_ascii=False, sort_keys=True, default=str)


class RealCodec:
    """Packaging, signing and verification as the rest of the project does them."""

    def __init__(
        self,
        keys: Mapping[str, Any],
        policy: Any,
        *,
        directory: Directory | None = None,
        schema: Literal["strict", "lenient"] = "strict",
    ) -> None:
        self._keys = dict(keys)
        self._policy = policy
        self._directory = directory
        self._schema: Literal["strict", "lenient"] = schema

    def _key(self, tenant: str) -> Any:
        try:
            return self._keys[tenant]
        except KeyError:
            raise ConfigError(f"no signing key for agency {tenant}") from None

    def open(self, data: bytes) -> Opened:
        from ..receiving import open_document
        from .metrics import observe_verification

        started = time.perf_counter()
        try:
            received = open_document(data, self._policy, schema=self._schema)
        finally:
            observe_verification(time.perf_counter() - started)
        return Opened(
            message=received.message,
            report=report_of(received.verification),
            payload=received.payload,
        )

    def peek(self, data: bytes) -> EdocMessage | StatusMessage | None:
        return peek_message(data)

    def sign_status(
        self, tenant: str, response_for: ResponseFor, code: StatusCode, description: str | None
    ) -> bytes:
        from ..packaging import package_status

        return package_status(
            sender=tenant,
            response_for=response_for,
            code=code,
            description=description,
            key=self._key(tenant),
            directory=self._directory,
        )

    def package(
        self,
        tenant: str,
        payload: Any,
        recipients: Sequence[str],
        *,
        bussiness: Bussiness | None = None,
        document_id: str | None = None,
        attachments: Sequence[Attachment] = (),
    ) -> PackagedDoc:
        from ..packaging import package_document

        packaged = package_document(
            payload=payload,
            sender=tenant,
            recipients=recipients,
            key=self._key(tenant),
            directory=self._directory,
            attachments=attachments,
            bussiness=bussiness,
            document_id=document_id,
        )
        return PackagedDoc(packaged.document_id, packaged.data, packaged.message)
