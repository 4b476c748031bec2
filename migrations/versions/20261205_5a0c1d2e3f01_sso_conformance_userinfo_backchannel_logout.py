"""SSO conformance: provider email claim, session SSO subject and sid, logout token replay

Revision ID: 5a0c1d2e3f01
Revises: 3a5b7711d397
Create Date: 2026-12-05 18:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5a0c1d2e3f01"
down_revision: str | None = "3a5b7711d397"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
