"""The member directory: a work phone, and whether a person shows their e-mail and phone

Revision ID: 5a0c1d2e3f16
Revises: 5a0c1d2e3f15
Create Date: 2026-12-06 00:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5a0c1d2e3f16"
down_revision: str | None = "5a0c1d2e3f15"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("work_phone", sa.String(length=40), nullable=True))
        batch_op.add_column(
            sa.Column("directory_shows_email", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(
            sa.Column("directory_shows_phone", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("directory_shows_phone")
        batch_op.drop_column("directory_shows_email")
        batch_op.drop_column("work_phone")
