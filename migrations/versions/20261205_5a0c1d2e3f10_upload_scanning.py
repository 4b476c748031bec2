"""Uploads wait for a malware scan before anyone sees them

Revision ID: 5a0c1d2e3f10
Revises: 5a0c1d2e3f09
Create Date: 2026-12-05 23:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5a0c1d2e3f10"
down_revision: str | None = "5a0c1d2e3f09"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Files stored before scanning existed were never scanned: "unscanned" keeps them visible.
    with op.batch_alter_table("stored_files", schema=None) as batch_op:
        batch_op.add_column(sa.Column("scan_status", sa.String(length=16), server_default="unscanned", nullable=False))
        batch_op.add_column(sa.Column("scanned_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_stored_files_scan_status"), ["scan_status"], unique=False)
        batch_op.create_check_constraint(
            batch_op.f("ck_stored_files_scan_status_known"), "scan_status IN ('clean', 'pending', 'unscanned')"
        )


def downgrade() -> None:
    with op.batch_alter_table("stored_files", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_stored_files_scan_status_known"), type_="check")
        batch_op.drop_index(batch_op.f("ix_stored_files_scan_status"))
        batch_op.drop_column("scanned_at")
        batch_op.drop_column("scan_status")
