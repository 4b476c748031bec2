"""content: posts, incident notes, versions, comments, search

Revision ID: ecb74811afac
Revises: e4d213995721
Create Date: 2026-11-22 17:06:17.697035
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "ecb74811afac"
down_revision: str | None = "e4d213995721"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "workplan_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cluster_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "planned",
                "in_progress",
                "delivered",
                "delayed",
                "cancelled",
                name="item_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["cluster_id"], ["clusters.id"], name=op.f("fk_workplan_items_cluster_id_clusters")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workplan_items")),
    )
    with op.batch_alter_table("workplan_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_workplan_items_cluster_id"), ["cluster_id"], unique=False)

    op.create_table(
        "posts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "type",
            sa.Enum(
                "best_practice",
                "incident_note",
                "deliverable",
                name="post_type",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("cluster_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=False),
        sa.Column("body_text", sa.Text(), nullable=False),
        sa.Column(
            "tlp",
            sa.Enum(
                "CLEAR",
                "GREEN",
                "AMBER",
                "AMBER+STRICT",
                "RED",
                name="tlp",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("law_enforcement_only", sa.Boolean(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("author_org_id", sa.Integer(), nullable=False),
        sa.Column("workplan_item_id", sa.Integer(), nullable=True),
        sa.Column("tags_text", sa.String(length=1000), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_posts_author_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["author_org_id"], ["organisations.id"], name=op.f("fk_posts_author_org_id_organisations")
        ),
        sa.ForeignKeyConstraint(["cluster_id"], ["clusters.id"], name=op.f("fk_posts_cluster_id_clusters")),
        sa.ForeignKeyConstraint(
            ["workplan_item_id"], ["workplan_items.id"], name=op.f("fk_posts_workplan_item_id_workplan_items")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_posts")),
    )
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_posts_author_id"), ["author_id"], unique=False)
        batch_op.create_index("ix_posts_author_org_id_id", ["author_org_id", "id"], unique=False)
        batch_op.create_index("ix_posts_cluster_id_id", ["cluster_id", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_posts_workplan_item_id"), ["workplan_item_id"], unique=False)

    op.create_table(
        "comments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_comments_author_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(["post_id"], ["posts.id"], name=op.f("fk_comments_post_id_posts"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_comments")),
    )
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_comments_post_id"), ["post_id"], unique=False)

    op.create_table(
        "incident_details",
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("port_locode", sa.String(length=5), nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column(
            "modus_operandi",
            sa.Enum(
                "rip_on_rip_off",
                "container_cloning",
                "pin_code_fraud",
                "insider_corruption",
                "extraction_team",
                "concealment_in_cargo",
                "cyber_intrusion",
                "drone",
                "other",
                name="modus_operandi",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "substance",
            sa.Enum(
                "cocaine",
                "cannabis",
                "heroin",
                "synthetic_drugs",
                "precursors",
                "other",
                "none",
                name="substance",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("quantity_kg", sa.Numeric(precision=12, scale=3), nullable=True),
        sa.Column("vessel_imo", sa.String(length=7), nullable=True),
        sa.ForeignKeyConstraint(
            ["post_id"], ["posts.id"], name=op.f("fk_incident_details_post_id_posts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("post_id", name=op.f("pk_incident_details")),
    )
    with op.batch_alter_table("incident_details", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_incident_details_port_locode"), ["port_locode"], unique=False)

    op.create_table(
        "post_recipient_orgs",
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_post_recipient_orgs_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["post_id"], ["posts.id"], name=op.f("fk_post_recipient_orgs_post_id_posts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("post_id", "organisation_id", name=op.f("pk_post_recipient_orgs")),
    )
    with op.batch_alter_table("post_recipient_orgs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_post_recipient_orgs_organisation_id"), ["organisation_id"], unique=False)

    op.create_table(
        "post_recipient_users",
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["post_id"], ["posts.id"], name=op.f("fk_post_recipient_users_post_id_posts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_post_recipient_users_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("post_id", "user_id", name=op.f("pk_post_recipient_users")),
    )
    with op.batch_alter_table("post_recipient_users", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_post_recipient_users_user_id"), ["user_id"], unique=False)

    op.create_table(
        "post_tags",
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(["post_id"], ["posts.id"], name=op.f("fk_post_tags_post_id_posts"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("post_id", "tag", name=op.f("pk_post_tags")),
    )
    with op.batch_alter_table("post_tags", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_post_tags_tag"), ["tag"], unique=False)

    op.create_table(
        "post_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column(
            "tlp",
            sa.Enum(
                "CLEAR",
                "GREEN",
                "AMBER",
                "AMBER+STRICT",
                "RED",
                name="tlp",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("law_enforcement_only", sa.Boolean(), nullable=False),
        sa.Column("tags_text", sa.String(length=1000), nullable=False),
        sa.Column("replaced_by_id", sa.Integer(), nullable=True),
        sa.Column("replaced_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("written_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["post_id"], ["posts.id"], name=op.f("fk_post_versions_post_id_posts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["replaced_by_id"], ["users.id"], name=op.f("fk_post_versions_replaced_by_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_post_versions")),
        sa.UniqueConstraint("post_id", "version", name=op.f("uq_post_versions_post_id_version")),
    )
    with op.batch_alter_table("post_versions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_post_versions_post_id"), ["post_id"], unique=False)

    op.create_table(
        "incident_containers",
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=11), nullable=False),
        sa.ForeignKeyConstraint(
            ["post_id"],
            ["incident_details.post_id"],
            name=op.f("fk_incident_containers_post_id_incident_details"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("post_id", "position", name=op.f("pk_incident_containers")),
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dashboard_seen_at", sa.DateTime(timezone=True), nullable=True))
    create_search()


def downgrade() -> None:
    drop_search()
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("dashboard_seen_at")
    op.drop_table("incident_containers")
    with op.batch_alter_table("post_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_post_versions_post_id"))

    op.drop_table("post_versions")
    with op.batch_alter_table("post_tags", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_post_tags_tag"))

    op.drop_table("post_tags")
    with op.batch_alter_table("post_recipient_users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_post_recipient_users_user_id"))

    op.drop_table("post_recipient_users")
    with op.batch_alter_table("post_recipient_orgs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_post_recipient_orgs_organisation_id"))

    op.drop_table("post_recipient_orgs")
    with op.batch_alter_table("incident_details", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incident_details_port_locode"))

    op.drop_table("incident_details")
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_comments_post_id"))

    op.drop_table("comments")
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_posts_workplan_item_id"))
        batch_op.drop_index("ix_posts_cluster_id_id")
        batch_op.drop_index("ix_posts_author_org_id_id")
        batch_op.drop_index(batch_op.f("ix_posts_author_id"))

    op.drop_table("posts")
    with op.batch_alter_table("workplan_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_workplan_items_cluster_id"))

    op.drop_table("workplan_items")


# Full-text search over title, tags and body, ranked. SQLite: an FTS5 table mirroring posts,
# kept in step by triggers. PostgreSQL: a generated tsvector column with a GIN index. Both use
# English stemming so "seizures" finds "seizure".

SQLITE_SEARCH = [
    """CREATE VIRTUAL TABLE posts_fts USING fts5(
        title, tags_text, body_text, content='posts', content_rowid='id',
        tokenize='porter unicode61 remove_diacritics 2')""",
    """CREATE TRIGGER posts_fts_ai AFTER INSERT ON posts BEGIN
        INSERT INTO posts_fts(rowid, title, tags_text, body_text) VALUES (new.id, new.title, new.tags_text, new.body_text);
    END""",
    """CREATE TRIGGER posts_fts_ad AFTER DELETE ON posts BEGIN
        INSERT INTO posts_fts(posts_fts, rowid, title, tags_text, body_text)
        VALUES ('delete', old.id, old.title, old.tags_text, old.body_text);
    END""",
    """CREATE TRIGGER posts_fts_au AFTER UPDATE OF title, tags_text, body_text ON posts BEGIN
        INSERT INTO posts_fts(posts_fts, rowid, title, tags_text, body_text)
        VALUES ('delete', old.id, old.title, old.tags_text, old.body_text);
        INSERT INTO posts_fts(rowid, title, tags_text, body_text) VALUES (new.id, new.title, new.tags_text, new.body_text);
    END""",
    "INSERT INTO posts_fts(posts_fts) VALUES ('rebuild')",
]

POSTGRESQL_SEARCH = [
    """ALTER TABLE posts ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', coalesce(title, '')), 'A') ||
        setweight(to_tsvector('english', coalesce(tags_text, '')), 'B') ||
        setweight(to_tsvector('english', coalesce(body_text, '')), 'C')) STORED""",
    "CREATE INDEX ix_posts_search ON posts USING gin (search_vector)",
]


def create_search() -> None:
    dialect = op.get_bind().dialect.name
    for statement in SQLITE_SEARCH if dialect == "sqlite" else POSTGRESQL_SEARCH:
        op.execute(statement)


def drop_search() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("posts_fts_ai", "posts_fts_ad", "posts_fts_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS posts_fts")
    else:
        op.execute("DROP INDEX IF EXISTS ix_posts_search")
        op.execute("ALTER TABLE posts DROP COLUMN IF EXISTS search_vector")
