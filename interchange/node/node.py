"""The node: one process (or several) running the outbox and inbox of many hosted agencies.

``Node`` holds everything the faces need: the engine, the tenants, the codec, the axes and
the service calls (``submit_payload``, ``submit_signed``). ``Node.run(stop)`` runs the loops
in threads until ``stop`` is set: outbox workers (claim → send → record), the inbox (list →
fetch → verify → store → acknowledge) with the drop folders, and the dead-letter sweep. More
processes may run ``run(stop, inbox=False)`` against the same database: leases keep them
from sending the same delivery twice.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Engine

from adapters.base import Axis

from ..delivery import queries
from ..delivery.codec import Codec, RealCodec
from ..delivery.inbox import Inbox, InboxTenant, PollResult
from ..delivery.outbox import Recipient, Submitted, submit
from ..delivery.routing import route
from ..delivery.worker import OutboxWorker, RetryPolicy, sweep_unanswered
from ..edxml.model import Attachment, Bussiness, EdocMessage
from ..errors import ConfigError, DeliveryError, FormatError, NotFoundError
from ..store import held
from ..store.db import make_engine
from ..store.migrate import upgrade_database
from ..store.ops import ensure_tenant
from .config import AxisConfig, NodeConfig
from .dropfolder import DropResult, Envelope, os_reason, process_folder
from .services import NodeServices

if TYPE_CHECKING:
    from ..organs import Directory
    from ..signing import SigningKey

log = logging.getLogger(__name__)

AxisFactory = Callable[[AxisConfig, Sequence[str]], Axis]
SEND_THREADS = 4  # concurrent one-by-one sends per node
SWEEP_INTERVAL = 30.0  # seconds between dead-letter sweeps
DROP_ERROR_REPEAT = 900.0  # seconds before an unchanged drop-folder failure is logged again


@dataclass(frozen=True, slots=True)
class NodeTenant:
    id: int
    organ: str
    name: str | None
    auto_accept: bool
    drop_folder: Path | None
    axis: Axis


def default_axis_factory(cfg: AxisConfig, organs: Sequence[str]) -> Axis:
    """Build the adapter a config names (``memory`` only makes sense in-process)."""
    if cfg.kind == "vxp":
        from adapters.vxp import VxpAxis

        return VxpAxis(str(cfg.url), cfg.systemid, cfg.resolved_secret(), timeout=cfg.timeout)
    if cfg.kind == "soap":
        from adapters.soap import SoapAxis

        return SoapAxis(
            cfg.wsdl, str(cfg.url), cfg.systemid, cfg.resolved_secret(), timeout=cfg.timeout
        )
    from adapters.memory import MemoryAxis, MemoryHub

    global _PROCESS_HUB
    if _PROCESS_HUB is None:
        _PROCESS_HUB = MemoryHub()
    return MemoryAxis(_PROCESS_HUB, cfg.systemid, organs)


_PROCESS_HUB: Any = None


def real_codec(
    config: NodeConfig, directory: Directory | None, keys: Mapping[str, SigningKey] | None = None
) -> Codec:
    """The codec of the configured keys and trust; ``keys`` already loaded (and checked, by
    ``check_tenants``) are used as they are rather than read again."""
    from ..signing import VerifyPolicy, load_signing_key

    if keys is None:
        keys = {t.organ: load_signing_key(t.key, t.cert, t.chain) for t in config.tenants}
    policy = VerifyPolicy.from_files(
        config.trust.anchors, config.trust.crls, allow_sha1=config.trust.allow_sha1
    )
    return RealCodec(keys, policy, directory=directory, schema=config.trust.schema_mode)


class Node:
    """A configured node. ``migrate`` applies the database migrations first (default)."""

    def __init__(
        self,
        config: NodeConfig,
        *,
        codec: Codec | None = None,
        axis_factory: AxisFactory | None = None,
        directory: Directory | None = None,
        migrate: bool = True,
        engine: Engine | None = None,
    ) -> None:
        self.config = config
        config.data_dir.mkdir(parents=True, exist_ok=True)
        url = config.database_url
        self.engine = engine or make_engine(url)
        if migrate:
            upgrade_database(url, engine=self.engine)
        if directory is None and config.directory is not None:
            from ..organs import load_directory

            directory = load_directory(config.directory)
        self.directory = directory
        self.codec = codec or real_codec(config, directory)
        self.policy = RetryPolicy(
            backoff_base=config.backoff_base,
            backoff_max=config.backoff_max,
            max_age=config.max_age,
            lease_seconds=config.lease_seconds,
        )
        make_axis = axis_factory or default_axis_factory
        shared = [t.organ for t in config.tenants if t.axis is None]
        shared_axis = make_axis(config.axis, shared) if shared and config.axis else None
        self.tenants: dict[str, NodeTenant] = {}
        with self.engine.begin() as conn:
            for t in config.tenants:
                tid = ensure_tenant(conn, t.organ, name=t.name, auto_accept=t.auto_accept)
                axis = make_axis(t.axis, [t.organ]) if t.axis is not None else shared_axis
                assert axis is not None
                self.tenants[t.organ] = NodeTenant(
                    tid, t.organ, t.name, t.auto_accept, t.drop_folder, axis
                )
        self._by_id = {t.id: t for t in self.tenants.values()}
        groups: dict[int, list[NodeTenant]] = {}
        for nt in self.tenants.values():
            groups.setdefault(id(nt.axis), []).append(nt)
        self.inboxes = [
            Inbox(
                self.engine,
                ts[0].axis,
                self.codec,
                {t.organ: InboxTenant(t.id, t.organ, t.auto_accept) for t in ts},
                threads=config.inbox_threads,
            )
            for ts in groups.values()
        ]
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.wake = threading.Event()
        self.services = NodeServices(self)
        # shared by the outbox threads: sends to different recipients overlap (the axis
        # round trip, not our CPU, is what a one-by-one send waits for)
        self._send_pool = ThreadPoolExecutor(SEND_THREADS, thread_name_prefix="send")
        self._claim_lock = threading.Lock()
        # drop folder -> (the failure last logged, when): see ``drop_once``
        self._drop_errors: dict[Path, tuple[str, float]] = {}

    # --- lookups ---------------------------------------------------------------------------

    def tenant(self, organ: str) -> NodeTenant:
        try:
            return self.tenants[organ]
        except KeyError:
            raise NotFoundError(f"agency {organ} is not hosted on this node") from None

    def axis_for(self, tenant_id: int) -> Axis:
        return self._by_id[tenant_id].axis

    # --- submitting ------------------------------------------------------------------------

    def submit_payload(
        self,
        tenant: str,
        payload: Any,
        *,
        recipients: Sequence[str] = (),
        bussiness: Bussiness | None = None,
        document_id: str | None = None,
        attachments: Sequence[Attachment] = (),
    ) -> Submitted:
        """Route, package, sign once, store and queue a structured part from ``tenant``."""
        t = self.tenant(tenant)
        kind = str(getattr(type(payload).kind, "value", type(payload).kind))
        routed = route(
            sender=t.organ,
            kind=kind,
            recipients=recipients,
            payload=payload,
            rules=self.config.routing,
            directory=self.directory,
            bussiness=bussiness,
            original_recipients=lambda d: queries.original_recipients(self.engine, t.id, d),
        )
        packaged = self.codec.package(
            t.organ,
            payload,
            [r.code for r in routed],
            bussiness=bussiness,
            document_id=document_id,
            attachments=attachments,
        )
        res = submit(
            self.engine,
            tenant_id=t.id,
            data=packaged.data,
            message=packaged.message,
            kind=kind,
            payload_kind=kind,
            recipients=routed,
        )
        self.wake.set()
        return res

    def submit_signed(self, data: bytes, *, tenant: str | None = None) -> Submitted:
        """Send a ready, signed document from a hosted agency as it is (plus routing rules).

        The bytes are verified first, exactly as this node's inbox verifies what arrives
        (``codec.open``: signature, certificate chain and CRLs of the node's trust policy,
        signer bound to From/OrganId, schema): a document its recipient would refuse is
        refused here with the verifier's typed error, before anything is stored or queued.
        Everything below is read from the verified message, never from the raw bytes.
        """
        opened = self.codec.open(data)
        msg = opened.message
        if not isinstance(msg, EdocMessage):
            raise FormatError("not an edXML document (a status message is sent by answering)")
        t = self.tenant(tenant or msg.sender)
        if msg.sender != t.organ:
            raise DeliveryError(f"the document is from {msg.sender}, not from {t.organ}")
        kind = _kind_of(msg) if opened.payload is None else _payload_kind(opened.payload)
        routed = route(
            sender=t.organ,
            kind=kind,
            recipients=msg.recipients,
            rules=self.config.routing,
            directory=self.directory,
            bussiness=msg.bussiness,
            original_recipients=lambda d: queries.original_recipients(self.engine, t.id, d),
        )
        res = submit(
            self.engine,
            tenant_id=t.id,
            data=data,
            message=msg,
            kind=kind,
            payload_kind=kind if kind != "other" else None,
            recipients=routed,
        )
        self.wake.set()
        return res

    def submit_envelope(self, tenant: str, env: Envelope) -> Submitted:
        from ..payloads import payload_from_dict

        payload = payload_from_dict(env.kind, env.payload)
        return self.submit_payload(
            tenant,
            payload,
            recipients=env.recipients,
            bussiness=env.bussiness,
            document_id=env.document_id,
            attachments=env.attachments,
        )

    # --- one step of each loop (tests and benchmarks drive these directly) -------------------

    def outbox_once(self, owner: str | None = None) -> int:
        worker = OutboxWorker(
            self.engine,
            self.axis_for,
            self.policy,
            owner or self.owner,
            batch=self.config.batch,
            tenant_ids=list(self._by_id),
            fanout=self.config.fanout,
            pool=self._send_pool,
            claim_lock=self._claim_lock,
        )
        return worker.run_once()

    def inbox_once(self) -> list[PollResult]:
        return [inbox.poll() for inbox in self.inboxes]

    def drop_once(self) -> list[DropResult]:
        """Submit what waits in every tenant's drop folder.

        A folder the node cannot read or write (a read-only file system, ``done`` not a
        directory, ...) is skipped: the other folders and the other steps of the loop go on.
        Its failure is logged as one line, once, and again only when it changes or after
        ``DROP_ERROR_REPEAT`` seconds, not on every pass.
        """
        out: list[DropResult] = []
        for t in self.tenants.values():
            if t.drop_folder is None:
                continue
            organ = t.organ

            def env_submit(env: Envelope, organ: str = organ) -> str:
                return _describe(self.submit_envelope(organ, env))

            def doc_submit(data: bytes, organ: str = organ) -> str:
                return _describe(self.submit_signed(data, tenant=organ))

            try:
                t.drop_folder.mkdir(parents=True, exist_ok=True)
                out.extend(
                    process_folder(
                        t.drop_folder, submit_envelope=env_submit, submit_document=doc_submit
                    )
                )
            except OSError as exc:
                self._drop_failed(t.drop_folder, os_reason(exc))
            else:
                self._drop_worked(t.drop_folder)
        return out

    def _drop_failed(self, folder: Path, reason: str) -> None:
        now = time.monotonic()
        last = self._drop_errors.get(folder)
        if last is None or last[0] != reason or now - last[1] >= DROP_ERROR_REPEAT:
            log.error("drop folder %s is not usable, its files wait: %s", folder, reason)
            self._drop_errors[folder] = (reason, now)

    def _drop_worked(self, folder: Path) -> None:
        if self._drop_errors.pop(folder, None) is not None:
            log.warning("drop folder %s is usable again", folder)

    def sweep_once(self) -> int:
        return sweep_unanswered(self.engine, self.policy)

    # --- the loops ---------------------------------------------------------------------------

    def run(self, stop: threading.Event, *, inbox: bool = True, outbox_threads: int = 1) -> None:
        """Run until ``stop`` is set; a failing step is logged and retried, never fatal."""
        threads = [
            threading.Thread(
                target=self._outbox_loop, args=(stop, i), daemon=True, name=f"outbox-{i}"
            )
            for i in range(outbox_threads)
        ]
        if inbox:
            threads.append(
                threading.Thread(target=self._inbox_loop, args=(stop,), daemon=True, name="inbox")
            )
        for th in threads:
            th.start()
        stop.wait()
        self.wake.set()
        for th in threads:
            th.join(timeout=30)

    def _outbox_loop(self, stop: threading.Event, n: int) -> None:
        owner = f"{self.owner}/{n}"
        idle = min(self.config.poll_interval, 0.25)
        while not stop.is_set():
            try:
                busy = self.outbox_once(owner) > 0
            except Exception:
                log.exception("outbox step failed")
                busy = False
            if not busy:
                self.wake.wait(idle)
                self.wake.clear()

    def _inbox_loop(self, stop: threading.Event) -> None:
        last_sweep = 0.0
        while not stop.is_set():
            # each step on its own: one failing never keeps the others from running
            busy = False
            try:
                busy = any(r.outcomes for r in self.inbox_once())
                if busy:
                    self.wake.set()
            except Exception:
                log.exception("inbox step failed")
            try:
                busy = bool(self.drop_once()) or busy
            except Exception:
                log.exception("drop folder step failed")
            now = time.monotonic()
            if now - last_sweep > SWEEP_INTERVAL:
                last_sweep = now
                try:
                    self.sweep_once()
                except Exception:
                    log.exception("dead-letter sweep failed")
            if not busy:
                stop.wait(self.config.poll_interval)

    def close(self) -> None:
        self._send_pool.shutdown(wait=True)
        for inbox in self.inboxes:
            inbox.close()
        seen: set[int] = set()
        for t in self.tenants.values():
            if id(t.axis) not in seen:
                seen.add(id(t.axis))
                try:
                    t.axis.close()
                except Exception:  # closing is best effort
                    log.debug("closing axis failed", exc_info=True)
        held.release(self.engine)
        self.engine.dispose()


def _describe(res: Submitted) -> str:
    return f"{res.document_id}: {len(res.delivery_ids)} deliveries queued"


def _payload_kind(payload: Any) -> str:
    kind = type(payload).kind
    return str(getattr(kind, "value", kind))


def _kind_of(msg: EdocMessage) -> str:
    try:
        from ..payloads import find_payload_attachment, payload_from_xml

        part = find_payload_attachment(msg.attachments)
        if part is None:
            return "other"
        kind = type(payload_from_xml(part.data)).kind
        return str(getattr(kind, "value", kind))
    except Exception:  # an unreadable structured part does not stop a signed document
        return "other"


def load_node(path: str | Path, **kwargs: Any) -> Node:
    from .config import load_config

    return Node(load_config(path), **kwargs)


__all__ = ["ConfigError", "Node", "NodeTenant", "Recipient", "load_node"]
