"""Reads for cluster pages and the API; every query filters with the policy's expressions."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import defer, lazyload, selectinload

from app.clusters.models import (
    Attachment,
    Cluster,
    ClusterMembership,
    Comment,
    IncidentDetails,
    MembershipRole,
    Post,
    PostTag,
    PostType,
    PostVersion,
    Tlp,
)
from app.extensions import db
from app.files.services import FileMeta, FileUnavailable, file_meta
from app.notifications.models import DeliveryMode, Subscription
from app.policy import is_active_user, visible_clusters, visible_comments, visible_posts

#: Counts stop here: "more than 1,000" is as useful to a reader as the exact figure, and a
#: bounded count keeps a feed page's cost flat however many posts exist.
COUNT_CAP = 1000


def clusters_with_membership(user: Any) -> list[tuple[Cluster, MembershipRole | None]]:
    """Visible clusters in workplan order, each with the user's membership role (or None)."""
    user_id = getattr(user, "id", None)
    stmt = (
        sa.select(Cluster, ClusterMembership.role)
        .outerjoin(
            ClusterMembership,
            sa.and_(ClusterMembership.cluster_id == Cluster.id, ClusterMembership.user_id == user_id),
        )
        .where(visible_clusters(user))
        .order_by(Cluster.position)
    )
    return [(cluster, role) for cluster, role in db.session.execute(stmt).all()]


@dataclass(frozen=True)
class ClusterFacts:
    """What a cluster page says about the cluster and the reader."""

    role: MembershipRole | None
    members: int
    following: DeliveryMode | None


def cluster_facts(user: Any, cluster: Cluster) -> ClusterFacts:
    """The reader's role in ``cluster``, its member count and how the reader follows it, in one
    statement (three scalar subqueries) rather than three round trips."""
    user_id = user.id if is_active_user(user) else None
    role = sa.select(ClusterMembership.role).where(
        ClusterMembership.user_id == user_id, ClusterMembership.cluster_id == cluster.id
    )
    members = (
        sa.select(sa.func.count()).select_from(ClusterMembership).where(ClusterMembership.cluster_id == cluster.id)
    )
    following = sa.select(Subscription.mode).where(
        Subscription.user_id == user_id, Subscription.cluster_id == cluster.id
    )
    row = db.session.execute(
        sa.select(
            role.scalar_subquery().label("role"),
            members.scalar_subquery().label("members"),
            following.scalar_subquery().label("following"),
        )
    ).one()
    return ClusterFacts(role=row.role, members=row.members or 0, following=row.following)


@dataclass
class PostFilter:
    cluster_id: int | None = None
    type: PostType | None = None
    tlp: Tlp | None = None
    tag: str | None = None
    author_org_id: int | None = None
    since: datetime | None = None
    ids: list[int] | None = None


@dataclass
class Page:
    items: list[Any]
    page: int
    per_page: int
    total: int
    #: True when ``total`` stopped at the cap and there are more.
    total_capped: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def first(self) -> int:
        """1-based position of the page's first item (0 when empty)."""
        return (self.page - 1) * self.per_page + 1 if self.items else 0

    @property
    def last(self) -> int:
        return (self.page - 1) * self.per_page + len(self.items)

    @property
    def has_next(self) -> bool:
        return self.page < self.pages or (self.total_capped and self.page * self.per_page < self.total + 1)


def filtered_ids(user: Any, filters: PostFilter) -> sa.Select[Any]:
    stmt = sa.select(Post.id).where(visible_posts(user))
    if filters.cluster_id is not None:
        stmt = stmt.where(Post.cluster_id == filters.cluster_id)
    if filters.type is not None:
        stmt = stmt.where(Post.type == filters.type)
    if filters.tlp is not None:
        stmt = stmt.where(Post.tlp == filters.tlp)
    if filters.tag:
        stmt = stmt.where(
            sa.select(PostTag.post_id).where(PostTag.post_id == Post.id, PostTag.tag == filters.tag).exists()
        )
    if filters.author_org_id is not None:
        stmt = stmt.where(Post.author_org_id == filters.author_org_id)
    if filters.since is not None:
        stmt = stmt.where(Post.created_at > filters.since)
    if filters.ids is not None:
        stmt = stmt.where(Post.id.in_(filters.ids))
    return stmt


def capped_count(stmt: sa.Select[Any], cap: int = COUNT_CAP) -> tuple[int, bool]:
    """How many rows ``stmt`` yields, counting at most ``cap + 1``."""
    n = db.session.scalar(sa.select(sa.func.count()).select_from(stmt.limit(cap + 1).subquery())) or 0
    return min(n, cap), n > cap


def with_details(stmt: sa.Select[Any]) -> sa.Select[Any]:
    """Load what a post card shows in a fixed number of queries, whatever the page size."""
    return stmt.options(
        selectinload(Post.incident).selectinload(IncidentDetails.containers),
        selectinload(Post.recipient_orgs),
        selectinload(Post.recipient_users),
        selectinload(Post.attachments),
    )


def as_cards(stmt: sa.Select[Any]) -> sa.Select[Any]:
    """Load what a post card in a list shows (``pax.post_item``) in one query: no author account,
    no Markdown source, nothing of the post's details (``Post.tag_names`` needs no query)."""
    return stmt.options(lazyload(Post.author), defer(Post.body), defer(Post.body_text))


def feed(user: Any, filters: PostFilter, page: int = 1, per_page: int = 20, details: bool = False) -> Page:
    """Visible posts, newest first; ``details`` loads all of each post (the API), else cards."""
    page = max(1, page)
    offset = (page - 1) * per_page
    ordered = filtered_ids(user, filters).order_by(Post.id.desc())
    # One statement gives the page's ids and the capped count: the window counts the newest
    # COUNT_CAP + 1 (or, further on, as many as reach this page) before the page is cut.
    window = ordered.limit(max(COUNT_CAP + 1, offset + per_page)).subquery()
    rows = db.session.execute(
        sa.select(window.c.id, sa.func.count().over().label("n"))
        .order_by(window.c.id.desc())
        .limit(per_page)
        .offset(offset)
    ).all()
    if rows:
        total, capped = min(rows[0].n, COUNT_CAP), rows[0].n > COUNT_CAP
    else:
        total, capped = capped_count(ordered, COUNT_CAP)
    ids = [row.id for row in rows]
    items = posts_by_ids(ids, details=details)
    return Page(items=items, page=page, per_page=per_page, total=total, total_capped=capped)


def posts_by_ids(ids: list[int], details: bool = False) -> list[Post]:
    """Posts for ids already filtered by visibility, in the given order: whole with ``details``,
    else as cards."""
    if not ids:
        return []
    stmt = sa.select(Post).where(Post.id.in_(ids))
    rows = {p.id: p for p in db.session.scalars(with_details(stmt) if details else as_cards(stmt))}
    return [rows[i] for i in ids if i in rows]


def count_visible(user: Any, filters: PostFilter) -> tuple[int, bool]:
    return capped_count(filtered_ids(user, filters))


def post_history(post: Post) -> list[PostVersion]:
    return list(
        db.session.scalars(
            sa.select(PostVersion).where(PostVersion.post_id == post.id).order_by(PostVersion.version.desc())
        )
    )


def post_comments(user: Any, post: Post) -> list[Comment]:
    return list(
        db.session.scalars(
            sa.select(Comment)
            .where(Comment.post_id == post.id, visible_comments(user))
            .order_by(Comment.created_at, Comment.id)
        )
    )


#: Tag suggestions come from this many of the newest visible posts, so they cost the same at any size.
TAG_SAMPLE = 500


def cluster_tags(user: Any, cluster_id: int | None = None, limit: int = 30) -> list[str]:
    """The most used tags among the newest posts the user may see."""
    recent = filtered_ids(user, PostFilter(cluster_id=cluster_id)).order_by(Post.id.desc()).limit(TAG_SAMPLE).subquery()
    stmt = (
        sa.select(PostTag.tag, sa.func.count().label("n"))
        .join(recent, recent.c.id == PostTag.post_id)
        .group_by(PostTag.tag)
        .order_by(sa.desc("n"), PostTag.tag)
        .limit(limit)
    )
    return [tag for tag, _n in db.session.execute(stmt)]


@dataclass(frozen=True)
class AttachmentRow:
    attachment: Attachment
    #: None when the file's key does not open (shown as unavailable, the page still renders).
    meta: FileMeta | None


def attachment_list(post: Post) -> list[AttachmentRow]:
    """A visible post's attachments with their decrypted names and types."""
    rows = []
    for attachment in post.attachments:
        try:
            meta: FileMeta | None = file_meta(attachment.file)
        except FileUnavailable:
            meta = None
        rows.append(AttachmentRow(attachment, meta))
    return rows
