"""``SoapAxis``: the hub's SOAP face through zeep, built from our WSDL.

zeep runs with DTDs, entities and external references forbidden. Authentication is a zeep
plugin that adds the ``Auth`` header element to each outgoing envelope: the same signed JSON
and HMAC as the REST face (``adapters.hmac``), bound to the Body by the digest of its
operation element's exclusive canonical form (see ``schemas/soap/interchange.wsdl``).

Errors: a ``soap:Client`` fault → ``RefusedError`` (``AuthenticationError`` for code 401);
a ``soap:Server`` fault, a connection failure or an unreadable answer → ``TransportError``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import requests
import zeep
import zeep.exceptions
from lxml import etree
from zeep.plugins import Plugin
from zeep.transports import Transport

from interchange.errors import AuthenticationError, RefusedError, TransportError

from .base import AgencyInfo, MessageType, PendingItem, SendReceipt
from .hmac import DEFAULT_TZ, PREFIX, format_timestamp, mac_hex, new_nonce

SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
HUB_NS = "urn:interchange:hub:1"
BINDING = f"{{{HUB_NS}}}HubBinding"

T = TypeVar("T")


def default_wsdl() -> Path:
    from interchange.resources import schemas_dir

    return schemas_dir() / "soap" / "interchange.wsdl"


def sign_soap(
    op: etree._Element, systemid: str, secret: str, tz: str = DEFAULT_TZ
) -> tuple[str, str]:
    """(SignHeader JSON, HashHeader hex) for one operation element."""
    digest = hashlib.sha256(
        etree.tostring(op, method="c14n", exclusive=True, with_comments=False)
    ).hexdigest()
    params = {
        "systemid": systemid,
        "timestamp": format_timestamp(None, tz),
        "nonce": new_nonce(),
        "operation": etree.QName(op).localname,
        "body-sha256": digest,
    }
    sign_json = json.dumps({PREFIX + k: v for k, v in params.items()}, separators=(",", ":"))
    return sign_json, mac_hex(secret, sign_json.encode("utf-8"))


class _AuthPlugin(Plugin):  # type: ignore[misc]
    def __init__(self, systemid: str, secret: str, tz: str) -> None:
        self.systemid, self.secret, self.tz = systemid, secret, tz

    def egress(
        self,
        envelope: etree._Element,
        http_headers: dict[str, str],
        operation: Any,
        binding_options: Any,
    ) -> tuple[etree._Element, dict[str, str]]:
        body = envelope.find(f"{{{SOAP_NS}}}Body")
        ops = [c for c in body if isinstance(c.tag, str)] if body is not None else []
        if len(ops) != 1:
            return envelope, http_headers
        sign_json, mac = sign_soap(ops[0], self.systemid, self.secret, self.tz)
        header = envelope.find(f"{{{SOAP_NS}}}Header")
        if header is None:
            header = etree.Element(f"{{{SOAP_NS}}}Header")
            envelope.insert(0, header)
        auth = etree.SubElement(header, f"{{{HUB_NS}}}Auth")
        etree.SubElement(auth, f"{{{HUB_NS}}}SignHeader").text = sign_json
        etree.SubElement(auth, f"{{{HUB_NS}}}HashHeader").text = mac
        return envelope, http_headers


class SoapAxis:
    """An ``Axis`` over the SOAP face. ``wsdl`` may be a URL (``…/soap?wsdl``) or a path."""

    def __init__(
        self,
        wsdl_url_or_path: str | Path | None,
        endpoint: str,
        systemid: str,
        secret: str,
        *,
        timeout: float = 30.0,
        tz: str = DEFAULT_TZ,
    ) -> None:
        self.systemid = systemid
        self._session = requests.Session()
        settings = zeep.Settings(
            strict=True, forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
        transport = Transport(session=self._session, timeout=timeout, operation_timeout=timeout)
        wsdl = str(wsdl_url_or_path or default_wsdl())
        try:
            self._client = zeep.Client(
                wsdl,
                settings=settings,
                transport=transport,
                plugins=[_AuthPlugin(systemid, secret, tz)],
            )
        except requests.RequestException as exc:
            raise TransportError(f"cannot load WSDL {wsdl}: {exc!r}") from None
        self._service = self._client.create_service(BINDING, endpoint)

    def _call(self, fn: Callable[..., T], **kwargs: Any) -> T:
        try:
            return fn(**kwargs)
        except zeep.exceptions.Fault as exc:
            code, message = _fault_detail(exc)
            if str(exc.code or "").endswith("Server"):
                raise TransportError(f"hub SOAP server fault: {message}") from None
            if code == "401":
                raise AuthenticationError(message, error_code=code) from None
            raise RefusedError(message, error_code=code or "1") from None
        except requests.RequestException as exc:
            raise TransportError(f"hub SOAP endpoint unreachable: {exc!r}") from None
        except zeep.exceptions.TransportError as exc:
            raise TransportError(f"hub SOAP answered HTTP {exc.status_code}") from None
        except (zeep.exceptions.Error, etree.XMLSyntaxError) as exc:
            raise TransportError(f"hub SOAP answer unreadable: {exc}") from None

    # --- the Axis protocol ------------------------------------------------------------------

    def send(
        self,
        data: bytes,
        *,
        message_type: MessageType,
        from_organ: str,
        to_organ: str | None = None,
    ) -> SendReceipt:
        to = [to_organ] if to_organ else []
        if message_type == "status":
            doc_id = self._call(self._service.SendStatus, To=to, Data=data)
        else:
            doc_id = self._call(self._service.SendDocument, MessageType="edoc", To=to, Data=data)
        return SendReceipt(doc_id=str(doc_id))

    def list_pending(self, message_type: MessageType) -> list[PendingItem]:
        items = self._call(self._service.GetPendingDocumentIds, MessageType=message_type) or []
        return [
            PendingItem(
                doc_id=i.DocId,
                message_type="status" if i.MessageType == "status" else "edoc",
                from_organ=i.From,
                to_organ=i.To,
                created=i.Created or "",
                status=i.Status or "",
            )
            for i in items
        ]

    def fetch(self, doc_id: str) -> bytes:
        return bytes(self._call(self._service.GetDocument, DocId=doc_id))

    def acknowledge(self, doc_id: str, *, ok: bool = True) -> None:
        self._call(self._service.ConfirmReceived, DocId=doc_id, Ok=ok)

    def list_agencies(self) -> list[AgencyInfo]:
        rows = self._call(self._service.GetAgencies) or []
        return [
            AgencyInfo(
                code=a.Code,
                name=a.Name,
                parent=a.Parent or None,
                old_code=a.OldCode or None,
                mail=a.Mail or None,
            )
            for a in rows
        ]

    def close(self) -> None:
        self._session.close()


def _fault_detail(exc: zeep.exceptions.Fault) -> tuple[str, str]:
    message = str(exc.message or "refused")
    detail = exc.detail
    if detail is None:
        return "", message
    code = detail.find(f".//{{{HUB_NS}}}Code")
    text = detail.find(f".//{{{HUB_NS}}}Message")
    return (
        (code.text or "").strip() if code is not None else "",
        (text.text or message) if text is not None else message,
    )
