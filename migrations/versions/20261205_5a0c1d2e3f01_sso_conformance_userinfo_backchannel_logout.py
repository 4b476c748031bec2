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
    with op.batch_alter_table("identity_providers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email_claim", sa.String(length=40), nullable=False, server_default="email"))
    with op.batch_alter_table("user_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("identity_provider_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("sso_subject", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("sso_sid", sa.String(length=255), nullable=True))
        batch_op.create_index(batch_op.f("ix_user_sessions_identity_provider_id"), ["identity_provider_id"])
        batch_op.create_foreign_key(
            batch_op.f("fk_user_sessions_identity_provider_id_identity_providers"),
            "identity_providers",
            ["identity_provider_id"],
            ["id"],
            ondelete="SET NULL",
        )
    op.create_table(
        "logout_token_uses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider_id", sa.Integer(), nullable=False),
        sa.Column("jti", sa.String(length=255), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["identity_providers.id"],
            name=op.f("fk_logout_token_uses_provider_id_identity_providers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_logout_token_uses")),
        sa.UniqueConstraint("provider_id", "jti", name=op.f("uq_logout_token_uses_provider_id_jti")),
    )
    with op.batch_alter_table("logout_token_uses", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_logout_token_uses_expires_at"), ["expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("logout_token_uses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_logout_token_uses_expires_at"))
    op.drop_table("logout_token_uses")
    with op.batch_alter_table("user_sessions", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_user_sessions_identity_provider_id_identity_providers"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_user_sessions_identity_provider_id"))
        batch_op.drop_column("sso_sid")
        batch_op.drop_column("sso_subject")
        batch_op.drop_column("identity_provider_id")
    with op.batch_alter_table("identity_providers", schema=None) as batch_op:
        batch_op.drop_column("email_claim")
