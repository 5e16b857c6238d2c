"""A failed upgrade changes nothing: one transaction from the revision found to the newest.

The database is taken at revision 0007 with rows in it, so the upgrade crosses the rebuild
of ``documents`` (0008, batch mode on SQLite) and the moves of 0011 before it fails: by an
injected last migration that creates, rebuilds and updates before raising, or (SQLite) by
a full disk. Afterwards the database is the same, schema and rows (and on SQLite byte for
byte), and a normal upgrade then succeeds from there.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine

from interchange.errors import MigrationError
from interchange.store import migrate
from interchange.store.db import make_engine
from interchange.store.migrate import MIGRATIONS_DIR, current_revision, head_revision
from interchange.store.migrate import upgrade_database as upgrade
from tests.cli.runner import run

from .conftest import pg_schema_engine

BOTH = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
OLD = "0007"
KILOBYTES = 600  # received bytes stored inline before 0008, moved by 0011


def _fill(eng: Engine, docs: int, size: int = 1000) -> None:
    """Rows as revision 0007 knows them: a tenant, received documents, their inbox items."""
    with eng.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO tenants (organ_code, name, auto_accept, created_at)"
                " VALUES ('000.00.30.H53', 'District', true, '2026-11-28 10:00:00')"
            )
        )
        for i in range(docs):
            data = (f"<edXML n='{i}'>".encode() * size)[:size]
            conn.execute(
                sa.text(
                    "INSERT INTO documents (id, tenant_id, direction, message_type, dedupe_key,"
                    " recipients, kind, bussiness_type, data, sha256, created_at) VALUES"
                    " (:id, 1, 'in', 'edoc', :key, '', 'directive', 0, :data, :sha,"
                    " '2026-11-28 10:00:00')"
                ),
                {
                    "id": i + 1,
                    "key": f"k{i}",
                    "data": data,
                    "sha": hashlib.sha256(data).hexdigest(),
                },
            )
            conn.execute(
                sa.text(
                    "INSERT INTO inbox_items (tenant_id, document_pk, state, valid, received_at)"
                    " VALUES (1, :pk, 'arrived', true, '2026-11-28 10:00:00')"
                ),
                {"pk": i + 1},
            )


@contextlib.contextmanager
def _at_old_revision(kind: str, tmp_path: Path, docs: int = 20) -> Iterator[Engine]:
    with contextlib.ExitStack() as stack:
        if kind == "sqlite":
            eng = make_engine(f"sqlite:///{tmp_path / 'node.db'}")
            stack.callback(eng.dispose)
        else:
            eng = stack.enter_context(pg_schema_engine())
        with eng.connect() as conn:
            cfg = migrate.alembic_config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, OLD)
            conn.commit()
        _fill(eng, docs)
        yield eng


def _snapshot(eng: Engine) -> Any:
    """Schema and every row; on SQLite the file's bytes too (every connection closed)."""
    if eng.dialect.name == "sqlite":
        eng.dispose()  # the WAL checkpointed into the file and removed
        path = Path(str(eng.url.database))
        assert not Path(f"{path}-wal").exists()
        raw = sqlite3.connect(path)
        try:
            dump = list(raw.iterdump())
        finally:
            raw.close()
        return path.read_bytes(), dump
    with eng.connect() as conn:
        schema = conn.execute(
            sa.text(
                "SELECT table_name, column_name, data_type, is_nullable FROM"
                " information_schema.columns WHERE table_schema = current_schema()"
                " ORDER BY 1, 2"
            )
        ).all()
        indexes = conn.execute(
            sa.text(
                "SELECT indexname, indexdef FROM pg_indexes"
                " WHERE schemaname = current_schema() ORDER BY 1"
            )
        ).all()
        tables = sorted({t for t, *_ in schema})
        rows = {t: conn.execute(sa.text(f'SELECT * FROM "{t}" ORDER BY 1')).all() for t in tables}
    return schema, indexes, rows


def _assert_connection_restored(eng: Engine) -> None:
    """The connection the upgrade ran on, back in the pool, is as the engine made it: foreign
    keys on, and the driver's own transaction handling back (else every later transaction
    on it would commit statement by statement). The pool was emptied before the upgrade
    (``_snapshot``), so the one connection it holds is the upgrade's."""
    assert eng.pool.checkedin() == 1  # type: ignore[attr-defined]
    with eng.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
        assert conn.connection.driver_connection.isolation_level is not None  # type: ignore[union-attr]


PROBE = '''
"""An injected last migration."""

import sqlalchemy as sa
from alembic import op

revision = "fail_probe"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade() -> None:
{body}


def downgrade() -> None:
    pass
'''

FAILING = """\
    op.create_table("probe", sa.Column("id", sa.Integer(), primary_key=True))
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table("tenants", recreate="always" if sqlite else "auto") as batch:
        batch.add_column(sa.Column("probe", sa.Integer(), nullable=True))
    op.execute("UPDATE tenants SET name = 'changed'")
    op.execute("UPDATE documents SET subject = 'changed'")
    raise RuntimeError("injected failure")"""

ORPHANING = """\
    op.execute("DELETE FROM documents WHERE id = 3")"""


def _inject(body: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Alembic also reads a temporary versions folder: one more migration after the head."""
    extra = tmp_path / "extra_versions"
    extra.mkdir()
    (extra / "fail_probe.py").write_text(PROBE.format(head=head_revision(), body=body))
    real = migrate.alembic_config

    def with_extra() -> Config:
        cfg = real()
        cfg.set_main_option("path_separator", "os")
        cfg.set_main_option(
            "version_locations", f"{MIGRATIONS_DIR / 'versions'}{os.pathsep}{extra}"
        )
        return cfg

    monkeypatch.setattr(migrate, "alembic_config", with_extra)


@pytest.mark.parametrize("kind", BOTH)
def test_a_failing_migration_leaves_the_database_as_it_was(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It creates a table, rebuilds another (SQLite) and updates rows, then raises."""
    _inject(FAILING, tmp_path, monkeypatch)
    with _at_old_revision(kind, tmp_path) as eng:
        before = _snapshot(eng)
        url = eng.url.render_as_string(hide_password=False)
        with pytest.raises(MigrationError) as failed:
            upgrade(url, engine=eng)
        message = str(failed.value)
        assert "\n" not in message
        assert message.startswith(
            f"the database upgrade from revision {OLD} to fail_probe failed and was undone"
        )
        assert message.endswith("RuntimeError: injected failure")
        if kind == "sqlite":
            _assert_connection_restored(eng)
        assert current_revision(eng) == OLD
        assert _snapshot(eng) == before

        monkeypatch.undo()  # the real migrations only: the upgrade resumes from OLD
        upgrade(url, engine=eng)
        if kind == "sqlite":
            _assert_connection_restored(eng)
        assert current_revision(eng) == head_revision()
        with eng.connect() as conn:
            moved = conn.execute(
                sa.text("SELECT count(*) FROM documents WHERE data IS NULL")
            ).scalar_one()
            blobs = conn.execute(sa.text("SELECT count(*) FROM document_blobs")).scalar_one()
            items = conn.execute(sa.text("SELECT count(*) FROM inbox_items")).scalar_one()
        assert (moved, blobs, items) == (20, 20, 20)


def test_a_full_disk_mid_upgrade_leaves_the_sqlite_database_as_it_was(tmp_path: Path) -> None:
    """``interchange db upgrade`` with every file write past 256 KB failing (EFBIG): the
    rebuild of ``documents`` by 0008 cannot copy its 600 KB into the write-ahead log."""
    with _at_old_revision("sqlite", tmp_path, docs=KILOBYTES) as eng:
        before = _snapshot(eng)
        url = eng.url.render_as_string(hide_password=False)
        assert len(before[0]) > 600_000
        proc = run("db", "upgrade", "--db", url, max_file_size=256 * 1024)
        assert proc.returncode == 1
        line = proc.stderr.strip()
        assert "\n" not in line
        assert line.startswith(
            f"error: the database upgrade from revision {OLD} to {head_revision()} failed and "
            "was undone, the database is unchanged: "
        )
        assert _snapshot(eng) == before
        assert sorted(p.name for p in tmp_path.iterdir()) == ["node.db", "node.db.migrate-lock"]

        proc = run("db", "upgrade", "--db", url)  # room again: it resumes from OLD
        assert proc.returncode == 0, proc.stderr
        assert current_revision(eng) == head_revision()
        with eng.connect() as conn:
            moved = conn.execute(sa.text("SELECT count(*) FROM documents WHERE data IS NULL"))
            assert moved.scalar_one() == KILOBYTES


@pytest.mark.parametrize("kind", BOTH)
def test_a_migration_breaking_a_reference_is_undone(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite runs the upgrade with foreign keys off (a rebuild needs it): they are checked
    before the commit. PostgreSQL refuses the statement itself."""
    _inject(ORPHANING, tmp_path, monkeypatch)
    with _at_old_revision(kind, tmp_path) as eng:
        before = _snapshot(eng)
        with pytest.raises(MigrationError) as failed:
            upgrade(eng.url.render_as_string(hide_password=False), engine=eng)
        assert current_revision(eng) == OLD
        assert _snapshot(eng) == before
    if kind == "sqlite":
        assert str(failed.value).endswith(
            "the database is unchanged: after the migrations, row 3 of inbox_items refers to "
            "a missing row of documents"
        )
    else:
        assert "ForeignKeyViolation" in str(failed.value)
