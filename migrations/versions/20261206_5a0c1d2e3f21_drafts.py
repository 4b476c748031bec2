"""Drafts and kept forms: a member's unsent form fields, sealed, theirs only

Revision ID: 5a0c1d2e3f21
Revises: 5a0c1d2e3f20
Create Date: 2026-12-06 01:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5a0c1d2e3f21"
down_revision: str | None = "5a0c1d2e3f20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

draft_kind = sa.Enum("draft", "kept", name="draft_kind", native_enum=False, create_constraint=True, length=32)


def upgrade() -> None:
    op.create_table(
        "drafts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", draft_kind, nullable=False),
        sa.Column("endpoint", sa.String(length=80), nullable=False),
        sa.Column("page", sa.String(length=500), nullable=False),
        sa.Column("browser_hash", sa.String(length=64), nullable=True),
        sa.Column("seal_nonce", sa.String(length=32), nullable=False),
        sa.Column("fields_sealed", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_drafts_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drafts")),
    )
    op.create_index("ix_drafts_user_id_page", "drafts", ["user_id", "page"])
    op.create_index(op.f("ix_drafts_expires_at"), "drafts", ["expires_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_drafts_expires_at"), table_name="drafts")
    op.drop_index("ix_drafts_user_id_page", table_name="drafts")
    op.drop_table("drafts")
