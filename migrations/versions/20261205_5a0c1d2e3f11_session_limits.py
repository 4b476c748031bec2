"""Sessions record their device and place, and an account's number of sessions is bounded

Revision ID: 5a0c1d2e3f11
Revises: 5a0c1d2e3f10
Create Date: 2026-12-05 23:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5a0c1d2e3f11"
down_revision: str | None = "5a0c1d2e3f10"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The full User-Agent is not kept any more: a short device summary ("Firefox on Windows") and
    # the client's network (/24 or /48) are what the session list shows. Live sessions started
    # before this show "Unknown device" until they end (12 hours at most).
    with op.batch_alter_table("user_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("device", sa.String(length=60), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("network", sa.String(length=50), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("ended_reason", sa.String(length=32), nullable=True))
        batch_op.drop_column("user_agent")
    with op.batch_alter_table("user_sessions", schema=None) as batch_op:
        batch_op.alter_column("device", server_default=None)
        batch_op.alter_column("network", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("user_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("user_agent", sa.String(length=200), nullable=False, server_default=""))
        batch_op.drop_column("ended_reason")
        batch_op.drop_column("network")
        batch_op.drop_column("device")
    with op.batch_alter_table("user_sessions", schema=None) as batch_op:
        batch_op.alter_column("user_agent", server_default=None)
