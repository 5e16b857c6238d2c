"""Operator actions: what a clerk's click does, each one written to the audit log.

The rules live in the delivery layer's service functions (``interchange.delivery.services``);
this only scopes them to the caller's tenant and audits every attempt, allowed or refused
(the refusal's error code and message in the entry).

Why two entries per action: the services commit in their own transactions (an action may
queue several deliveries), so the audit cannot commit with them. A "started" entry is
committed before the action runs and an outcome entry naming it after; a crash between the
two leaves a started entry without outcome, which ``interchange audit verify`` reports, so
no action can happen without a trace.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine

from ..delivery import services
from ..delivery.codec import Codec
from ..delivery.lifecycle import Action, State, can_apply
from ..delivery.outbox import Submitted
from ..edxml.model import StatusCode
from ..errors import ConfigError, DeliveryError, InterchangeError, NotFoundError
from ..store import auth_tables as auth
from ..store.tables import deliveries, tenants


@dataclass(frozen=True, slots=True)
class Done:
    action: str
    target: str
    state: str | None
    detail: str
    count: int | None = None  # how many deliveries/recipients it moved (dashboard sentences)


#: The inbox answers an operator can give: API path word → status code.
INBOX_ACTIONS: dict[str, StatusCode] = {
    "accept": StatusCode.ACCEPTED,
    "refuse": StatusCode.REFUSED,
    "assign": StatusCode.ASSIGNED,
    "in-progress": StatusCode.IN_PROGRESS,
    "completed": StatusCode.COMPLETED,
}


class Actions:
    """The actions of one node over its database; ``codec`` signs answers and recalls,
    ``node`` (when mounted in one) submits with its routing rules."""

    def __init__(self, engine: Engine, codec: Codec | None = None, node: Any = None) -> None:
        self.engine = engine
        self.codec = codec
        self.node = node

    def _codec(self) -> Codec:
        if self.codec is None:
            raise ConfigError("this server has no signing keys: it cannot send status messages")
        return self.codec

    def _tenant_id(self, code: str) -> int:
        with self.engine.connect() as conn:
            tid = conn.execute(select(tenants.c.id).where(tenants.c.organ_code == code)).scalar()
        if tid is None:
            raise NotFoundError(f"agency {code} is not hosted on this node")
        return int(tid)

    def _audited(
        self,
        user: auth.User,
        action: str,
        target: str,
        tenant: str | None,
        detail: dict[str, Any],
        work: Callable[[], Done],
    ) -> Done:
        started = self._append(user, action, target, tenant, auth.STARTED, detail)
        try:
            done = work()
        except InterchangeError as exc:
            self._append(
                user,
                action,
                target,
                tenant,
                f"refused: {exc.code}",
                {**detail, "error": str(exc), "started": started},
            )
            exc.audited = True  # type: ignore[attr-defined]
            raise
        self._append(
            user,
            action,
            target,
            tenant,
            "ok",
            {**detail, "state": done.state, "detail": done.detail, "started": started},
        )
        return done

    def _append(
        self,
        user: auth.User,
        action: str,
        target: str,
        tenant: str | None,
        result: str,
        detail: dict[str, Any],
    ) -> int:
        with self.engine.begin() as conn:
            entry = auth.append_audit(
                conn,
                actor=user.name,
                action=action,
                target=target,
                tenant=tenant,
                result=result,
                detail=detail,
            )
        return entry.seq

    # --- documents we sent ------------------------------------------------------------------

    def _delivery_action(
        self,
        user: auth.User,
        tenant: str,
        delivery_id: int,
        name: str,
        fn: Callable[..., State],
    ) -> Done:
        target = f"delivery {delivery_id}"

        def work() -> Done:
            new = fn(self.engine, delivery_id, actor=user.name, tenant_id=self._tenant_id(tenant))
            return Done(name, target, new.value, f"{name}: now {new.value}")

        return self._audited(user, f"delivery.{name}", target, tenant, {}, work)

    def retry(self, user: auth.User, tenant: str, delivery_id: int) -> Done:
        return self._delivery_action(user, tenant, delivery_id, "retry", services.retry)

    def resend(self, user: auth.User, tenant: str, delivery_id: int) -> Done:
        return self._delivery_action(user, tenant, delivery_id, "resend", services.resend)

    def resend_late(
        self, user: auth.User, tenant: str, document_pk: int, late: Sequence[int]
    ) -> Done:
        """Resend to each listed delivery that can be resent; the others are left alone."""
        target = f"document {document_pk}"

        def work() -> Done:
            tid, moved = self._tenant_id(tenant), 0
            with self.engine.connect() as conn:
                rows = conn.execute(
                    select(deliveries.c.id, deliveries.c.state).where(
                        deliveries.c.document_pk == document_pk, deliveries.c.id.in_(list(late))
                    )
                ).all()
            for row in rows:
                if can_apply(State(row.state), Action.RESEND):
                    services.resend(self.engine, row.id, actor=user.name, tenant_id=tid)
                    moved += 1
                elif can_apply(State(row.state), Action.RETRY):
                    services.retry(self.engine, row.id, actor=user.name, tenant_id=tid)
                    moved += 1
            return Done("resend-late", target, None, f"sent again to {moved} recipient(s)", moved)

        return self._audited(
            user, "document.resend_late", target, tenant, {"deliveries": list(late)}, work
        )

    def cancel(self, user: auth.User, tenant: str, document_pk: int) -> Done:
        """Cancel every delivery of the document that has not left yet."""
        target = f"document {document_pk}"

        def work() -> Done:
            tid = self._tenant_id(tenant)
            with self.engine.connect() as conn:
                rows = conn.execute(
                    select(deliveries.c.id, deliveries.c.state).where(
                        deliveries.c.document_pk == document_pk
                    )
                ).all()
            todo = [r.id for r in rows if can_apply(State(r.state), Action.CANCEL)]
            if not todo:
                raise DeliveryError(f"nothing of document {document_pk} can be cancelled")
            for did in todo:
                services.cancel(self.engine, did, actor=user.name, tenant_id=tid)
            return Done("cancel", target, None, f"cancelled {len(todo)} delivery(ies)", len(todo))

        return self._audited(user, "document.cancel", target, tenant, {}, work)

    def recall(self, user: auth.User, tenant: str, document_pk: int, reason: str) -> Done:
        """Ask every recipient that has it to give it back (status 13 with the reason)."""
        target = f"document {document_pk}"

        def work() -> Done:
            asked = services.recall(
                self.engine,
                self._codec(),
                document_pk,
                reason,
                actor=user.name,
                tenant_id=self._tenant_id(tenant),
            )
            return Done(
                "recall",
                target,
                None,
                f"recall (13) queued to {len(asked)} recipient(s)",
                len(asked),
            )

        return self._audited(user, "document.recall", target, tenant, {"reason": reason}, work)

    # --- documents we received ----------------------------------------------------------------

    def answer(
        self,
        user: auth.User,
        tenant: str,
        item_id: int,
        code: StatusCode,
        *,
        reason: str | None = None,
        assigned_to: str | None = None,
    ) -> Done:
        """Answer an inbox document with a status (03, 02, 04, 05, 06, 15, 16), signed and
        queued to its sender by the outbox."""
        target = f"inbox {item_id}"

        def work() -> Done:
            new = services.answer(
                self.engine,
                self._codec(),
                item_id,
                code,
                reason=reason,
                assigned_to=assigned_to,
                actor=user.name,
                tenant_id=self._tenant_id(tenant),
            )
            return Done(
                f"status {code.value}",
                target,
                new.value,
                f"status {code.value} queued to the sender",
            )

        detail = {"code": code.value, "reason": reason, "assigned_to": assigned_to}
        return self._audited(user, f"inbox.{code.value}", target, tenant, detail, work)

    # --- submitting ---------------------------------------------------------------------------

    def submit(
        self, user: auth.User, tenant: str, work: Callable[[], Submitted], detail: dict[str, Any]
    ) -> Submitted:
        box: list[Submitted] = []

        def run() -> Done:
            res = work()
            box.append(res)
            return Done("submit", res.document_id, None, f"{len(res.delivery_ids)} recipient(s)")

        self._audited(user, "document.submit", f"submit from {tenant}", tenant, detail, run)
        return box[0]
