"""Who gets a document: the addressed recipients, expanded and completed by rules (data).

Rules come from the node config, never from code: "a conclusion issued by a provincial
department also goes to the Ministry Inspectorate", "a periodic report goes to the parent
agency". Groups ("the districts of province X": a directive's targets, or a recipient
written ``districts-of:CODE``) are expanded through the directory. Revoke / update /
replace documents (Bussiness types 1–3) reach every recipient of the original. Old codes are
resolved to their successors and the substitution is kept on the delivery.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from ..edxml.model import Bussiness, BussinessDocType
from ..errors import DeliveryError, OrganError
from .outbox import Recipient

if TYPE_CHECKING:
    from ..organs import Directory

# "@name" targets a rule may add, each answered by the directory
SPECIAL = ("@inspectorate", "@parent", "@province-department")
GROUP_PREFIXES = {
    "districts-of:": "districts",
    "communes-of:": "communes",
    "departments-of:": "departments",
    "children-of:": "all",
}


class RoutingRule(BaseModel):
    """When a document matches ``kind`` (and the sender's ``sender_kind``), also send to ``add``.

    ``add`` holds agency codes or ``@inspectorate`` (the ministry inspectorate in the
    directory), ``@parent`` (the sender's parent agency), ``@province-department`` (the
    Department of IC of the sender's province).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str | None = None
    kind: str | None = Field(default=None, description="payload kind; None matches any")
    sender_kind: str | None = Field(default=None, description="AgencyKind of the sender")
    sender: str | None = Field(default=None, description="one sender code")
    add: tuple[str, ...] = Field(min_length=1)

    def matches(self, kind: str, sender: str, directory: Directory | None) -> bool:
        if self.kind is not None and self.kind != kind:
            return False
        if self.sender is not None and self.sender != sender:
            return False
        if self.sender_kind is not None:
            if directory is None:
                raise DeliveryError(f"routing rule {self.name or self.kind} needs a directory")
            agency = directory.find(sender)
            if agency is None or agency.kind.value != self.sender_kind:
                return False
        return True


def _special(target: str, sender: str, directory: Directory | None) -> str:
    if directory is None:
        raise DeliveryError(f"routing target {target} needs a directory")
    if target == "@inspectorate":
        return directory.ministry_inspectorate().code
    if target == "@parent":
        parent = directory.parent(directory.lookup(sender).code)
        if parent is None:
            raise OrganError(f"{sender} has no parent agency in the directory")
        return parent.code
    if target == "@province-department":
        province = directory.province_of(sender)
        if province is None:
            raise OrganError(f"{sender} belongs to no province in the directory")
        return directory.department_of_ic(province.code).code
    raise DeliveryError(f"unknown routing target {target}")


def expand_group(level: str, of: str, directory: Directory | None) -> list[str]:
    """The units of a group: districts / communes / departments / all children of ``of``."""
    if directory is None:
        raise DeliveryError(f"cannot expand the {level} of {of} without a directory")
    if level == "districts":
        return [a.code for a in directory.districts_of(of, "district")]
    if level == "communes":
        return [a.code for a in directory.districts_of(of, "commune")]
    code = directory.lookup(of).code
    children = directory.children(code)
    if level == "departments":
        return [a.code for a in children if a.kind.value in ("department", "department_of_ic")]
    if level == "all":
        return [a.code for a in children]
    raise DeliveryError(f"unknown group level {level}")


def _expand_token(token: str, directory: Directory | None) -> list[str]:
    for prefix, level in GROUP_PREFIXES.items():
        if token.startswith(prefix):
            found = expand_group(level, token[len(prefix) :], directory)
            if not found:
                raise DeliveryError(f"{token} names no agency in the directory")
            return found
    return [token]


def _payload_targets(payload: Any, directory: Directory | None) -> list[str]:
    """Recipients the structured part itself names: a directive's recipients and targets,
    the issuer of the conclusion a follow-up report answers."""
    out: list[str] = list(getattr(payload, "recipients", ()) or ())
    answered = getattr(payload, "conclusion", None)
    issuer = getattr(getattr(answered, "issuer", None), "code", None)
    if isinstance(issuer, str):
        out.append(issuer)
    for target in getattr(payload, "targets", ()) or ():
        level = getattr(target.level, "value", target.level)
        found = expand_group(str(level), str(target.of), directory)
        if not found:
            raise DeliveryError(f"the {level} of {target.of} are not in the directory")
        out.extend(found)
    return out


def route(
    *,
    sender: str,
    kind: str,
    recipients: Iterable[str] = (),
    payload: Any = None,
    rules: Sequence[RoutingRule] = (),
    directory: Directory | None = None,
    bussiness: Bussiness | None = None,
    original_recipients: Callable[[str], Sequence[str]] | None = None,
) -> tuple[Recipient, ...]:
    """The final recipients, in a stable order, old codes resolved, the sender excluded."""
    codes: list[str] = []
    for r in recipients:
        codes.extend(_expand_token(r.strip(), directory))
    if payload is not None:
        codes.extend(_payload_targets(payload, directory))
    for rule in rules:
        if rule.matches(kind, sender, directory):
            for target in rule.add:
                codes.append(
                    _special(target, sender, directory) if target.startswith("@") else target
                )
    if bussiness is not None and bussiness.doc_type is not BussinessDocType.NEW:
        if not bussiness.document_id:
            raise DeliveryError("a revoke / update / replace document must name the original")
        if original_recipients is None:
            raise DeliveryError("cannot find the original's recipients here")
        originals = original_recipients(bussiness.document_id)
        if not originals:
            raise DeliveryError(
                f"no sent document {bussiness.document_id} to revoke, update or replace"
            )
        codes.extend(originals)
    out: list[Recipient] = []
    seen: set[str] = set()
    for code in codes:
        rec = Recipient(code)
        if directory is not None:
            res = directory.resolve(code)
            rec = Recipient(res.code, res.substituted_from)
        if rec.code in seen or rec.code == sender:
            continue
        seen.add(rec.code)
        out.append(rec)
    if not out:
        raise DeliveryError("the document has no recipient")
    return tuple(out)
