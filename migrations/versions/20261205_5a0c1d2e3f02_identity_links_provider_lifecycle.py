"""Identity links, provider lifecycle and organisation sign-in policy

Revision ID: 5a0c1d2e3f02
Revises: 5a0c1d2e3f01
Create Date: 2026-12-05 18:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5a0c1d2e3f02"
down_revision: str | None = "5a0c1d2e3f01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
