"""Meeting invitations, participants and RSVPs, agenda times, calendar subscriptions

A meeting invites organisations (each names a delegation), named people and whole clusters;
each invited person answers (in person, online, not attending, with a replacement). A meeting
gets its own video-conference link; agenda items a start time, a duration and speakers; a
workplan item may come from a meeting's minutes (an action point). Each member may hold one
secret calendar subscription address, stored hashed.

Revision ID: 5a0c1d2e3f17
Revises: 5a0c1d2e3f16
Create Date: 2026-12-06 01:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5a0c1d2e3f17"
down_revision: str | None = "5a0c1d2e3f16"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=32)


def upgrade() -> None:
    op.create_table(
        "calendar_feeds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_calendar_feeds_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_feeds")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_calendar_feeds_token_hash")),
        sa.UniqueConstraint("user_id", name=op.f("uq_calendar_feeds_user_id")),
    )
    op.create_table(
        "meeting_invitations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("kind", _enum("invitation_kind", "organisation", "person", "cluster"), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("cluster_id", sa.Integer(), nullable=True),
        sa.Column("delegation_size", sa.Integer(), nullable=False),
        sa.Column("invited_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(CASE WHEN organisation_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN user_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN cluster_id IS NULL THEN 0 ELSE 1 END) = 1",
            name=op.f("ck_meeting_invitations_one_invitee"),
        ),
        sa.ForeignKeyConstraint(
            ["cluster_id"], ["clusters.id"], name=op.f("fk_meeting_invitations_cluster_id_clusters"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["invited_by_id"],
            ["users.id"],
            name=op.f("fk_meeting_invitations_invited_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"], ["meetings.id"], name=op.f("fk_meeting_invitations_meeting_id_meetings"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_meeting_invitations_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_meeting_invitations_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_invitations")),
        sa.UniqueConstraint("meeting_id", "cluster_id", name=op.f("uq_meeting_invitations_meeting_id_cluster_id")),
        sa.UniqueConstraint(
            "meeting_id", "organisation_id", name=op.f("uq_meeting_invitations_meeting_id_organisation_id")
        ),
        sa.UniqueConstraint("meeting_id", "user_id", name=op.f("uq_meeting_invitations_meeting_id_user_id")),
    )
    op.create_index(op.f("ix_meeting_invitations_meeting_id"), "meeting_invitations", ["meeting_id"], unique=False)
    op.create_table(
        "meeting_participants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("invitation_id", sa.Integer(), nullable=False),
        sa.Column("named_by_id", sa.Integer(), nullable=True),
        sa.Column("replaces_id", sa.Integer(), nullable=True),
        sa.Column("response", _enum("rsvp", "pending", "in_person", "online", "not_attending"), nullable=False),
        sa.Column("responded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["invitation_id"],
            ["meeting_invitations.id"],
            name=op.f("fk_meeting_participants_invitation_id_meeting_invitations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meetings.id"],
            name=op.f("fk_meeting_participants_meeting_id_meetings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["named_by_id"], ["users.id"], name=op.f("fk_meeting_participants_named_by_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["replaces_id"],
            ["meeting_participants.id"],
            name=op.f("fk_meeting_participants_replaces_id_meeting_participants"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_meeting_participants_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_participants")),
        sa.UniqueConstraint("meeting_id", "user_id", name=op.f("uq_meeting_participants_meeting_id_user_id")),
    )
    for column in ("invitation_id", "meeting_id", "user_id"):
        op.create_index(op.f(f"ix_meeting_participants_{column}"), "meeting_participants", [column], unique=False)
    with op.batch_alter_table("agenda_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("starts_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("duration_minutes", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("speakers", sa.String(length=300), server_default="", nullable=False))
    with op.batch_alter_table("meetings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("video_link", sa.String(length=500), server_default="", nullable=False))
    with op.batch_alter_table("workplan_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("meeting_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_workplan_items_meeting_id"), ["meeting_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_workplan_items_meeting_id_meetings"), "meetings", ["meeting_id"], ["id"], ondelete="SET NULL"
        )


def downgrade() -> None:
    with op.batch_alter_table("workplan_items", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_workplan_items_meeting_id_meetings"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_workplan_items_meeting_id"))
        batch_op.drop_column("meeting_id")
    with op.batch_alter_table("meetings", schema=None) as batch_op:
        batch_op.drop_column("video_link")
    with op.batch_alter_table("agenda_items", schema=None) as batch_op:
        batch_op.drop_column("speakers")
        batch_op.drop_column("duration_minutes")
        batch_op.drop_column("starts_at")
    for column in ("user_id", "meeting_id", "invitation_id"):
        op.drop_index(op.f(f"ix_meeting_participants_{column}"), table_name="meeting_participants")
    op.drop_table("meeting_participants")
    op.drop_index(op.f("ix_meeting_invitations_meeting_id"), table_name="meeting_invitations")
    op.drop_table("meeting_invitations")
    op.drop_table("calendar_feeds")
