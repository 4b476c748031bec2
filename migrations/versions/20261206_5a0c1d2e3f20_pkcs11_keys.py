"""PKCS#11 key custody

Revision ID: 5a0c1d2e3f20
Revises: 5a0c1d2e3f19
Create Date: 2026-12-06 01:30:00
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "5a0c1d2e3f20"
down_revision: str | None = "5a0c1d2e3f19"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Which backend's audit key the chain is under from the head on (NULL: as the installation began).
    with op.batch_alter_table("audit_chain_head") as batch:
        batch.add_column(sa.Column("custody", sa.String(16), nullable=True))
    # Which backend's match key the cross-match index is under (one row, written by keys migrate).
    op.create_table(
        "key_custody",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("match_index", sa.String(16), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_key_custody")),
    )
    # An index made so far was made under the keyring file's match key: say so, so that starting the
    # portal on a token before ``keys migrate`` cannot mix keys in it.
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT 1 FROM match_identifiers LIMIT 1")).first() is not None:
        custody = sa.table(
            "key_custody",
            sa.column("id", sa.Integer),
            sa.column("match_index", sa.String),
            sa.column("updated_at", sa.DateTime(timezone=True)),
        )
        op.bulk_insert(custody, [{"id": 1, "match_index": "file", "updated_at": datetime.now(UTC)}])


def downgrade() -> None:
    op.drop_table("key_custody")
    with op.batch_alter_table("audit_chain_head") as batch:
        batch.drop_column("custody")
