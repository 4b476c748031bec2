"""Accounts whose password an operator generated must change it at first sign-in

Revision ID: 5a0c1d2e3f12
Revises: 5a0c1d2e3f11
Create Date: 2026-12-05 23:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5a0c1d2e3f12"
down_revision: str | None = "5a0c1d2e3f11"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing accounts keep working as they are: only accounts created from now on with a password
    # the command line generated and printed are marked.
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("password_must_change", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("password_must_change")
