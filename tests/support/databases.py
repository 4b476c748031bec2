"""Fresh databases for tests: SQLite files, or throwaway databases on the PostgreSQL server."""

from __future__ import annotations

import contextlib
import functools
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import Engine, make_url

from app.migrations_state import alembic_config

#: Rows the first migration creates; everything else is test data.
KEEP_TABLES = {"clusters", "alembic_version", "audit_chain_head"}


def backend() -> str:
    name = os.environ.get("PAX_TEST_DB", "sqlite").lower()
    if name not in {"sqlite", "postgresql"}:
        raise RuntimeError(f"PAX_TEST_DB must be sqlite or postgresql, not {name!r}")
    return name


def pg_admin_url() -> str:
    return os.environ.get("PAX_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


@contextlib.contextmanager
def fresh_database(root: Path, label: str) -> Iterator[str]:
    """Yield the URL of a new empty database; PostgreSQL ones are dropped afterwards."""
    if backend() == "sqlite":
        path = root / f"{label}-{secrets.token_hex(4)}.sqlite3"
        yield f"sqlite:///{path}"
        return
    admin_url = make_url(pg_admin_url())
    name = f"pax_test_{label}_{secrets.token_hex(4)}".lower()
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
            # A throwaway database need not wait for each commit to reach the disk.
            conn.execute(sa.text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
    except sa.exc.OperationalError as exc:
        raise RuntimeError(
            f"PostgreSQL is not reachable at {admin_url.render_as_string(hide_password=True)}: "
            "the PostgreSQL half of the suite cannot run"
        ) from exc
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(_alembic(url), revision)


def downgrade(url: str, revision: str = "base") -> None:
    command.downgrade(_alembic(url), revision)


def _alembic(url: str):  # type: ignore[no-untyped-def]
    cfg = alembic_config(url)
    cfg.attributes["skip_logging_config"] = True
    return cfg


_RESET_CHAIN_HEAD = sa.text(
    "UPDATE audit_chain_head SET seq = 0, mac = :genesis, head_mac = '', custody = NULL"
).bindparams(genesis="0" * 64)


@functools.cache
def _deletes() -> tuple[sa.Delete, ...]:
    """One DELETE per test-made table, children before parents (the sort is worth computing once)."""
    from app.db import Base

    return tuple(t.delete() for t in reversed(Base.metadata.sorted_tables) if t.name not in KEEP_TABLES)


def empty_tables(engine: Engine) -> None:
    """Delete every test-made row, children before parents."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # The audit log is append-only by trigger; the suite's cleanup is the one exception.
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        for delete in _deletes():
            conn.execute(delete)
        conn.execute(_RESET_CHAIN_HEAD)
