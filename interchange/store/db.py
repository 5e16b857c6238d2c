"""Engine creation and the one ``MetaData`` every table is declared on.

SQLite is the embedded default (a file under the node's data directory, WAL mode, a busy
timeout so that several processes can share it); PostgreSQL through psycopg 3 by URL
(``postgresql+psycopg://...``).
"""

from __future__ import annotations

import re
import time
from typing import Any

from sqlalchemy import MetaData, create_engine, event
from sqlalchemy.engine import URL, Engine, make_url

from ..errors import ConfigError

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING)


def normalise_url(url: str) -> str:
    """Accept ``postgresql://`` and ``postgres://`` and use psycopg 3 for them."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


#: Backends and the one driver each that we install and test.
SUPPORTED = {"sqlite": "pysqlite", "postgresql": "psycopg"}
_PASSWORD = re.compile(r"(://[^:/@?#]*:)[^@/?#]*@")


def shown_url(url: str) -> str:
    """The URL to print: its password replaced by ``***``, even when it does not parse."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL: hide what looks like user:password@ all the same
        return _PASSWORD.sub(r"\1***@", url)


def check_url(url: str) -> URL:
    """The parsed URL of a backend we support, else ``ConfigError`` in one line (no password)."""
    shown = shown_url(url)  # as given: postgresql://, not our postgresql+psycopg://
    try:
        parsed = make_url(normalise_url(url))
    except Exception:
        raise ConfigError(
            f"cannot open database {shown}: not a database URL "
            "(supported: sqlite:///PATH, postgresql://USER@HOST/NAME)"
        ) from None
    backend = parsed.get_backend_name()
    try:
        driver = parsed.get_driver_name()  # loads the dialect of a URL without a driver
    except Exception:
        driver = None
    if driver is None or SUPPORTED.get(backend) != driver:
        what = backend if backend not in SUPPORTED else f"{backend}+{driver}"
        raise ConfigError(
            f"cannot open database {shown}: {what} is not supported (supported: sqlite, postgresql)"
        )
    return parsed


def make_engine(url: str, **kwargs: Any) -> Engine:
    check_url(url)
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    engine = create_engine(url, **kwargs)
    if not kwargs.get("pool_pre_ping"):
        _ping_when_idle(engine)
    return engine


#: A pooled PostgreSQL connection idle longer than this is pinged before it is reused.
PING_AFTER_IDLE_S = 1.0


def _ping_when_idle(engine: Engine) -> None:
    """Ping a connection back from the pool only when it has been idle a while.

    Why not ``pool_pre_ping``: it pings on every checkout, one round trip per request or
    transaction (with PostgreSQL's BEGIN and ROLLBACK, a sixth of the database's CPU in an
    API list). A connection used a moment ago has been alive a moment ago; one idle for
    longer may have outlived a server restart or an idle timeout, and is pinged as before.
    A dead one is replaced (``DisconnectionError`` makes the pool retry with a new
    connection, and drops the others of its generation)."""
    from sqlalchemy.exc import DisconnectionError

    @event.listens_for(engine, "checkin")
    def _checkin(_dbapi_conn: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < PING_AFTER_IDLE_S:
            return  # new (just connected) or used a moment ago
        try:
            alive = engine.dialect.do_ping(dbapi_conn)
        except Exception as exc:  # the driver's own error for a dead connection
            raise DisconnectionError(str(exc)) from exc
        if not alive:
            raise DisconnectionError("the connection did not answer a ping")


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"
