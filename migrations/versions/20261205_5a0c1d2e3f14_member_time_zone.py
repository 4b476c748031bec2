"""Members may choose the time zone PAX shows dates and times in

Revision ID: 5a0c1d2e3f14
Revises: 5a0c1d2e3f13
Create Date: 2026-12-06 00:15:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5a0c1d2e3f14"
down_revision: str | None = "5a0c1d2e3f13"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("time_zone", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("time_zone")
