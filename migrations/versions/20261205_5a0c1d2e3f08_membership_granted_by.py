"""Cluster memberships remember who granted them and when

Revision ID: 5a0c1d2e3f08
Revises: 5a0c1d2e3f07
Create Date: 2026-12-05 21:45:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5a0c1d2e3f08"
down_revision: str | None = "5a0c1d2e3f07"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cluster_memberships", schema=None) as batch_op:
        batch_op.add_column(sa.Column("granted_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("granted_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_cluster_memberships_granted_by_id_users"),
            "users",
            ["granted_by_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("cluster_memberships", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_cluster_memberships_granted_by_id_users"), type_="foreignkey")
        batch_op.drop_column("granted_at")
        batch_op.drop_column("granted_by_id")
