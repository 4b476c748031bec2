"""TAXII 2.1 exchange

Revision ID: 5a0c1d2e3f19
Revises: 5a0c1d2e3f18
Create Date: 2026-12-06 01:30:00
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5a0c1d2e3f19"
down_revision: str | None = "5a0c1d2e3f18"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As app.taxii.ids at this revision: a post's STIX ids, by post id and role only.
_NAMESPACE = uuid.UUID("0d6c8b9e-3f1a-5c4e-9a7b-5e2d1f0c8a34")
_ROLES = ("note", "location", "containers", "vessel", "report")


def upgrade() -> None:
    op.create_table(
        "stix_object_ids",
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["post_id"], ["posts.id"], name=op.f("fk_stix_object_ids_post_id_posts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("uuid", name=op.f("pk_stix_object_ids")),
    )
    with op.batch_alter_table("stix_object_ids", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stix_object_ids_post_id"), ["post_id"], unique=False)
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_posts_cluster_id_updated_at_id"), ["cluster_id", "updated_at", "id"], unique=False
        )
    # The posts already shared get their ids too.
    ids = sa.table("stix_object_ids", sa.column("uuid", sa.String), sa.column("post_id", sa.Integer))
    connection = op.get_bind()
    post_ids = [row[0] for row in connection.execute(sa.text("SELECT id FROM posts ORDER BY id"))]
    for start in range(0, len(post_ids), 2000):
        rows = [
            {"uuid": str(uuid.uuid5(_NAMESPACE, f"post/{post_id}/{role}")), "post_id": post_id}
            for post_id in post_ids[start : start + 2000]
            for role in _ROLES
        ]
        connection.execute(ids.insert(), rows)


def downgrade() -> None:
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_posts_cluster_id_updated_at_id"))
    with op.batch_alter_table("stix_object_ids", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stix_object_ids_post_id"))
    op.drop_table("stix_object_ids")
