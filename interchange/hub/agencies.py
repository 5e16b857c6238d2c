"""``registerAgency`` / ``deleteAgency``: agencies a calling system describes itself.

What the operator's SDK 2.0.1 sends (its decompiled ``AgencyServiceImp`` and the
operator's example ``ServiceTest``, as published in the public repository
``PVN-Organization/API-Gateway-iOffice``):

- ``POST /registerAgency``: the signed headers are only what the caller's JSON names
  (usually ``{}``: ``systemid``, ``timestamp``, ``Content-Type: application/json``); the
  agency travels as the JSON *body* ``{"id", "pcode", "code", "name", "mail", "mobile",
  "fax"}`` (``id`` empty for a new agency, ``pcode`` its parent). The answer's ``status``,
  ``ErrorCode`` and ``ErrorDesc`` are all the SDK reads.
- ``POST /deleteAgency``: signed header ``AgencyCode``, no body.

Because the SDK's body is outside the HMAC, a body field is accepted only as the caller's
claim about agencies it may already act for (see ``AgencyRegistry.register``); a client
that wants the body covered signs ``hash-file`` = SHA-256 of the body (our ``VxpAxis``
does), and ``HubConfig.agency_body_hash`` makes that mandatory. The same fields may also
come as signed parameters (``code``, ``name``, ``pcode``/``pid``, ``mail``, ``oldCode``);
a field given both ways must agree. ``mobile`` and ``fax`` are accepted and not kept.

Registrations are a *listing*: routing never reads this table, so registering can never
widen who receives what (who may receive for an agency is the systems file's business).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from adapters.base import AgencyInfo
from adapters.hmac import AuthResult, hash_file_matches_digest

from ..errors import OrganCodeError, RefusedError
from ..organs import normalise_organ_id
from ..store.hub_tables import hub_agencies
from .config import Routing

E_BAD_REQUEST = "400"
E_FORBIDDEN = "403"
E_NOT_FOUND = "404"
E_CONFLICT = "409"

MAX_BODY = 64 * 1024
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _refuse(message: str, code: str = E_BAD_REQUEST) -> RefusedError:
    return RefusedError(message, error_code=code)


def _body_fields(body: bytes) -> dict[str, str]:
    if not body.strip():
        return {}
    if len(body) > MAX_BODY:
        raise _refuse(f"agency body larger than {MAX_BODY} bytes")
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise _refuse("the agency body is not valid JSON") from None
    if not isinstance(data, dict):
        raise _refuse("the agency body must be a JSON object")
    out: dict[str, str] = {}
    for key, value in data.items():
        if value is None:
            continue
        if not isinstance(value, str):
            raise _refuse(f"agency field {str(key)[:20]!r} must be text")
        out[str(key)] = value
    return out


def _pick(name: str, body: Mapping[str, str], auth: AuthResult, *aliases: str) -> str | None:
    """One field from the body and/or the signed parameters; both given must agree."""
    found: set[str] = set()
    for key in (name, *aliases):
        for value in (body.get(key), auth.get(key)):
            if value is not None and value.strip():
                found.add(value.strip())
    if len(found) > 1:
        raise _refuse(f"agency field {name} is given twice with different values")
    return found.pop() if found else None


def _code(value: str | None, field: str) -> str | None:
    if value is None:
        return None
    try:
        return normalise_organ_id(value)
    except OrganCodeError as exc:
        raise _refuse(f"{field}: {exc}") from None


def _text(value: str | None, field: str, limit: int) -> str | None:
    if value is None:
        return None
    if len(value) > limit or _CONTROL.search(value):
        raise _refuse(f"{field} is longer than {limit} characters or has control characters")
    return value


def parse_registration(auth: AuthResult, body: bytes, *, require_hash: bool) -> AgencyInfo:
    """The agency asked for, from the body (SDK) and/or signed parameters; checked."""
    hash_file = auth.get("hash-file")
    if hash_file:
        if not hash_file_matches_digest(hash_file, hashlib.sha256(body).digest()):
            raise _refuse("hash-file does not match the agency body")
    elif require_hash and body.strip():
        raise _refuse("this hub requires hash-file (SHA-256 of the agency body)")
    fields = _body_fields(body)
    code = _code(_pick("code", fields, auth), "code")
    if code is None:
        raise _refuse("code is required (the agency's code)")
    name = _text(_pick("name", fields, auth), "name", 400)
    if name is None:
        raise _refuse("name is required (the agency's name)")
    mail = _text(_pick("mail", fields, auth), "mail", 254)
    if mail is not None and " " in mail:
        raise _refuse("mail must not contain spaces")
    return AgencyInfo(
        code=code,
        name=name,
        parent=_code(_pick("pcode", fields, auth, "pid"), "pcode"),
        mail=mail,
        old_code=_code(_pick("oldCode", fields, auth), "oldCode"),
    )


def delete_code(auth: AuthResult) -> str:
    """``deleteAgency``'s code: the SDK's signed ``AgencyCode`` (or ``code``), never the body
    (unsigned: it could be swapped for another of the caller's registrations)."""
    value = auth.get("AgencyCode") or auth.get("code")
    code = _code(value.strip() if value and value.strip() else None, "AgencyCode")
    if code is None:
        raise _refuse("AgencyCode is required")
    return code


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class AgencyRegistry:
    """The ``hub_agencies`` table and the rules of who may write which row."""

    def __init__(self, engine: Engine, routing: Routing) -> None:
        self.engine = engine
        self.routing = routing

    def _in_directory(self, code: str) -> bool:
        directory = self.routing.directory
        return directory is not None and directory.knows(code)

    def _held_by_others(self, systemid: str, code: str) -> bool:
        return any(
            code in organs for sid, organs in self.routing.organs_of.items() if sid != systemid
        )

    def register(self, systemid: str, fields: AgencyInfo) -> bool:
        """Store or update ``fields`` for ``systemid``; True when it was new.

        Who may register what (security first; every refusal stores nothing):
        - an agency in the hub's directory: nobody. The directory is the operator's
          authority, and nodes build parents and successors from the listing; a caller
          must not rewrite them.
        - an agency in another system's ``organs`` or registered by another system:
          refused. Registrations never change hands.
        - one of the caller's own ``organs`` (systems file): allowed; it describes an
          agency the caller already sends as and receives for (name, mail, parent).
        - a new code whose parent (``pcode``) is one of the caller's ``organs``: allowed,
          as a child (a province announcing its districts). It is *listed* only: routing
          does not read registrations, so no system receives for it until the operator
          puts it in a system's ``organs``. Grandchildren are refused: the tree a system
          may describe stops one level under what the operator gave it.
        - ``oldCode`` must be one of the caller's ``organs``: naming another agency's code
          as one's old code would invite nodes to re-address that agency's mail.
        """
        mine = self.routing.organs_of.get(systemid, frozenset())
        code = fields.code
        if self._in_directory(code):
            raise _refuse(f"agency {code} is in the hub's directory: not registrable", E_FORBIDDEN)
        if code not in mine and self._held_by_others(systemid, code):
            raise _refuse(f"agency {code} belongs to another system", E_FORBIDDEN)
        if fields.parent == code or (fields.old_code is not None and fields.old_code == code):
            raise _refuse(f"agency {code} cannot be its own parent or old code")
        if code not in mine and fields.parent not in mine:
            raise _refuse(
                f"system {systemid} may register only its own agencies or children of them "
                f"(pcode one of its agencies); {code} is neither",
                E_FORBIDDEN,
            )
        if fields.parent is not None and not self._known(fields.parent):
            raise _refuse(f"unknown parent agency {fields.parent}", "422")
        if fields.old_code is not None and fields.old_code not in mine:
            raise _refuse(
                f"oldCode {fields.old_code} is not one of system {systemid}'s agencies", E_FORBIDDEN
            )
        now = _utcnow()
        values = {
            "name": fields.name,
            "mail": fields.mail,
            "parent": fields.parent,
            "old_code": fields.old_code,
            "updated_at": now,
        }
        try:
            with self.engine.begin() as conn:
                owner = conn.execute(
                    select(hub_agencies.c.system_id).where(hub_agencies.c.code == code)
                ).scalar_one_or_none()
                if owner is None:
                    conn.execute(
                        insert(hub_agencies).values(
                            code=code, system_id=systemid, created_at=now, **values
                        )
                    )
                    return True
                if owner != systemid:
                    raise _refuse(f"agency {code} is registered by another system", E_FORBIDDEN)
                conn.execute(
                    update(hub_agencies)
                    .where(hub_agencies.c.code == code, hub_agencies.c.system_id == systemid)
                    .values(**values)
                )
                return False
        except IntegrityError:  # another system inserted the same code a moment ago
            raise _refuse(f"agency {code} is registered by another system", E_CONFLICT) from None

    def _known(self, code: str) -> bool:
        if self._in_directory(code) or code in self.routing.system_organs:
            return True
        with self.engine.connect() as conn:
            return (
                conn.execute(select(hub_agencies.c.code).where(hub_agencies.c.code == code)).first()
                is not None
            )

    def delete(self, systemid: str, code: str) -> None:
        """Remove a registration of ``systemid``'s. The directory's and the systems file's
        agencies exist by the operator's configuration: no caller deletes them (a
        description the caller registered for one of its own stays until updated)."""
        if self._in_directory(code):
            raise _refuse(
                f"agency {code} is in the hub's directory: cannot be deleted", E_FORBIDDEN
            )
        if code in self.routing.system_organs:
            raise _refuse(
                f"agency {code} comes from the systems file: cannot be deleted", E_FORBIDDEN
            )
        with self.engine.begin() as conn:
            gone = conn.execute(
                delete(hub_agencies).where(
                    hub_agencies.c.code == code, hub_agencies.c.system_id == systemid
                )
            ).rowcount
        if not gone:
            raise _refuse(f"no agency {code} registered by system {systemid}", E_NOT_FOUND)

    def overlay(self, base: list[AgencyInfo]) -> list[AgencyInfo]:
        """``base`` (directory, then systems-file agencies) with registrations applied: a
        description of a systems-file agency replaces its bare row, children follow. Rows of
        a system no longer configured are not listed; the directory's rows always win."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(hub_agencies).order_by(hub_agencies.c.code)).all()
        if not rows:
            return base
        index = {a.code: i for i, a in enumerate(base)}
        out = list(base)
        for r in rows:
            if r.system_id not in self.routing.organs_of or self._in_directory(r.code):
                continue
            info = AgencyInfo(
                code=r.code, name=r.name, parent=r.parent, old_code=r.old_code, mail=r.mail
            )
            i = index.get(r.code)
            if i is None:
                out.append(info)
            else:
                out[i] = info
        return out

    def owned(self, systemid: str) -> dict[str, dict[str, Any]]:
        """Tests/diagnostics: the rows ``systemid`` registered, by code."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(hub_agencies).where(hub_agencies.c.system_id == systemid)
            ).all()
        return {r.code: dict(r._mapping) for r in rows}
