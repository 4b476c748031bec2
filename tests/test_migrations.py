"""The schema comes from migrations only, and they agree with the models, on both backends."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from app.db import Base, include_object, make_engine
from app.migrations_state import head_revision
from tests.support import databases

CLUSTER_SLUGS = ["operational-cooperation", "infiltration-corruption", "policy", "innovation"]


@pytest.mark.slow
def test_upgrade_to_head_then_downgrade_to_base(test_root):
    with databases.fresh_database(test_root, "updown") as url:
        databases.upgrade(url, "head")
        engine = make_engine(url, pooled=False)
        with engine.connect() as conn:
            tables = set(sa.inspect(conn).get_table_names())
            assert {"organisations", "users", "clusters", "cluster_memberships"} <= tables
            assert MigrationContext.configure(conn).get_current_revision() == head_revision()
            slugs = conn.execute(sa.text("SELECT slug FROM clusters ORDER BY position")).scalars().all()
        assert slugs == CLUSTER_SLUGS

        databases.downgrade(url, "base")
        with engine.connect() as conn:
            assert set(sa.inspect(conn).get_table_names()) <= {"alembic_version"}
        # And back up again: a downgrade leaves nothing behind that blocks the next upgrade.
        databases.upgrade(url, "head")
        engine.dispose()


def test_models_and_migrations_agree(database_url):
    engine = make_engine(database_url, pooled=False)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "include_object": include_object})
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert diff == []


def test_every_migration_is_date_prefixed():
    from pathlib import Path

    versions = Path(__file__).resolve().parent.parent / "migrations" / "versions"
    names = [p.name for p in versions.glob("*.py")]
    assert names
    assert all(name[:8].isdigit() and name[8] == "_" for name in names)


@pytest.mark.slow
def test_upgrades_keep_existing_rows(test_root):
    """Rows written under the first revision survive every later migration (SQLite rebuilds tables)."""
    from alembic.script import ScriptDirectory

    from app.migrations_state import alembic_config

    first = ScriptDirectory.from_config(alembic_config()).get_base()
    with databases.fresh_database(test_root, "keep") as url:
        databases.upgrade(url, first)
        engine = make_engine(url, pooled=False)
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO organisations (id, name, type, country, created_at) "
                    "VALUES (1, 'Port', 'port_authority', 'BE', CURRENT_TIMESTAMP)"
                )
            )
            conn.execute(
                sa.text(
                    "INSERT INTO users (id, email, name, organisation_id, status, role, is_focal_point, created_at) "
                    "VALUES (1, 'a@port.example', 'A', 1, 'active', 'member', false, CURRENT_TIMESTAMP)"
                )
            )
            conn.execute(
                sa.text(
                    "INSERT INTO cluster_memberships (user_id, cluster_id, role, created_at) "
                    "SELECT 1, id, 'reader', CURRENT_TIMESTAMP FROM clusters"
                )
            )
        databases.upgrade(url, "head")
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM cluster_memberships")).scalar() == 4
            assert conn.execute(sa.text("SELECT count(*) FROM users")).scalar() == 1
        engine.dispose()
