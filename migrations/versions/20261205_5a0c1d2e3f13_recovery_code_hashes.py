"""Recovery codes are kept as salted password hashes

Revision ID: 5a0c1d2e3f13
Revises: 5a0c1d2e3f12
Create Date: 2026-12-05 23:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5a0c1d2e3f13"
down_revision: str | None = "5a0c1d2e3f12"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # New codes are argon2id hashes ("$argon2id$...", about 100 characters). Codes stored before
    # this are 64-character HMAC-SHA256 hex digests; they keep working (``app.auth.mfa`` tells the
    # two apart by form) until used or replaced, so no data is rewritten here.
    with op.batch_alter_table("recovery_codes", schema=None) as batch_op:
        batch_op.alter_column(
            "code_hash", existing_type=sa.String(length=64), type_=sa.String(length=255), existing_nullable=False
        )


def downgrade() -> None:
    # An argon2id hash does not fit the old column and the old code cannot read it: those codes
    # are removed, and their owners make new ones (the account page) after the downgrade.
    op.execute(sa.text("DELETE FROM recovery_codes WHERE code_hash LIKE '$%'"))
    with op.batch_alter_table("recovery_codes", schema=None) as batch_op:
        batch_op.alter_column(
            "code_hash", existing_type=sa.String(length=255), type_=sa.String(length=64), existing_nullable=False
        )
