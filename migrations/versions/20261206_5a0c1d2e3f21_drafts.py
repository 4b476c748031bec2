"""Drafts, kept forms and files at publish time

Revision ID: 5a0c1d2e3f21
Revises: 5a0c1d2e3f20
Create Date: 2026-12-06 01:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision: str = "5a0c1d2e3f21"
down_revision: str | None = "5a0c1d2e3f20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
