"""Every piece of a post's past keeps the marking it had when written

Earlier versions, comments and files point to a snapshot of the marking in force when they were
written. What exists already gets the best that is known: a version its own TLP and flag with the
post's recipients, comments and files the post's marking today. Notifications of a change of
marking keep the marking before and who changed it.

Revision ID: 5a0c1d2e3f09
Revises: 5a0c1d2e3f08
Create Date: 2026-12-05 23:00:00
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "5a0c1d2e3f09"
down_revision: str | None = "5a0c1d2e3f08"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MARKED = ("post_versions", "comments", "post_attachments")


def upgrade() -> None:
    tlp = sa.Enum(
        "CLEAR",
        "GREEN",
        "AMBER",
        "AMBER+STRICT",
        "RED",
        name="tlp",
        native_enum=False,
        create_constraint=True,
        length=32,
    )
    op.create_table(
        "marking_snapshots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("cluster_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tlp", tlp, nullable=False),
        sa.Column("law_enforcement_only", sa.Boolean(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("author_org_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_marking_snapshots_author_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["author_org_id"], ["organisations.id"], name=op.f("fk_marking_snapshots_author_org_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["cluster_id"], ["clusters.id"], name=op.f("fk_marking_snapshots_cluster_id_clusters"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_marking_snapshots")),
        sa.UniqueConstraint("key", name=op.f("uq_marking_snapshots_key")),
    )
    op.create_index(op.f("ix_marking_snapshots_author_id"), "marking_snapshots", ["author_id"], unique=False)
    op.create_table(
        "marking_snapshot_orgs",
        sa.Column("snapshot_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_marking_snapshot_orgs_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["snapshot_id"],
            ["marking_snapshots.id"],
            name=op.f("fk_marking_snapshot_orgs_snapshot_id_marking_snapshots"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("snapshot_id", "organisation_id", name=op.f("pk_marking_snapshot_orgs")),
    )
    op.create_index(
        op.f("ix_marking_snapshot_orgs_organisation_id"), "marking_snapshot_orgs", ["organisation_id"], unique=False
    )
    op.create_table(
        "marking_snapshot_users",
        sa.Column("snapshot_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["snapshot_id"],
            ["marking_snapshots.id"],
            name=op.f("fk_marking_snapshot_users_snapshot_id_marking_snapshots"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_marking_snapshot_users_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("snapshot_id", "user_id", name=op.f("pk_marking_snapshot_users")),
    )
    op.create_index(op.f("ix_marking_snapshot_users_user_id"), "marking_snapshot_users", ["user_id"], unique=False)
    for table in MARKED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("marking_id", sa.Integer(), nullable=True))
            batch_op.create_index(batch_op.f(f"ix_{table}_marking_id"), ["marking_id"], unique=False)
            batch_op.create_foreign_key(
                batch_op.f(f"fk_{table}_marking_id_marking_snapshots"), "marking_snapshots", ["marking_id"], ["id"]
            )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("previous_tlp", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("actor_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_notifications_actor_id_users"), "users", ["actor_id"], ["id"], ondelete="SET NULL"
        )
    _backfill()


def _key(
    tlp: str, le: bool, author: int | None, org: int, cluster: int | None, orgs: list[int], users: list[int]
) -> str:
    # The same canonical form as app.markings.snapshot_key, so later writes reuse these rows.
    recipients = ",".join(map(str, sorted(orgs))) + ";" + ",".join(map(str, sorted(users)))
    return hashlib.sha256(f"{tlp}|{int(le)}|{author}|{org}|{cluster}|{recipients}".encode()).hexdigest()


def _backfill() -> None:
    bind = op.get_bind()
    posts = bind.execute(
        sa.text("SELECT id, tlp, law_enforcement_only, author_id, author_org_id, cluster_id FROM posts")
    ).all()
    if not posts:
        return
    orgs: dict[int, list[int]] = {}
    for post_id, org_id in bind.execute(sa.text("SELECT post_id, organisation_id FROM post_recipient_orgs")):
        orgs.setdefault(post_id, []).append(org_id)
    users: dict[int, list[int]] = {}
    for post_id, user_id in bind.execute(sa.text("SELECT post_id, user_id FROM post_recipient_users")):
        users.setdefault(post_id, []).append(user_id)
    made: dict[str, int] = {}
    now = datetime.now(UTC)

    def snapshot(tlp: str, le: bool, post: sa.Row) -> int:
        o, u = orgs.get(post.id, []), users.get(post.id, [])
        key = _key(tlp, bool(le), post.author_id, post.author_org_id, post.cluster_id, o, u)
        if key not in made:
            made[key] = bind.execute(
                sa.text(
                    "INSERT INTO marking_snapshots (key, cluster_id, created_at, tlp, law_enforcement_only,"
                    " author_id, author_org_id) VALUES (:key, :cluster, :now, :tlp, :le, :author, :org) RETURNING id"
                ),
                {
                    "key": key,
                    "cluster": post.cluster_id,
                    "now": now,
                    "tlp": tlp,
                    "le": bool(le),
                    "author": post.author_id,
                    "org": post.author_org_id,
                },
            ).scalar_one()
            for org_id in o:
                bind.execute(
                    sa.text("INSERT INTO marking_snapshot_orgs (snapshot_id, organisation_id) VALUES (:s, :o)"),
                    {"s": made[key], "o": org_id},
                )
            for user_id in u:
                bind.execute(
                    sa.text("INSERT INTO marking_snapshot_users (snapshot_id, user_id) VALUES (:s, :u)"),
                    {"s": made[key], "u": user_id},
                )
        return made[key]

    for post in posts:
        current = snapshot(post.tlp, post.law_enforcement_only, post)
        for table in ("comments", "post_attachments"):
            bind.execute(
                sa.text(f"UPDATE {table} SET marking_id = :m WHERE post_id = :p"),  # noqa: S608
                {"m": current, "p": post.id},
            )
        versions = bind.execute(
            sa.text("SELECT id, tlp, law_enforcement_only FROM post_versions WHERE post_id = :p"), {"p": post.id}
        ).all()
        for version_id, tlp, le in versions:
            bind.execute(
                sa.text("UPDATE post_versions SET marking_id = :m WHERE id = :v"),
                {"m": snapshot(tlp, le, post), "v": version_id},
            )


def downgrade() -> None:
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_notifications_actor_id_users"), type_="foreignkey")
        batch_op.drop_column("actor_id")
        batch_op.drop_column("previous_tlp")
    for table in MARKED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f(f"fk_{table}_marking_id_marking_snapshots"), type_="foreignkey")
            batch_op.drop_index(batch_op.f(f"ix_{table}_marking_id"))
            batch_op.drop_column("marking_id")
    op.drop_index(op.f("ix_marking_snapshot_users_user_id"), table_name="marking_snapshot_users")
    op.drop_table("marking_snapshot_users")
    op.drop_index(op.f("ix_marking_snapshot_orgs_organisation_id"), table_name="marking_snapshot_orgs")
    op.drop_table("marking_snapshot_orgs")
    op.drop_index(op.f("ix_marking_snapshots_author_id"), table_name="marking_snapshots")
    op.drop_table("marking_snapshots")
