"""Attachment details (display name, description) with a version

Revision ID: 5a0c1d2e3f06
Revises: 5a0c1d2e3f05
Create Date: 2026-12-05 21:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5a0c1d2e3f06"
down_revision: str | None = "5a0c1d2e3f05"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


#: The attachments' table (the model ``Attachment``).
TABLE = "post_attachments"


def upgrade() -> None:
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
        batch_op.add_column(sa.Column("display_name", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("description", sa.String(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.drop_column("description")
        batch_op.drop_column("display_name")
        batch_op.drop_column("version")
