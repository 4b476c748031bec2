"""Reads for the notification pages: the list, the unread count and the subscriptions.

A notification stores no title. The list reads each target's title again in SQL, outer-joining
the target under the policy's ``visible_*`` expression for the reader, so a reader who may no
longer see an item (its marking tightened, they left the cluster) gets no title and no link.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from app.auth.models import User
from app.clusters.models import Cluster, Post
from app.extensions import db
from app.meetings.models import Meeting
from app.notifications.models import DeliveryMode, Notification, Subscription
from app.notifications.services import KIND_TEXT, target_path
from app.pagination import Page
from app.policy import (
    approvable_users,
    is_active_user,
    visible_clusters,
    visible_meetings,
    visible_posts,
    visible_workplan_items,
)
from app.workplan.models import WorkplanItem


@dataclass(frozen=True)
class NotificationRow:
    notification: Notification
    text: str
    #: The target's title, only when the reader may see the target now.
    title: str | None
    url: str | None
    #: The notification names a target the reader can no longer see (or that is gone).
    hidden: bool
    #: Who made the change (``marking.changed``), when the account still exists.
    actor: str | None = None

    @property
    def unread(self) -> bool:
        return self.notification.read_at is None


def notification_page(user: Any, page: int = 1, per_page: int = 20) -> Page:
    """``user``'s own notifications, newest first, each with its target's title if still visible."""
    page = max(1, page)
    mine = Notification.user_id == user.id
    total = db.session.scalar(sa.select(sa.func.count()).select_from(Notification).where(mine)) or 0
    actor = aliased(User)
    stmt = (
        sa.select(Notification, actor.name, Post.title, Meeting.title, WorkplanItem.title, User.name)
        .select_from(Notification)
        .outerjoin(actor, actor.id == Notification.actor_id)
        .outerjoin(
            Post, sa.and_(Notification.target_type == "post", Post.id == Notification.target_id, visible_posts(user))
        )
        .outerjoin(
            Meeting,
            sa.and_(
                Notification.target_type == "meeting", Meeting.id == Notification.target_id, visible_meetings(user)
            ),
        )
        .outerjoin(
            WorkplanItem,
            sa.and_(
                Notification.target_type == "workplan_item",
                WorkplanItem.id == Notification.target_id,
                visible_workplan_items(user),
            ),
        )
        .outerjoin(
            User, sa.and_(Notification.target_type == "user", User.id == Notification.target_id, approvable_users(user))
        )
        .where(mine)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    rows = []
    for notification, actor_name, *titles in db.session.execute(stmt).all():
        title = next((t for t in titles if t is not None), None)
        has_target = notification.target_type is not None and notification.target_id is not None
        rows.append(
            NotificationRow(
                notification=notification,
                text=str(KIND_TEXT.get(notification.kind, notification.kind)),
                title=title,
                url=target_path(notification.target_type, notification.target_id) if title is not None else None,
                hidden=has_target and title is None,
                actor=actor_name,
            )
        )
    return Page(items=rows, page=page, per_page=per_page, total=total)


def unread_count_of(user_id: Any) -> sa.ScalarSelect[int]:
    """How many notifications of ``user_id`` (a value or a column) are unread: a COUNT on an index."""
    return (
        sa.select(sa.func.count())
        .select_from(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        .scalar_subquery()
    )


def unread_count(user: Any) -> int:
    if not is_active_user(user):
        return 0
    return db.session.scalar(sa.select(unread_count_of(user.id))) or 0


def clusters_with_modes(user: Any) -> list[tuple[Cluster, DeliveryMode | None]]:
    """The clusters in workplan order, each with how ``user`` follows it (None: not at all)."""
    stmt = (
        sa.select(Cluster, Subscription.mode)
        .outerjoin(Subscription, sa.and_(Subscription.cluster_id == Cluster.id, Subscription.user_id == user.id))
        .where(visible_clusters(user))
        .order_by(Cluster.position)
    )
    return [(cluster, mode) for cluster, mode in db.session.execute(stmt).all()]
