"""Reads for cluster pages and the API; every query filters with the policy's expressions."""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import defer, lazyload, selectinload

from app.auth.models import User, UserStatus
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
)
from app.directory.models import Organisation
from app.extensions import db
from app.files.services import FileMeta, FileUnavailable, file_meta
from app.htmlcache.lru import LruCache
from app.markings import Tlp
from app.notifications.models import DeliveryMode, Subscription
from app.pagination import COUNT_CAP, Page, capped_count
from app.policy import (
    is_active_user,
    viewer_key,
    visible_attachments,
    visible_clusters,
    visible_comments,
    visible_post_versions,
    visible_posts,
)

_Built = TypeVar("_Built")

#: Statements built for a viewer and a shape of query. SQLAlchemy keeps a statement's cache key on
#: the statement, so running the same object again builds neither the policy's expression nor its
#: key: a fifth of a feed page's CPU time (py-spy under bench/load.py). They hold bound values
#: only (the viewer's ids, the filters), nothing of a request.
_statements: LruCache[Any] = LruCache(4096)


def built(key: tuple[Any, ...] | None, build: Callable[[], _Built]) -> _Built:
    """``build()``, kept under ``key`` (None: not kept); ``key`` names everything it depends on."""
    return build() if key is None else _statements.get(key, build)


#: Counts stop here: "more than 1,000" is as useful to a reader as the exact figure, and a
#: bounded count keeps a feed page's cost flat however many posts exist.
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


def _facts_columns(user: Any, cluster_id: Any) -> list[sa.Label[Any]]:
    """The reader's role in the cluster, its member count and how the reader follows it, as
    scalar subqueries: one statement rather than three round trips."""
    user_id = user.id if is_active_user(user) else None
    role = sa.select(ClusterMembership.role).where(
        ClusterMembership.user_id == user_id, ClusterMembership.cluster_id == cluster_id
    )
    members = (
        sa.select(sa.func.count()).select_from(ClusterMembership).where(ClusterMembership.cluster_id == cluster_id)
    )
    following = sa.select(Subscription.mode).where(
        Subscription.user_id == user_id, Subscription.cluster_id == cluster_id
    )
    return [
        role.scalar_subquery().label("role"),
        members.scalar_subquery().label("members"),
        following.scalar_subquery().label("following"),
    ]


def _facts(row: Any) -> ClusterFacts:
    return ClusterFacts(role=row.role, members=row.members or 0, following=row.following)


def cluster_page(user: Any, slug: str) -> tuple[Cluster, ClusterFacts] | None:
    """A visible cluster by slug with its ``ClusterFacts``, in one statement (None: no such cluster)."""
    stmt = built(
        ("cluster_page", viewer_key(user), slug),
        lambda: sa.select(Cluster, *_facts_columns(user, Cluster.id)).where(
            Cluster.slug == slug, visible_clusters(user)
        ),
    )
    row = db.session.execute(stmt).one_or_none()
    return None if row is None else (row.Cluster, _facts(row))


@dataclass
class PostFilter:
    cluster_id: int | None = None
    type: PostType | None = None
    tlp: Tlp | None = None
    tag: str | None = None
    author_org_id: int | None = None
    since: datetime | None = None
    ids: list[int] | None = None


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


def with_details(stmt: sa.Select[Any]) -> sa.Select[Any]:
    """Load what a post card shows in a fixed number of queries, whatever the page size."""
    return stmt.options(
        selectinload(Post.incident).selectinload(IncidentDetails.containers),
        selectinload(Post.recipient_orgs),
        selectinload(Post.recipient_users),
    )


def as_cards(stmt: sa.Select[Any]) -> sa.Select[Any]:
    """Load what a post card in a list shows (``pax.post_item``) in one query: no author account,
    no Markdown source, nothing of the post's details (``Post.tag_names`` needs no query)."""
    return stmt.options(lazyload(Post.author), defer(Post.body), defer(Post.body_text))


def feed(user: Any, filters: PostFilter, page: int = 1, per_page: int = 20, details: bool = False) -> Page:
    """Visible posts, newest first: whole posts with ``details`` (the API), else ``PostCard``s."""
    page = max(1, page)
    offset = (page - 1) * per_page
    shape = _filters_shape(filters)
    key = None if shape is None else ("feed", viewer_key(user), shape, offset, per_page, details, COUNT_CAP)
    ordered, stmt = built(key, lambda: _feed_statements(user, filters, offset, per_page, details))
    rows = db.session.execute(stmt).all()
    if rows:
        total, capped = min(rows[0].n, COUNT_CAP), rows[0].n > COUNT_CAP
    else:
        total, capped = capped_count(ordered, COUNT_CAP)
    ids = [row.id for row in rows]
    items: list[Any] = posts_by_ids(ids, details=True) if details else _cards(rows)
    return Page(items=items, page=page, per_page=per_page, total=total, total_capped=capped)


def _feed_statements(
    user: Any, filters: PostFilter, offset: int, per_page: int, details: bool
) -> tuple[sa.Select[Any], sa.Select[Any]]:
    """The visible posts in order, and the statement that reads one page of them."""
    ordered = filtered_ids(user, filters).order_by(Post.id.desc())
    # One statement gives the page's ids and the capped count: the window counts the newest
    # COUNT_CAP + 1 (or, further on, as many as reach this page) before the page is cut.
    window = ordered.limit(max(COUNT_CAP + 1, offset + per_page)).subquery()
    cut = (
        sa.select(window.c.id, sa.func.count().over().label("n"))
        .order_by(window.c.id.desc())
        .limit(per_page)
        .offset(offset)
    )
    if details:
        return ordered, cut
    # The same statement brings what identifies each card, so rendered cards need no post.
    chosen = cut.subquery()
    with_cards = sa.select(chosen.c.n, *CARD_COLUMNS).select_from(chosen).join(Post, Post.id == chosen.c.id)
    return ordered, _with_card_joins(with_cards).order_by(Post.id.desc())


def _filters_shape(filters: PostFilter) -> tuple[Any, ...] | None:
    """``filters`` as a key for ``built``; None for the filters whose values vary per visit
    (a dashboard's "since", a list of ids), whose statements are not worth keeping."""
    if filters.since is not None or filters.ids is not None:
        return None
    # Every field, so a filter added later is part of the key without anyone remembering to.
    return tuple(getattr(filters, f.name) for f in dataclasses.fields(filters))


def posts_by_ids(ids: list[int], details: bool = False) -> list[Post]:
    """Posts for ids already filtered by visibility, in the given order: whole with ``details``,
    else as cards."""
    if not ids:
        return []
    stmt = sa.select(Post).where(Post.id.in_(ids))
    rows = {p.id: p for p in db.session.scalars(with_details(stmt) if details else as_cards(stmt))}
    return [rows[i] for i in ids if i in rows]


#: What a rendered card (``pax.post_item`` via app/htmlcache/fragments.py) depends on: the post's identity,
#: version and timestamps (an edit bumps them) and every related value the card prints, each as
#: its path on a loaded post and the column a list query reads it from.
_CARD_FIELDS = (
    ("id", Post.id),
    ("version", Post.version),
    ("created_at", Post.created_at),
    ("updated_at", Post.updated_at),
    ("author_org_id", Post.author_org_id),
    ("author_org.name", Organisation.name.label("author_org_name")),
    ("cluster_id", Post.cluster_id),
    ("cluster.slug", Cluster.slug.label("cluster_slug")),
    ("cluster.name", Cluster.name.label("cluster_name")),
)
CARD_COLUMNS = tuple(column for _path, column in _CARD_FIELDS)
#: ``CARD_COLUMNS`` of a loaded post, in the same order.
card_identity: Callable[[Post], tuple[Any, ...]] = operator.attrgetter(*(path for path, _column in _CARD_FIELDS))


def _with_card_joins(stmt: sa.Select[Any]) -> sa.Select[Any]:
    return stmt.join(Organisation, Organisation.id == Post.author_org_id).join(Cluster, Cluster.id == Post.cluster_id)


class _CardPosts:
    """The posts behind one list's cards, loaded together the first time any card needs its post."""

    def __init__(self, ids: list[int]) -> None:
        self.ids = ids
        self._posts: dict[int, Post] | None = None

    def get(self, post_id: int) -> Post | None:
        if self._posts is None:
            self._posts = {post.id: post for post in posts_by_ids(self.ids)}
        return self._posts.get(post_id)


@dataclass(frozen=True, eq=False)
class PostCard:
    """A post in a list, as far as its card needs: ``identity`` (``CARD_COLUMNS``) finds a card
    rendered before; the post itself is loaded, with the list's others, only when one is not."""

    id: int
    identity: tuple[Any, ...]
    _posts: _CardPosts

    @property
    def post(self) -> Post | None:
        """None when the post went between the list's query and this one (deleted meanwhile)."""
        return self._posts.get(self.id)


def _cards(rows: Any) -> list[PostCard]:
    rows = list(rows)
    posts = _CardPosts([row.id for row in rows])
    return [PostCard(row.id, tuple(row)[-len(CARD_COLUMNS) :], posts) for row in rows]


def post_cards(ids: list[int]) -> list[PostCard]:
    """Cards for ids already filtered by visibility, in the given order."""
    if not ids:
        return []
    stmt = _with_card_joins(sa.select(*CARD_COLUMNS).select_from(Post)).where(Post.id.in_(ids))
    found = {row.id: row for row in db.session.execute(stmt)}
    return _cards(found[i] for i in ids if i in found)


def count_visible(user: Any, filters: PostFilter) -> tuple[int, bool]:
    return capped_count(filtered_ids(user, filters))


@dataclass(frozen=True)
class HistoryRow:
    number: int
    #: None: an earlier version ``user`` may not see (its marking then did not admit them).
    version: PostVersion | None


def post_history(user: Any, post: Post) -> list[HistoryRow]:
    """Every earlier version of a post ``user`` may see, newest first; each version shows only to
    those who may see the post now and whom the marking it was written under admitted
    (``policy.visible_post_versions``). The others are there by number only."""
    stmt = built(
        ("history", viewer_key(user)),
        lambda: (
            sa.select(PostVersion, visible_post_versions(user).label("visible"))
            .where(PostVersion.post_id == sa.bindparam("post_id"))
            .order_by(PostVersion.version.desc())
        ),
    )
    rows = db.session.execute(stmt, {"post_id": post.id})
    return [HistoryRow(v.version, v if visible else None) for v, visible in rows]


def post_comments(user: Any, post: Post) -> list[Comment]:
    """The comments of a visible post that ``user`` may see (``policy.visible_comments``), oldest first."""
    # Kept per reader: the visibility expression is large, and a kept statement keeps its cache key.
    stmt = built(
        ("comments", viewer_key(user)),
        lambda: (
            sa.select(Comment)
            .where(Comment.post_id == sa.bindparam("post_id"), visible_comments(user))
            .order_by(Comment.created_at, Comment.id)
        ),
    )
    return list(db.session.scalars(stmt, {"post_id": post.id}))


#: Tag suggestions come from this many of the newest visible posts, so they cost the same at any size.
TAG_SAMPLE = 500


def cluster_tags(user: Any, cluster_id: int | None = None, limit: int = 30) -> list[str]:
    """The most used tags among the newest posts the user may see."""

    def build() -> sa.Select[Any]:
        recent = filtered_ids(user, PostFilter(cluster_id=cluster_id)).order_by(Post.id.desc()).limit(TAG_SAMPLE)
        sample = recent.subquery()
        return (
            sa.select(PostTag.tag, sa.func.count().label("n"))
            .join(sample, sample.c.id == PostTag.post_id)
            .group_by(PostTag.tag)
            .order_by(sa.desc("n"), PostTag.tag)
            .limit(limit)
        )

    stmt = built(("tags", viewer_key(user), cluster_id, limit, TAG_SAMPLE), build)
    return [tag for tag, _n in db.session.execute(stmt)]


@dataclass(frozen=True)
class AttachmentRow:
    attachment: Attachment
    #: None when the file's key does not open (shown as unavailable, the page still renders).
    meta: FileMeta | None


def attachment_lists(user: Any, posts: list[Post]) -> dict[int, list[AttachmentRow]]:
    """The attachments of visible ``posts`` that ``user`` may see (``visible_attachments``:
    released files, and their own still waiting for a malware scan), with their decrypted names
    and types, by post id; one query for all the posts."""
    found: dict[int, list[AttachmentRow]] = {post.id: [] for post in posts}
    # Most posts have no files: their (loaded or cheaply loaded) collections spare the query.
    if not any(post.attachments for post in posts):
        return found
    stmt = built(
        ("attachments", viewer_key(user)),
        lambda: (
            sa.select(Attachment)
            .join(Post, Post.id == Attachment.post_id)
            .where(Attachment.post_id.in_(sa.bindparam("post_ids", expanding=True)))
            .where(visible_attachments(user, own_pending=True))
            .order_by(Attachment.id)
        ),
    )
    attachments = db.session.scalars(stmt, {"post_ids": list(found)})
    for attachment in attachments:
        try:
            meta: FileMeta | None = file_meta(attachment.file)
        except FileUnavailable:
            meta = None
        found[attachment.post_id].append(AttachmentRow(attachment, meta))
    return found


def attachment_list(user: Any, post: Post) -> list[AttachmentRow]:
    """``attachment_lists`` of one post."""
    return attachment_lists(user, [post])[post.id]


def cluster_members(cluster: Cluster) -> list[ClusterMembership]:
    """The cluster's members with their role and who granted it when, by organisation and name.
    Every active member may see who belongs to a cluster (``view_cluster``); no content is read."""
    return list(
        db.session.scalars(
            sa.select(ClusterMembership)
            .join(User, User.id == ClusterMembership.user_id)
            .join(Organisation, Organisation.id == User.organisation_id)
            .where(ClusterMembership.cluster_id == cluster.id, User.status == UserStatus.ACTIVE)
            .options(selectinload(ClusterMembership.user).joinedload(User.organisation))
            .order_by(Organisation.name, User.name)
        )
    )
