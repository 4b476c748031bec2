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


@pytest.mark.slow
def test_each_existing_file_becomes_version_1(test_root):
    """Files stored before versions existed (their version rows gone, as before the migration)
    become version 1 of their attachment or meeting document when the migration runs again."""
    from datetime import UTC, datetime

    from app import create_app
    from app.clusters.attachments import attach_file
    from app.clusters.services import publish_post
    from app.clusters.validation import parse_post
    from app.extensions import db
    from app.markings import Tlp
    from app.meetings import documents
    from app.meetings.models import Meeting, MeetingKind
    from tests.conftest import Factory, make_config

    with databases.fresh_database(test_root, "versions") as url:
        databases.upgrade(url, "head")
        app = create_app(make_config(test_root, url))
        with app.app_context():
            make = Factory()
            author = make.user(clusters={"policy": "contributor"}, role="curator", org_type="commission")
            raw = {"type": "best_practice", "cluster": "policy", "title": "T", "body": "B", "tlp": "AMBER"}
            post = publish_post(author, parse_post(raw))
            attachment, _ = attach_file(author, post, "a.txt", [b"attached"], 10**6)
            meeting = Meeting(
                kind=MeetingKind.SENIOR_OFFICIALS,
                title="M",
                starts_at=datetime(2026, 12, 1, 9, tzinfo=UTC),
                ends_at=datetime(2026, 12, 1, 17, tzinfo=UTC),
                tlp=Tlp.GREEN,
                author_id=author.id,
                author_org_id=author.organisation_id,
            )
            db.session.add(meeting)
            db.session.flush()
            document, _ = documents.add_document(author, meeting, None, "D", None, False, "d.txt", [b"doc"], 10**6)
            db.session.commit()
            ids = (attachment.id, attachment.file_id, attachment.marking_id, document.id, document.file_id)
            db.session.remove()
        engine = make_engine(url, pooled=False)
        with engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM attachment_versions"))
            conn.execute(sa.text("DELETE FROM meeting_document_versions"))
        databases.downgrade(url, "5a0c1d2e3f17")
        databases.upgrade(url, "head")
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT attachment_id, number, file_id, marking_id, tlp FROM attachment_versions")
            ).all()
            assert [tuple(r) for r in rows] == [(ids[0], 1, ids[1], ids[2], None)]
            rows = conn.execute(
                sa.text("SELECT document_id, number, file_id, tlp FROM meeting_document_versions")
            ).all()
            assert [tuple(r) for r in rows] == [(ids[3], 1, ids[4], None)]
        engine.dispose()
