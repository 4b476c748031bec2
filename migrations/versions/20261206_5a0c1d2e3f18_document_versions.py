"""Versions of attachments and meeting documents, and download watermark references

Each attachment and meeting document gets a table of versions, each with its own file and its own
marking (the document's or stricter). Every existing file becomes version 1 of its document,
marked as the document is (an attachment: as the post's marking it was added under, else the
post's). The watermark references of stamped downloads live in their audit events' details.

Revision ID: 5a0c1d2e3f18
Revises: 5a0c1d2e3f17
Create Date: 2026-12-06 01:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5a0c1d2e3f18"
down_revision: str | None = "5a0c1d2e3f17"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _tlp() -> sa.Enum:
    return sa.Enum(
        "CLEAR",
        "GREEN",
        "AMBER",
        "AMBER+STRICT",
        "RED",
        name="tlp",
        native_enum=False,
        create_constraint=True,
        length=32,
    )


def _create(table: str, parent_column: str, parent_table: str, *extra: sa.SchemaItem) -> None:
    op.create_table(
        table,
        *extra,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(parent_column, sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tlp", _tlp(), nullable=True),
        sa.Column("law_enforcement_only", sa.Boolean(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("author_org_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            [parent_column],
            [f"{parent_table}.id"],
            name=op.f(f"fk_{table}_{parent_column}_{parent_table}"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["file_id"], ["stored_files.id"], name=op.f(f"fk_{table}_file_id_stored_files"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f(f"fk_{table}_author_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["author_org_id"], ["organisations.id"], name=op.f(f"fk_{table}_author_org_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
        sa.UniqueConstraint(parent_column, "number", name=op.f(f"uq_{table}_{parent_column}_number")),
        sa.UniqueConstraint("file_id", name=op.f(f"uq_{table}_file_id")),
    )
    with op.batch_alter_table(table) as batch:
        batch.create_index(batch.f(f"ix_{table}_{parent_column}"), [parent_column], unique=False)
        batch.create_index(batch.f(f"ix_{table}_author_id"), ["author_id"], unique=False)


def upgrade() -> None:
    _create(
        "attachment_versions",
        "attachment_id",
        "post_attachments",
        sa.Column("marking_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["marking_id"], ["marking_snapshots.id"], name=op.f("fk_attachment_versions_marking_id_marking_snapshots")
        ),
    )
    with op.batch_alter_table("attachment_versions") as batch:
        batch.create_index(batch.f("ix_attachment_versions_marking_id"), ["marking_id"], unique=False)
    _create("meeting_document_versions", "document_id", "meeting_documents")
    # Every existing file becomes version 1, with no marking of its own (its document's), added
    # under the marking its attachment was added under.
    op.execute(
        """
        INSERT INTO attachment_versions
            (attachment_id, number, file_id, created_at, tlp, law_enforcement_only, author_id, author_org_id,
             marking_id)
        SELECT a.id, 1, a.file_id, a.created_at, NULL, false, f.uploaded_by_id, p.author_org_id, a.marking_id
        FROM post_attachments a
        JOIN posts p ON p.id = a.post_id
        JOIN stored_files f ON f.id = a.file_id
        """
    )
    op.execute(
        """
        INSERT INTO meeting_document_versions
            (document_id, number, file_id, created_at, tlp, law_enforcement_only, author_id, author_org_id)
        SELECT d.id, 1, d.file_id, d.created_at, NULL, false, d.author_id, d.author_org_id
        FROM meeting_documents d
        """
    )


def downgrade() -> None:
    # Earlier versions' files lose their owner: their rows go (crypto-shredded; the blobs are
    # swept by ``storage sweep``), the latest stays the document's file.
    op.execute(
        "DELETE FROM stored_files WHERE id IN (SELECT v.file_id FROM attachment_versions v "
        "WHERE NOT EXISTS (SELECT 1 FROM post_attachments d WHERE d.file_id = v.file_id))"
    )
    op.execute(
        "DELETE FROM stored_files WHERE id IN (SELECT v.file_id FROM meeting_document_versions v "
        "WHERE NOT EXISTS (SELECT 1 FROM meeting_documents d WHERE d.file_id = v.file_id))"
    )
    op.drop_table("meeting_document_versions")
    op.drop_table("attachment_versions")
