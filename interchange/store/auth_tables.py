"""Operators: users, their tokens and tenant scopes, and the append-only audit log.

Why tokens are stored only as SHA-256: a copy of the database must not let anyone act as an
operator. Tokens are 256-bit random values, so a plain (unsalted) hash is enough to make them
unusable from a leaked table, and it keeps lookup a single indexed equality.

Why ``users.sessions_after``: a dashboard session is a signed cookie the server does not
store, so signing out (or anything else that must end a user's sessions) records the moment
instead; every cookie issued at or before it is refused (``interchange.api.web.session``).

Why the audit log is hash-chained: each entry's hash covers the previous entry's hash and the
entry's own canonical content (seq, who, when, what, target, tenant, result, detail), so an
entry altered, removed or moved breaks the chain at that point; ``audit_head`` keeps the last
sequence number and hash so that cutting entries off the end is detected too.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
import threading
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    bindparam,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Connection

from ..errors import AuditChainError, ConfigError, NotFoundError
from .db import metadata

ROLES = ("viewer", "operator", "admin")
ALL_TENANTS = "*"
TOKEN_PREFIX = "ixt_"
GENESIS = "0" * 64
#: The result of the entry written before an action runs; its outcome entry names it in
#: ``detail["started"]`` (see ``interchange.api.actions``).
STARTED = "started"

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(128), nullable=False, unique=True),
    Column("role", String(16), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", DateTime, nullable=False),
    Column("revoked_at", DateTime, nullable=True),
    # dashboard sessions issued at or before this moment are over (sign-out); microseconds
    Column("sessions_after", DateTime, nullable=True),
)

user_tenants = Table(
    "user_tenants",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id"), primary_key=True),
    Column("tenant", String(64), primary_key=True),  # an agency code, or "*" for every tenant
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("at", DateTime, nullable=False),
    Column("actor", String(128), nullable=False),
    Column("action", String(64), nullable=False),
    Column("target", String(255), nullable=False),
    Column("tenant", String(64), nullable=True),
    Column("result", String(255), nullable=False),
    Column("detail", Text, nullable=False),  # canonical JSON
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)

audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", Integer, nullable=False),
    Column("hash", String(64), nullable=False),
)

AUTH_TABLES = (users, user_tenants, audit_log, audit_head)

_append_lock = threading.Lock()


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


# --- users and tokens ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class User:
    id: int
    name: str
    role: str
    tenants: tuple[str, ...]
    created_at: dt.datetime
    revoked_at: dt.datetime | None = None

    def has_role(self, role: str) -> bool:
        """Roles are ordered: admin ⊃ operator ⊃ viewer."""
        return ROLES.index(self.role) >= ROLES.index(role)

    def sees(self, tenant: str | None) -> bool:
        return ALL_TENANTS in self.tenants or (tenant is not None and tenant in self.tenants)

    @property
    def all_tenants(self) -> bool:
        return ALL_TENANTS in self.tenants


@dataclass(frozen=True, slots=True)
class NewUser:
    """A created user and its token: the only time the token exists in clear."""

    user: User
    token: str


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _load_user(conn: Connection, row: Any) -> User:
    tenants = conn.execute(
        select(user_tenants.c.tenant)
        .where(user_tenants.c.user_id == row.id)
        .order_by(user_tenants.c.tenant)
    ).scalars()
    return User(row.id, row.name, row.role, tuple(tenants), row.created_at, row.revoked_at)


def add_user(
    conn: Connection, name: str, role: str, tenants: list[str] | tuple[str, ...]
) -> NewUser:
    name = name.strip()
    if not name or len(name) > 128:
        raise ConfigError("a user name must be 1 to 128 characters")
    if role not in ROLES:
        raise ConfigError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
    scopes = sorted({t.strip() for t in tenants if t.strip()})
    if not scopes:
        raise ConfigError("a user needs at least one tenant (--tenant CODE, or '*' for all)")
    if conn.execute(select(users.c.id).where(users.c.name == name)).first() is not None:
        raise ConfigError(f"user {name!r} already exists")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    user_id = conn.execute(
        insert(users).values(name=name, role=role, token_hash=hash_token(token), created_at=now)
    ).inserted_primary_key[0]  # type: ignore[index]
    conn.execute(insert(user_tenants), [{"user_id": user_id, "tenant": t} for t in scopes])
    return NewUser(User(int(user_id), name, role, tuple(scopes), now), token)


# Every API request looks its caller up: one statement, built once.
_BY_TOKEN = (
    select(users, user_tenants.c.tenant)
    .outerjoin(user_tenants, user_tenants.c.user_id == users.c.id)
    .where(users.c.token_hash == bindparam("token_hash"))
    .order_by(user_tenants.c.tenant)
)


def find_user_by_token(conn: Connection, token: str) -> User | None:
    """The active user holding this token, or None (unknown, malformed or revoked)."""
    if not token or len(token) > 512:
        return None
    rows = conn.execute(_BY_TOKEN, {"token_hash": hash_token(token)}).all()
    if not rows or rows[0].revoked_at is not None:
        return None
    r = rows[0]
    scope = tuple(row.tenant for row in rows if row.tenant is not None)
    return User(r.id, r.name, r.role, scope, r.created_at, r.revoked_at)


def get_user(conn: Connection, user_id: int) -> User | None:
    row = conn.execute(select(users).where(users.c.id == user_id)).first()
    return None if row is None else _load_user(conn, row)


@dataclass(frozen=True, slots=True)
class SessionFacts:
    """What a dashboard session is checked against on every page: the user's current token
    (a new or revoked token ends it) and the moment its sessions were last ended."""

    token_hash: str
    sessions_after: dt.datetime | None


def session_facts(conn: Connection, user_id: int) -> SessionFacts | None:
    row = conn.execute(
        select(users.c.token_hash, users.c.sessions_after).where(users.c.id == user_id)
    ).first()
    return None if row is None else SessionFacts(row.token_hash, row.sessions_after)


def end_sessions(conn: Connection, user_id: int, at: dt.datetime) -> None:
    """End every dashboard session of the user issued at or before ``at`` (naive UTC).

    Never moves the moment back: of two sign-outs racing, the later one stands."""
    c = users.c
    conn.execute(
        update(users)
        .where(c.id == user_id, or_(c.sessions_after.is_(None), c.sessions_after < at))
        .values(sessions_after=at)
    )


def list_users(conn: Connection) -> list[User]:
    rows = conn.execute(select(users).order_by(users.c.name)).all()
    return [_load_user(conn, r) for r in rows]


def revoke_user(conn: Connection, name: str) -> User:
    row = conn.execute(select(users).where(users.c.name == name)).first()
    if row is None:
        raise NotFoundError(f"no user named {name!r}")
    if row.revoked_at is None:
        conn.execute(update(users).where(users.c.id == row.id).values(revoked_at=utcnow()))
        row = conn.execute(select(users).where(users.c.id == row.id)).one()
    return _load_user(conn, row)


# --- the audit log -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AuditEntry:
    seq: int
    at: dt.datetime
    actor: str
    action: str
    target: str
    tenant: str | None
    result: str
    detail: str
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class AuditReport:
    ok: bool
    count: int
    head_hash: str
    broken_seq: int | None = None
    reason: str | None = None
    #: Actions whose "started" entry has no outcome entry: the process stopped (a crash)
    #: between the two, so whether the action took effect must be checked by hand.
    unfinished: tuple[int, ...] = ()


def canonical_detail(detail: dict[str, Any] | None) -> str:
    return json.dumps(
        detail or {}, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )


def entry_hash(
    prev_hash: str,
    seq: int,
    at: dt.datetime,
    actor: str,
    action: str,
    target: str,
    tenant: str | None,
    result: str,
    detail: str,
) -> str:
    content = json.dumps(
        [seq, at.isoformat(timespec="microseconds"), actor, action, target, tenant, result, detail],
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(f"{prev_hash}\n{content}".encode()).hexdigest()


def append_audit(
    conn: Connection,
    *,
    actor: str,
    action: str,
    target: str,
    result: str,
    tenant: str | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry. Call inside the caller's transaction so that the entry and the action
    commit together; the head row is updated first so that concurrent appenders serialise
    (SQLite's write lock, PostgreSQL's row lock) before reading the previous hash."""
    with _append_lock:
        touched = conn.execute(
            update(audit_head).where(audit_head.c.id == 1).values(seq=audit_head.c.seq)
        ).rowcount
        if not touched:
            conn.execute(insert(audit_head).values(id=1, seq=0, hash=GENESIS))
        head = conn.execute(select(audit_head).where(audit_head.c.id == 1)).one()
        seq = int(head.seq) + 1
        at = utcnow()
        body = canonical_detail(detail)
        digest = entry_hash(head.hash, seq, at, actor, action, target, tenant, result, body)
        values = {
            "seq": seq,
            "at": at,
            "actor": actor,
            "action": action,
            "target": target,
            "tenant": tenant,
            "result": result,
            "detail": body,
            "prev_hash": head.hash,
            "hash": digest,
        }
        conn.execute(insert(audit_log).values(**values))
        conn.execute(update(audit_head).where(audit_head.c.id == 1).values(seq=seq, hash=digest))
        return AuditEntry(**values)  # type: ignore[arg-type]


def list_audit(
    conn: Connection, limit: int = 100, *, tenants: tuple[str, ...] | None = None
) -> list[AuditEntry]:
    """The newest entries; with ``tenants``, only those about one of them."""
    q = select(audit_log)
    if tenants is not None:
        q = q.where(audit_log.c.tenant.in_(tenants))
    rows = conn.execute(q.order_by(audit_log.c.seq.desc()).limit(limit)).all()
    return [AuditEntry(**r._mapping) for r in rows]


def verify_audit(conn: Connection) -> AuditReport:
    """Walk the chain from the first entry; report the first entry that breaks it."""
    prev, expected, count = GENESIS, 1, 0
    started: set[int] = set()
    for row in conn.execute(select(audit_log).order_by(audit_log.c.seq)):
        if row.seq != expected:
            return AuditReport(False, count, prev, expected, f"entry {expected} is missing")
        if row.prev_hash != prev:
            return AuditReport(False, count, prev, row.seq, "does not follow the previous entry")
        at = row.at if isinstance(row.at, dt.datetime) else dt.datetime.fromisoformat(str(row.at))
        digest = entry_hash(
            prev, row.seq, at, row.actor, row.action, row.target, row.tenant, row.result, row.detail
        )
        if digest != row.hash:
            return AuditReport(False, count, prev, row.seq, "its content does not match its hash")
        prev, expected, count = row.hash, expected + 1, count + 1
        if row.result == STARTED:
            started.add(int(row.seq))
        elif started and '"started":' in row.detail:
            started.discard(json.loads(row.detail).get("started"))
    head = conn.execute(select(audit_head).where(audit_head.c.id == 1)).first()
    head_seq, head_hash = (0, GENESIS) if head is None else (int(head.seq), head.hash)
    if head_seq != count or head_hash != prev:
        return AuditReport(
            False, count, prev, count + 1, f"the log ends at {count} but the head says {head_seq}"
        )
    return AuditReport(True, count, prev, unfinished=tuple(sorted(started)))


def check_audit(conn: Connection) -> AuditReport:
    """Like ``verify_audit`` but raises ``AuditChainError`` naming the first broken entry."""
    report = verify_audit(conn)
    if not report.ok:
        raise AuditChainError(f"audit entry {report.broken_seq} broken: {report.reason}")
    return report
