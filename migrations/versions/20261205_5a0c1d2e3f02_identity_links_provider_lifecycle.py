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


PROVIDER_STATUS = ("testing", "enabled", "disabled")
LINK_STATUS = ("pending", "confirmed", "approved", "rejected")


def upgrade() -> None:
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("password_fallback", sa.Boolean(), nullable=False, server_default=sa.false()))

    with op.batch_alter_table("identity_providers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "status",
                sa.Enum(*PROVIDER_STATUS, name="provider_status", native_enum=False, create_constraint=True, length=32),
                nullable=False,
                server_default="testing",
            )
        )
        batch_op.add_column(sa.Column("last_test_ok_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("last_test_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("mfa_exempt_confirmed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("mfa_exempt_confirmed_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_identity_providers_last_test_by_id_users"),
            "users",
            ["last_test_by_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_identity_providers_mfa_exempt_confirmed_by_id_users"),
            "users",
            ["mfa_exempt_confirmed_by_id"],
            ["id"],
            ondelete="SET NULL",
        )
    # Providers that were in use stay in use; a disabled one stays off. An MFA exemption that no
    # focal point has confirmed no longer skips PAX's second factor (issue 16).
    providers = sa.table("identity_providers", sa.column("enabled", sa.Boolean()), sa.column("status", sa.String()))
    op.execute(providers.update().where(providers.c.enabled.is_(True)).values(status="enabled"))
    op.execute(providers.update().where(providers.c.enabled.is_(False)).values(status="disabled"))
    with op.batch_alter_table("identity_providers", schema=None) as batch_op:
        batch_op.drop_column("enabled")

    op.create_table(
        "identity_link_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("provider_id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column(
            "status",
            sa.Enum(*LINK_STATUS, name="link_request_status", native_enum=False, create_constraint=True, length=32),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["users.id"],
            name=op.f("fk_identity_link_requests_decided_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["identity_providers.id"],
            name=op.f("fk_identity_link_requests_provider_id_identity_providers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_identity_link_requests_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_link_requests")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_identity_link_requests_token_hash")),
    )
    with op.batch_alter_table("identity_link_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_identity_link_requests_user_id"), ["user_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_identity_link_requests_provider_id"), ["provider_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("identity_link_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_identity_link_requests_provider_id"))
        batch_op.drop_index(batch_op.f("ix_identity_link_requests_user_id"))
    op.drop_table("identity_link_requests")

    with op.batch_alter_table("identity_providers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("enabled", sa.Boolean(), nullable=False, server_default=sa.true()))
    providers = sa.table("identity_providers", sa.column("enabled", sa.Boolean()), sa.column("status", sa.String()))
    op.execute(providers.update().where(providers.c.status != "enabled").values(enabled=False))
    with op.batch_alter_table("identity_providers", schema=None) as batch_op:
        batch_op.alter_column("enabled", existing_type=sa.Boolean(), server_default=None)
        batch_op.drop_constraint(
            batch_op.f("fk_identity_providers_mfa_exempt_confirmed_by_id_users"), type_="foreignkey"
        )
        batch_op.drop_constraint(batch_op.f("fk_identity_providers_last_test_by_id_users"), type_="foreignkey")
        batch_op.drop_column("mfa_exempt_confirmed_by_id")
        batch_op.drop_column("mfa_exempt_confirmed_at")
        batch_op.drop_column("last_test_by_id")
        batch_op.drop_column("last_test_ok_at")
        batch_op.drop_constraint(batch_op.f("ck_identity_providers_provider_status"), type_="check")
        batch_op.drop_column("status")

    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.drop_column("password_fallback")
