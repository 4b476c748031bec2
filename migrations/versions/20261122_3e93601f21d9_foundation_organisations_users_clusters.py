"""foundation: organisations, users, clusters

Revision ID: 3e93601f21d9
Revises:
Create Date: 2026-11-22 16:12:13.358089
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3e93601f21d9"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


#: The four clusters of the European Ports Alliance workplan (DESIGN.md); data, not settings.
CLUSTERS = [
    {
        "slug": "operational-cooperation",
        "name": "Operational cooperation",
        "description": (
            "Joint work between port authorities, terminal operators, shipping lines, customs and police "
            "against rip-on/rip-off, container misuse and extraction teams: risk indicators, joint controls, "
            "information flows between the port community and law enforcement."
        ),
        "position": 1,
    },
    {
        "slug": "infiltration-corruption",
        "name": "Fighting infiltration of organised criminal groups and corruption in ports",
        "description": (
            "Protecting port staff and processes against infiltration and corruption: vetting and screening, "
            "insider risk, access control to containers and systems, and support for workers who are threatened."
        ),
        "position": 2,
    },
    {
        "slug": "policy",
        "name": "Policy development and implementation",
        "description": (
            "Implementing the EU Roadmap against drug trafficking and organised crime in ports: legislation, "
            "standards, guidance and the follow-up of the Alliance's commitments."
        ),
        "position": 3,
    },
    {
        "slug": "innovation",
        "name": "Innovation: technology for the resilience of logistic hubs and shipping",
        "description": (
            "Scanning, detection, data analytics and secure digital processes that make logistic hubs and "
            "shipping resilient to criminal misuse, from pilots to procurement."
        ),
        "position": 4,
    },
]


def upgrade() -> None:
    op.create_table(
        "clusters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clusters")),
        sa.UniqueConstraint("slug", name=op.f("uq_clusters_slug")),
    )
    clusters = sa.table(
        "clusters",
        sa.column("slug", sa.String),
        sa.column("name", sa.String),
        sa.column("description", sa.Text),
        sa.column("position", sa.Integer),
    )
    op.bulk_insert(clusters, CLUSTERS)
    op.create_table(
        "organisations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "type",
            sa.Enum(
                "port_authority",
                "terminal_operator",
                "shipping_line",
                "logistics",
                "association",
                "customs",
                "police",
                "eu_agency",
                "commission",
                "member_state",
                name="org_type",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisations")),
        sa.UniqueConstraint("name", name=op.f("uq_organisations_name")),
    )
    op.create_table(
        "organisation_domains",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("domain", sa.String(length=253), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_organisation_domains_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisation_domains")),
        sa.UniqueConstraint("domain", name=op.f("uq_organisation_domains_domain")),
    )
    op.create_index(
        op.f("ix_organisation_domains_organisation_id"),
        "organisation_domains",
        ["organisation_id"],
        unique=False,
    )

    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "active",
                "suspended",
                name="user_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "role",
            sa.Enum(
                "member",
                "curator",
                "admin",
                "auditor",
                name="global_role",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("is_focal_point", sa.Boolean(), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_users_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )
    op.create_index(op.f("ix_users_organisation_id"), "users", ["organisation_id"], unique=False)

    op.create_table(
        "cluster_memberships",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("cluster_id", sa.Integer(), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "reader",
                "contributor",
                "coordinator",
                name="membership_role",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["cluster_id"],
            ["clusters.id"],
            name=op.f("fk_cluster_memberships_cluster_id_clusters"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_cluster_memberships_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cluster_memberships")),
        sa.UniqueConstraint(
            "user_id",
            "cluster_id",
            name=op.f("uq_cluster_memberships_user_id_cluster_id"),
        ),
    )
    op.create_index(
        op.f("ix_cluster_memberships_cluster_id"),
        "cluster_memberships",
        ["cluster_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_cluster_memberships_user_id"),
        "cluster_memberships",
        ["user_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_cluster_memberships_user_id"), "cluster_memberships")
    op.drop_index(op.f("ix_cluster_memberships_cluster_id"), "cluster_memberships")

    op.drop_table("cluster_memberships")
    op.drop_index(op.f("ix_users_organisation_id"), "users")

    op.drop_table("users")
    op.drop_index(op.f("ix_organisation_domains_organisation_id"), "organisation_domains")

    op.drop_table("organisation_domains")
    op.drop_table("organisations")
    op.drop_table("clusters")
