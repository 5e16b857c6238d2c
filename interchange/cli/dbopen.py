"""Opening the node's database from the command line, and saying in one line why it failed.

Commands that read (``status``, ``inbox``, ``users``, ``audit``, ``api serve``), ``users
add`` and the inbox answers (``inbox accept|refuse|assign``) never invent a database: a
SQLite path that does not exist, or a database no node has prepared, is refused before
anything is written next to it. ``db upgrade`` and the ``serve`` commands are the ones that
create a database.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from urllib.parse import quote

from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from ..api.database import database_url, open_database
from ..errors import ConfigError
from ..store.db import check_url, shown_url

_SQLITE_MAGIC = b"SQLite format 3\x00"


def reason_of(exc: BaseException) -> str:
    """The driver's own reason in one line, without SQLAlchemy's statement and link."""
    inner = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    lines = [line.strip(" \t-") for line in str(inner).splitlines()]
    lines = [line for line in lines if line]
    if not lines:
        return type(inner).__name__
    first = lines[0]
    if first.endswith(":") and len(lines) > 1:  # psycopg: "All failures were:" then a list
        first = f"{first} {lines[1]}"
    return first


def cannot_open(value: str, exc: BaseException) -> ConfigError:
    """``cannot open database URL: reason``; the URL's password never shown, nor in the reason."""
    reason = reason_of(exc)
    try:
        from sqlalchemy.engine import make_url

        password = make_url(database_url(value)).password
    except Exception:
        password = None
    if password:
        reason = reason.replace(str(password), "***")
    return ConfigError(f"cannot open database {shown_url(value)}: {reason}")


def _sqlite_path(value: str) -> Path | None:
    """The file of a SQLite URL or path; None for another backend or an in-memory database."""
    parsed = check_url(value if "://" in value else database_url(value))  # shown as given
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database
    if not database or database == ":memory:" or parsed.query.get("uri"):
        return None
    return Path(database)


def _hint(value: str) -> str:
    url = shown_url(value if "://" in value else database_url(value))  # a URL, as given
    return f"(run `interchange db upgrade --db {url}` or start the node first)"


def _sqlite_prepared(value: str, path: Path) -> bool:
    """Whether the file is a SQLite database with our migrations' table. Reads only, through
    the plain driver: none of the engine's settings (WAL) is applied to a file that may not
    be ours, and a missing file is never created."""
    if not path.exists():
        raise ConfigError(f"no database at {path} {_hint(value)}")
    if path.is_dir():
        raise ConfigError(f"{path} is a directory, not a database file")
    try:
        with path.open("rb") as fh:
            head = fh.read(len(_SQLITE_MAGIC))
    except OSError as exc:
        raise ConfigError(f"cannot open database {path}: {exc.strerror or exc}") from None
    if not head:
        raise ConfigError(f"no database at {path} (an empty file) {_hint(value)}")
    if head != _SQLITE_MAGIC:
        raise ConfigError(f"{path} is not a SQLite database")
    uri = f"file:{quote(str(path.resolve()))}?mode=rw"
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=30)
        try:
            row = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
            ).fetchone()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise cannot_open(value, exc) from None
    return row is not None


def require_existing(value: str) -> str:
    """Refuse a database that is missing or was never prepared by a node; return its URL.

    Only reads: nothing is created or changed (no directory, no lock file, no tables)."""
    url = database_url(value)
    path = _sqlite_path(value)
    if path is not None:
        prepared = _sqlite_prepared(value, path)
    else:
        from sqlalchemy import inspect

        from ..store.db import make_engine

        engine = make_engine(url)
        try:
            with engine.connect() as conn:
                prepared = inspect(conn).has_table("alembic_version")
        except DBAPIError as exc:
            raise cannot_open(value, exc) from None
        finally:
            engine.dispose()
    if not prepared:
        raise ConfigError(f"no node database at {shown_url(value)} {_hint(value)}")
    return url


def open_existing(value: str) -> Engine:
    """The engine of a database that exists and a node has prepared, brought to the newest
    revision (as a node does on start); ``ConfigError`` in one line otherwise."""
    require_existing(value)
    try:
        return open_database(value)
    except DBAPIError as exc:
        raise cannot_open(value, exc) from None
