"""The SOAP face (document/literal SOAP 1.1), described by ``schemas/soap/interchange.wsdl``.

Served by hand with lxml (spyne does not run on current Pythons). Requests are parsed with
``interchange.safexml``; authentication reuses the REST face's HMAC scheme on a signed JSON
carried in the ``Auth`` header element, bound to the Body by the SHA-256 of the exclusive
canonical form of the Body's operation element (see the WSDL's comment).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
from collections.abc import Callable
from typing import Any
from xml.sax.saxutils import escape

from fastapi import APIRouter, Request
from fastapi.responses import Response
from lxml import etree

from ..errors import AuthenticationError, InterchangeError, RefusedError
from ..resources import schemas_dir
from ..safexml import first_element, parse_bytes
from .bodies import read_capped, xml_body_limit
from .service import E_AUTH, E_BAD_REQUEST, E_INTERNAL, HubService, refuse

log = logging.getLogger("interchange.hub.soap")

SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
HUB_NS = "urn:interchange:hub:1"
_S = f"{{{SOAP_NS}}}"
_H = f"{{{HUB_NS}}}"
_NSMAP = {"soap": SOAP_NS, "hub": HUB_NS}


def wsdl_path() -> Any:
    return schemas_dir() / "soap" / "interchange.wsdl"


def body_digest(element: etree._Element) -> str:
    """SHA-256 hex of the exclusive c14n (no comments) of a Body's operation element."""
    return hashlib.sha256(
        etree.tostring(element, method="c14n", exclusive=True, with_comments=False)
    ).hexdigest()


def _envelope(payload: etree._Element) -> bytes:
    env = etree.Element(_S + "Envelope", nsmap=_NSMAP)
    etree.SubElement(env, _S + "Body").append(payload)
    return etree.tostring(env, xml_declaration=True, encoding="utf-8")


def _xml(body: bytes, status_code: int = 200) -> Response:
    return Response(body, status_code=status_code, media_type="text/xml; charset=utf-8")


def fault(code: str, message: str, *, server: bool = False) -> Response:
    f = etree.Element(_S + "Fault", nsmap=_NSMAP)
    etree.SubElement(f, "faultcode").text = "soap:Server" if server else "soap:Client"
    etree.SubElement(f, "faultstring").text = message
    detail = etree.SubElement(f, "detail")
    err = etree.SubElement(detail, _H + "Error")
    etree.SubElement(err, _H + "Code").text = code
    etree.SubElement(err, _H + "Message").text = message
    return _xml(_envelope(f), 500)


def _child_text(el: etree._Element, name: str) -> str | None:
    found = el.find(_H + name)
    return None if found is None else (found.text or "")


def _children_text(el: etree._Element, name: str) -> list[str]:
    return [(c.text or "").strip() for c in el.findall(_H + name)]


def _data(op: etree._Element) -> bytes:
    text = _child_text(op, "Data")
    if text is None:
        raise refuse("Data is required")
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise refuse("Data is not base64") from None


def _sub(parent: etree._Element, name: str, text: str | None) -> None:
    etree.SubElement(parent, _H + name).text = text or ""


class SoapFace:
    """Dispatches one SOAP request to the shared ``HubService``."""

    def __init__(self, service: HubService) -> None:
        self.service = service
        self.ops: dict[str, Callable[[str, str, etree._Element], etree._Element]] = {
            "SendDocument": self.send_document,
            "SendStatus": self.send_status,
            "GetPendingDocumentIds": self.pending,
            "GetDocument": self.get_document,
            "ConfirmReceived": self.confirm,
            "GetAgencies": self.agencies,
        }

    def preauthenticate(self, raw: bytes) -> None:
        """Check the Auth header's HMAC and freshness before the envelope is parsed whole.

        Security reasoning: an envelope may be as large as the largest document (its Body
        carries the file), and parsing megabytes of elements costs the hub seconds and
        gigabytes. Only the first 64 KB are read here (``safexml.first_element``), so a
        caller who cannot sign never gets the whole envelope parsed. ``authenticate``
        checks everything again on the parsed tree, body digest and replay included.
        """
        auth = first_element(raw, _H + "Auth", stop=_S + "Body")
        if auth is None:
            raise AuthenticationError(
                "missing Auth header element (it must come before the Body, in the first 64 KB)"
            )
        self.service.authenticate_signed(
            _child_text(auth, "SignHeader") or "",
            _child_text(auth, "HashHeader") or "",
            remember=False,
        )

    def authenticate(self, env: etree._Element, op: etree._Element) -> tuple[str, str]:
        auth = env.find(f"{_S}Header/{_H}Auth")
        if auth is None:
            raise AuthenticationError("missing Auth header element")
        sign_json = _child_text(auth, "SignHeader") or ""
        mac = _child_text(auth, "HashHeader") or ""
        systemid, params = self.service.authenticate_signed(sign_json, mac)
        name = etree.QName(op).localname
        if params.get("operation") != name:
            raise AuthenticationError(
                f"the signature is for {params.get('operation')!r}, not {name}"
            )
        given = params.get("body-sha256", "").lower().encode()
        if not hmac.compare_digest(given, body_digest(op).encode()):
            raise AuthenticationError("the Body differs from the one signed")
        return systemid, mac.strip().lower()

    def handle(self, raw: bytes) -> Response:
        try:
            self.preauthenticate(raw)
            # comments dropped: the signed digest ignores them, so must what is read
            env = parse_bytes(raw, remove_comments=True).getroot()
            if env.tag != _S + "Envelope":
                raise refuse("not a SOAP 1.1 Envelope")
            body = env.find(_S + "Body")
            ops = [c for c in body if isinstance(c.tag, str)] if body is not None else []
            if len(ops) != 1:
                raise refuse("the Body must hold exactly one operation element")
            op = ops[0]
            qname = etree.QName(op)
            if qname.namespace != HUB_NS or qname.localname not in self.ops:
                raise refuse(f"unknown operation {qname.localname}")
            systemid, mac = self.authenticate(env, op)
            return _xml(_envelope(self.ops[qname.localname](systemid, mac, op)))
        except AuthenticationError as exc:
            return fault(E_AUTH, str(exc))
        except RefusedError as exc:
            return fault(exc.error_code or E_BAD_REQUEST, str(exc))
        except InterchangeError as exc:
            return fault(E_BAD_REQUEST, str(exc))
        except Exception as exc:
            log.exception("hub SOAP internal error")
            return fault(E_INTERNAL, f"internal error: {type(exc).__name__}", server=True)

    # --- operations ------------------------------------------------------------------------

    def _send(self, systemid: str, mac: str, op: etree._Element, kind: str) -> etree._Element:
        to = _children_text(op, "To")
        doc_id = self.service.send(
            systemid, _data(op), message_type=kind, mac=mac, to_param=",".join(to) or None
        )
        out = etree.Element(_H + f"{etree.QName(op).localname}Response", nsmap=_NSMAP)
        _sub(out, "DocId", doc_id)
        return out

    def send_document(self, systemid: str, mac: str, op: etree._Element) -> etree._Element:
        return self._send(systemid, mac, op, _child_text(op, "MessageType") or "edoc")

    def send_status(self, systemid: str, mac: str, op: etree._Element) -> etree._Element:
        return self._send(systemid, mac, op, "status")

    def pending(self, systemid: str, mac: str, op: etree._Element) -> etree._Element:
        rows = self.service.list_pending(systemid, _child_text(op, "MessageType") or "edoc")
        out = etree.Element(_H + "GetPendingDocumentIdsResponse", nsmap=_NSMAP)
        for r in rows:
            item = etree.SubElement(out, _H + "Item")
            for name, key in (
                ("DocId", "docId"),
                ("MessageType", "messageType"),
                ("From", "from"),
                ("To", "to"),
                ("Created", "created_time"),
                ("Status", "status"),
                ("DocumentId", "documentId"),
                ("SubstitutedFrom", "substitutedFrom"),
                ("Hub", "hub"),
                ("HubTime", "hubTime"),
            ):
                _sub(item, name, r[key])
        return out

    def get_document(self, systemid: str, mac: str, op: etree._Element) -> etree._Element:
        data = self.service.fetch(systemid, (_child_text(op, "DocId") or "").strip())
        out = etree.Element(_H + "GetDocumentResponse", nsmap=_NSMAP)
        _sub(out, "Data", base64.b64encode(data).decode("ascii"))
        return out

    def confirm(self, systemid: str, mac: str, op: etree._Element) -> etree._Element:
        ok_text = (_child_text(op, "Ok") or "true").strip().lower()
        if ok_text not in ("true", "false", "1", "0"):
            raise refuse("Ok must be a boolean")
        status = "done" if ok_text in ("true", "1") else "fail"
        self.service.acknowledge(systemid, (_child_text(op, "DocId") or "").strip(), status)
        out = etree.Element(_H + "ConfirmReceivedResponse", nsmap=_NSMAP)
        _sub(out, "Result", "true")
        return out

    def agencies(self, systemid: str, mac: str, op: etree._Element) -> etree._Element:
        out = etree.Element(_H + "GetAgenciesResponse", nsmap=_NSMAP)
        for a in self.service.agencies():
            item = etree.SubElement(out, _H + "Agency")
            _sub(item, "Code", a.code)
            _sub(item, "Name", a.name)
            for name, value in (("Parent", a.parent), ("OldCode", a.old_code), ("Mail", a.mail)):
                if value:
                    _sub(item, name, value)
        return out


#: The address the WSDL file in ``schemas/soap/`` is written with.
WSDL_FILE_ADDRESS = "http://localhost/soap"


def served_wsdl(public_url: str | None, path: str = "/soap") -> bytes:
    """The WSDL with its service address set to ``public_url`` + ``path``.

    Security reasoning: the address comes from the configuration only, never from the
    request (Host, ``X-Forwarded-*``). Built from the request, anyone could have the hub
    serve a WSDL naming another server, and a cache between clients and the hub would keep
    and hand out that WSDL: clients would send their signed documents there. ``None``
    keeps the file's own ``http://localhost/soap``."""
    template = wsdl_path().read_text(encoding="utf-8")
    if public_url is None:
        return template.encode("utf-8")
    location = escape(public_url.rstrip("/") + path, {'"': "&quot;"})
    return template.replace(WSDL_FILE_ADDRESS, location).encode("utf-8")


def build_soap_router(
    service: HubService, path: str = "/soap", *, public_url: str | None = None
) -> APIRouter:
    face = SoapFace(service)
    wsdl = served_wsdl(public_url, path)  # built once: the same bytes for every caller
    router = APIRouter()

    async def get_wsdl(request: Request) -> Response:
        if "wsdl" not in {k.lower() for k in request.query_params}:
            return Response("append ?wsdl for the service description\n", media_type="text/plain")
        return _xml(wsdl)

    async def post(request: Request) -> Response:
        try:  # capped: the envelope is read before anyone is authenticated
            raw = await read_capped(request, xml_body_limit())
        except RefusedError as exc:
            return fault(exc.error_code or E_BAD_REQUEST, str(exc))
        return await service.run(face.handle, raw)

    router.add_route(path, get_wsdl, methods=["GET"])
    router.add_route(path, post, methods=["POST"])
    return router
