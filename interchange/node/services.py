"""The operator actions bound to one node (its engine and codec), for the API and the CLI.

Thin: every method is ``interchange.delivery.services`` or ``queries`` with the node's
engine and codec filled in. ``tenant`` (an organ code) scopes an action to one hosted
agency: an id belonging to another tenant is ``NotFoundError``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..delivery import queries, services
from ..delivery.lifecycle import State

if TYPE_CHECKING:
    from .node import Node


class NodeServices:
    def __init__(self, node: Node) -> None:
        self._node = node

    def _tid(self, tenant: str | None) -> int | None:
        return None if tenant is None else self._node.tenant(tenant).id

    # receiving side (inbox item ids)
    def accept(self, item_id: int, *, actor: str | None = None, tenant: str | None = None) -> State:
        n = self._node
        return services.accept(n.engine, n.codec, item_id, actor=actor, tenant_id=self._tid(tenant))

    def refuse(
        self, item_id: int, reason: str, *, actor: str | None = None, tenant: str | None = None
    ) -> State:
        n = self._node
        return services.refuse(
            n.engine, n.codec, item_id, reason, actor=actor, tenant_id=self._tid(tenant)
        )

    def assign(
        self, item_id: int, to: str, *, actor: str | None = None, tenant: str | None = None
    ) -> State:
        n = self._node
        return services.assign(
            n.engine, n.codec, item_id, to, actor=actor, tenant_id=self._tid(tenant)
        )

    def start(self, item_id: int, *, actor: str | None = None, tenant: str | None = None) -> State:
        n = self._node
        return services.start(n.engine, n.codec, item_id, actor=actor, tenant_id=self._tid(tenant))

    def complete(
        self, item_id: int, *, actor: str | None = None, tenant: str | None = None
    ) -> State:
        n = self._node
        return services.complete(
            n.engine, n.codec, item_id, actor=actor, tenant_id=self._tid(tenant)
        )

    def answer_recall(
        self,
        item_id: int,
        *,
        agree: bool,
        reason: str | None = None,
        actor: str | None = None,
        tenant: str | None = None,
    ) -> State:
        n = self._node
        return services.answer_recall(
            n.engine,
            n.codec,
            item_id,
            agree=agree,
            reason=reason,
            actor=actor,
            tenant_id=self._tid(tenant),
        )

    # sending side (delivery ids, document pks)
    def retry(
        self, delivery_id: int, *, actor: str | None = None, tenant: str | None = None
    ) -> State:
        state = services.retry(
            self._node.engine, delivery_id, actor=actor, tenant_id=self._tid(tenant)
        )
        self._node.wake.set()
        return state

    def resend(
        self, delivery_id: int, *, actor: str | None = None, tenant: str | None = None
    ) -> State:
        state = services.resend(
            self._node.engine, delivery_id, actor=actor, tenant_id=self._tid(tenant)
        )
        self._node.wake.set()
        return state

    def cancel(
        self, delivery_id: int, *, actor: str | None = None, tenant: str | None = None
    ) -> State:
        return services.cancel(
            self._node.engine, delivery_id, actor=actor, tenant_id=self._tid(tenant)
        )

    def recall(
        self,
        document_pk: int,
        reason: str,
        *,
        recipients: Sequence[str] | None = None,
        actor: str | None = None,
        tenant: str | None = None,
    ) -> list[int]:
        n = self._node
        asked = services.recall(
            n.engine,
            n.codec,
            document_pk,
            reason,
            recipients=recipients,
            actor=actor,
            tenant_id=self._tid(tenant),
        )
        n.wake.set()
        return asked

    # reading
    def deliveries(self, *, tenant: str | None = None) -> list[queries.DeliveryRow]:
        return queries.delivery_table(self._node.engine, tenant=tenant)

    def inbox(
        self, *, tenant: str | None = None, states: Sequence[str] | None = None
    ) -> list[dict[str, Any]]:
        return queries.inbox(self._node.engine, tenant=tenant, states=states)

    def timeline(
        self,
        *,
        delivery_id: int | None = None,
        document_pk: int | None = None,
        inbox_item_id: int | None = None,
    ) -> list[dict[str, Any]]:
        return queries.timeline(
            self._node.engine,
            delivery_id=delivery_id,
            document_pk=document_pk,
            inbox_item_id=inbox_item_id,
        )

    def unmatched_statuses(self) -> list[dict[str, Any]]:
        return queries.unmatched_statuses(self._node.engine)
