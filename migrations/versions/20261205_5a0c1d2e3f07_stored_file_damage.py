"""Stored files remember damage found in their blob

Revision ID: 5a0c1d2e3f07
Revises: 5a0c1d2e3f06
Create Date: 2026-12-05 21:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5a0c1d2e3f07"
down_revision: str | None = "5a0c1d2e3f06"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("stored_files", schema=None) as batch_op:
        batch_op.add_column(sa.Column("damaged_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("stored_files", schema=None) as batch_op:
        batch_op.drop_column("damaged_at")
