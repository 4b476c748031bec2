"""Versions for identity-provider settings and cluster memberships

Revision ID: 5a0c1d2e3f05
Revises: 5a0c1d2e3f04
Create Date: 2026-12-05 21:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5a0c1d2e3f05"
down_revision: str | None = "5a0c1d2e3f04"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


#: Identity-provider settings and cluster memberships: each row carries a version that a save compares and sets.
VERSIONED_TABLES = ("identity_providers", "cluster_memberships")


def upgrade() -> None:
    for table in VERSIONED_TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))


def downgrade() -> None:
    for table in reversed(VERSIONED_TABLES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("version")
