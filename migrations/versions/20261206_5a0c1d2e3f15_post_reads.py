"""What is new is what a member has not read: post reads and "mark all read"

The dashboard used to show what was new since its last load, so a reload emptied it. A post now
stays new until its reader opens it or marks everything read.

Revision ID: 5a0c1d2e3f15
Revises: 5a0c1d2e3f14
Create Date: 2026-12-06 00:25:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5a0c1d2e3f15"
down_revision: str | None = "5a0c1d2e3f14"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "post_reads",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["post_id"], ["posts.id"], name=op.f("fk_post_reads_post_id_posts"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_post_reads_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "post_id", name=op.f("pk_post_reads")),
    )
    op.create_index(op.f("ix_post_reads_post_id"), "post_reads", ["post_id"], unique=False)
    # What the dashboard last showed counts as read: members keep their place.
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column("dashboard_seen_at", new_column_name="read_all_before")


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column("read_all_before", new_column_name="dashboard_seen_at")
    op.drop_index(op.f("ix_post_reads_post_id"), table_name="post_reads")
    op.drop_table("post_reads")
