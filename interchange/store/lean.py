"""Hot statements run on the driver's own cursor: SQLAlchemy writes and compiles them, once.

Why: Core's per-execution work (execution context, parameter processing, result set-up)
costs 18 µs for a one-row INSERT on SQLite where the sqlite3 cursor takes 4.5 µs (warm).
In the forwarding benchmark that work was a third of the nodes' Python time: every
document, delivery, event and state change is a row, several per forwarded conclusion.

The statements stay SQLAlchemy Core, compiled per dialect, with that dialect's bind
processors (SQLite's text datetimes, for one) and the table's scalar column defaults
applied as Core applies them; only the execution path is short. They run inside the
caller's SQLAlchemy transaction, on its connection. A driver error is raised as the
SQLAlchemy exception Core would raise (``IntegrityError`` for a duplicate key), and a
lost connection is invalidated as Core would invalidate it. What this cannot run as Core
would (expanding ``IN`` lists, callable defaults, results that need conversion) it refuses
when compiling.
"""

from __future__ import annotations

import threading
from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

from sqlalchemy import Select, exc
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.elements import BindParameter


@dataclass(frozen=True, slots=True)
class Lean:
    """One statement compiled for one dialect: its SQL and how to turn parameters into
    the driver's arguments."""

    sql: str
    order: tuple[str, ...] | None  # positional paramstyle: the bind names, placeholder order
    names: tuple[str, ...]  # every bind name
    processors: Mapping[str, Callable[[Any], Any]]
    fixed: Mapping[str, Any]  # values the statement itself carries (literals, defaults)

    def arguments(self, params: Mapping[str, Any]) -> Sequence[Any] | dict[str, Any]:
        values: dict[str, Any] = {}
        for name in self.names:
            if name in params:
                value = params[name]
            elif name in self.fixed:
                value = self.fixed[name]
            else:  # as Core says it, not a bare KeyError
                raise exc.ArgumentError(f"a value is required for bind parameter {name!r}")
            proc = self.processors.get(name)
            values[name] = proc(value) if proc is not None and value is not None else value
        if self.order is None:
            return values
        return tuple(values[n] for n in self.order)


_cache: dict[tuple[ClauseElement, str, tuple[str, ...] | None], Lean] = {}
_row_types: dict[tuple[ClauseElement, str], Any] = {}  # named tuples for rows read
_lock = threading.Lock()


def lean(stmt: ClauseElement, dialect: Dialect, keys: Sequence[str] | None = None) -> Lean:
    """``stmt`` compiled for ``dialect`` (with ``keys``: the columns an INSERT / UPDATE
    is given), once per process."""
    key = (stmt, dialect.name, tuple(keys) if keys is not None else None)
    found = _cache.get(key)
    if found is None:
        found = _compile(stmt, dialect, keys)
        with _lock:
            _cache[key] = found
    return found


def _compile(stmt: ClauseElement, dialect: Dialect, keys: Sequence[str] | None) -> Lean:
    compiled = stmt.compile(dialect=dialect, column_keys=list(keys) if keys is not None else None)
    processors: dict[str, Callable[[Any], Any]] = {}
    fixed: dict[str, Any] = {}
    binds: Mapping[str, BindParameter[Any]] = compiled.binds  # type: ignore[attr-defined]
    for name, bind in binds.items():
        if bind.expanding:
            raise ValueError(f"{name}: an expanding IN list is re-rendered per call; use Core")
        proc = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if proc is not None:
            processors[name] = proc
        if not bind.required:
            fixed[name] = bind.effective_value
    # columns with a Python-side default that the caller did not give (``insert_prefetch``)
    prefetch = getattr(compiled, "insert_prefetch", [])
    for column in [*prefetch, *getattr(compiled, "update_prefetch", [])]:
        default = column.default
        if default is None or not default.is_scalar:
            raise ValueError(f"{column}: a callable default needs Core's execution path")
        fixed[column.key] = default.arg
    order = tuple(compiled.positiontup) if dialect.positional else None  # type: ignore[attr-defined]
    return Lean(compiled.string, order, tuple(binds), processors, fixed)


def execute(conn: Connection, stmt: ClauseElement, params: Mapping[str, Any]) -> Any:
    """Run ``stmt`` with ``params`` on ``conn``'s driver cursor; returns that cursor (the
    caller reads ``rowcount``, ``lastrowid`` or rows, then closes it)."""
    compiled = lean(stmt, conn.dialect, _keys(stmt, params))
    args = compiled.arguments(params)
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(compiled.sql, args)
    except Exception as e:
        cursor.close()
        _raise(conn, compiled.sql, args, e)
    return cursor


def first(conn: Connection, stmt: Select[Any], params: Mapping[str, Any]) -> Any:
    """The first row of a SELECT as a named tuple (``row.state``), or None.

    Only for columns the driver already returns as Python wants them (ids, text, bytes):
    a column whose type converts results on this dialect (SQLite's text datetimes) is
    refused when compiling, so no value ever comes back unconverted.
    """
    row_type = _row_type(stmt, conn.dialect)
    cursor = execute(conn, stmt, params)
    try:
        row = cursor.fetchone()
    finally:
        cursor.close()
    return None if row is None else row_type._make(row)


def rows(conn: Connection, stmt: Any, params: Mapping[str, Any]) -> list[Any]:
    """Every row of a SELECT (or of an UPDATE … RETURNING) as named tuples; the same
    refusal as ``first`` for columns whose results Core would convert."""
    row_type = _row_type(stmt, conn.dialect)
    cursor = execute(conn, stmt, params)
    try:
        return [row_type._make(r) for r in cursor.fetchall()]
    finally:
        cursor.close()


def _row_type(stmt: Any, dialect: Dialect) -> Any:
    key = (stmt, dialect.name)
    found = _row_types.get(key)
    if found is None:
        if isinstance(stmt, Select):
            columns = [(str(c.key), c.type) for c in stmt.selected_columns]
        else:  # INSERT / UPDATE … RETURNING
            columns = [(d["name"], d["type"]) for d in stmt.returning_column_descriptions]
        for name, type_ in columns:
            if type_.dialect_impl(dialect).result_processor(dialect, None) is not None:
                raise ValueError(f"{name}: its results need Core's conversion on {dialect.name}")
        names = [name for name, _ in columns]
        found = _row_types[key] = namedtuple("Row", names, rename=True)  # type: ignore[misc]
    return found


def execute_many(conn: Connection, stmt: ClauseElement, each: Sequence[Mapping[str, Any]]) -> int:
    """Run ``stmt`` once per parameter set (all with the same keys), as one driver call;
    returns the rows affected by all of them together."""
    if not each:
        return 0
    compiled = lean(stmt, conn.dialect, _keys(stmt, each[0]))
    args = [compiled.arguments(p) for p in each]
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(compiled.sql, args)  # type: ignore[arg-type]
        return int(cursor.rowcount)
    except Exception as e:
        _raise(conn, compiled.sql, args, e)
    finally:
        cursor.close()


def _keys(stmt: ClauseElement, params: Mapping[str, Any]) -> tuple[str, ...] | None:
    """The columns an INSERT is given (``table.insert()`` compiles to exactly those)."""
    return tuple(params) if getattr(stmt, "is_insert", False) else None


def _raise(conn: Connection, sql: str, args: Any, error: Exception) -> NoReturn:
    """Raise a driver error as Core would: wrapped, and the connection invalidated if lost."""
    dbapi = conn.dialect.loaded_dbapi
    if not isinstance(error, dbapi.Error):
        raise error
    lost = conn.dialect.is_disconnect(error, conn.connection.dbapi_connection, None)
    if lost:
        conn.invalidate(error)
    raise exc.DBAPIError.instance(
        sql,
        args,
        error,
        dbapi.Error,
        hide_parameters=True,
        connection_invalidated=lost,
        dialect=conn.dialect,
    ) from error
