"""A member's language: the official EU language PAX speaks to them on pages and in mail

Revision ID: 5a0c1d2e3f22
Revises: 5a0c1d2e3f21
Create Date: 2026-12-06 04:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5a0c1d2e3f22"
down_revision: str | None = "5a0c1d2e3f21"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # NULL: the member never chose; pages follow their browser, mail is in English.
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("language", sa.String(length=5), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("language")
