"""What is new to a member: posts they may see, written by others, that they have not opened,
younger than their "mark all read" (or, before they ever used it, than ``NEW_WINDOW``).

Opening a post marks it read (``PostRead``); "mark all read" moves ``User.read_all_before``. So the
dashboard keeps a post until its reader has read it, however often the page is reloaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from app.clusters.models import Post, PostRead
from app.clusters.queries import PostCard, PostFilter, filtered_ids, post_cards
from app.db import utcnow
from app.extensions import db
from app.pagination import capped_count
from app.policy import is_active_user, member_cluster_ids

#: Before a member first marks everything read, posts older than this are not new to them.
NEW_WINDOW = timedelta(days=14)
#: How many unread posts the dashboard lists; the count says how many more there are.
NEW_POSTS_SHOWN = 10


def _since(user: Any) -> datetime:
    return user.read_all_before or utcnow() - NEW_WINDOW


def _unread(user: Any) -> sa.ColumnElement[bool]:
    """Posts (not their visibility: callers filter with the policy) that are new to ``user``."""
    opened = sa.select(PostRead.post_id).where(PostRead.user_id == user.id, PostRead.post_id == Post.id).exists()
    return sa.and_(
        Post.created_at > _since(user),
        sa.or_(Post.author_id.is_(None), Post.author_id != user.id),
        ~opened,
    )


@dataclass
class UnreadPosts:
    posts: list[PostCard]
    total: int
    capped: bool
    #: Whether the member has ever marked everything read (else: the last ``NEW_WINDOW``).
    marked_before: datetime | None


def unread_in_my_clusters(user: Any) -> UnreadPosts:
    """Unread posts the user may see in the clusters they belong to, newest first; filtered in SQL
    by the policy, through the same base query as every feed."""
    clusters = member_cluster_ids(user)
    if not clusters:
        return UnreadPosts([], 0, False, user.read_all_before)
    stmt = filtered_ids(user, PostFilter()).where(Post.cluster_id.in_(clusters), _unread(user))
    total, capped = capped_count(stmt)
    ids = list(db.session.scalars(stmt.order_by(Post.id.desc()).limit(NEW_POSTS_SHOWN)))
    return UnreadPosts(post_cards(ids), total, capped, user.read_all_before)


def unread_ids(user: Any, post_ids: list[int]) -> set[int]:
    """Which of ``post_ids`` (posts of a page the user sees) are unread."""
    if not post_ids or not is_active_user(user):
        return set()
    # Only the primary key in WHERE, the rest decided here: with the date range in SQL, SQLite
    # walked the created_at index over every recent post (a 100,000-post feed took twice as long).
    opened = sa.select(PostRead.post_id).where(PostRead.user_id == user.id, PostRead.post_id == Post.id).exists()
    rows = db.session.execute(sa.select(Post.id, Post.created_at, Post.author_id, opened).where(Post.id.in_(post_ids)))
    since = _since(user)
    return {
        post_id
        for post_id, created_at, author_id, was_opened in rows
        if created_at > since and author_id != user.id and not was_opened
    }


def mark_read(user: Any, post: Post) -> None:
    """``user`` opened ``post``: it is no longer new to them. Writes only the first time, and
    only for a post that was new."""
    if not is_active_user(user) or post.author_id == user.id or post.created_at <= _since(user):
        return
    if db.session.get(PostRead, (user.id, post.id)) is not None:
        return
    try:
        with db.session.begin_nested():
            db.session.add(PostRead(user_id=user.id, post_id=post.id))
    except sa.exc.IntegrityError:
        pass  # the same member's other tab marked it a moment ago


def mark_all_read(user: Any) -> None:
    """Everything written until now is read; the single reads before it are no longer needed."""
    user.read_all_before = utcnow()
    db.session.execute(sa.delete(PostRead).where(PostRead.user_id == user.id))
    db.session.flush()
