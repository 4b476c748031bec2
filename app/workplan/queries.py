"""Reads of the workplan: years, items per cluster, and the deliverables a viewer may see.

The workplan itself is unmarked (every active member reads it); deliverables are posts and go
through ``app.policy.visible_posts`` in SQL like every other read of posts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from app.clusters.models import Cluster, Post, PostType
from app.db import utcnow
from app.extensions import db
from app.meetings.models import Meeting
from app.policy import visible_meetings, visible_posts
from app.workplan.models import Workplan, WorkplanItem, WorkplanItemLead


def today() -> date:
    return utcnow().date()


def years() -> list[int]:
    return list(db.session.scalars(sa.select(Workplan.year).order_by(Workplan.year.desc())))


def workplan_for_year(year: int) -> Workplan | None:
    return db.session.scalar(sa.select(Workplan).where(Workplan.year == year))


def current_workplan() -> Workplan | None:
    """This calendar year's workplan if there is one, else the latest."""
    return workplan_for_year(today().year) or db.session.scalar(
        sa.select(Workplan).order_by(Workplan.year.desc()).limit(1)
    )


def items_of(workplan: Workplan) -> list[WorkplanItem]:
    """The year's items in cluster order, then by due date (undated last), then title."""
    return list(
        db.session.scalars(
            sa.select(WorkplanItem)
            .join(Cluster, Cluster.id == WorkplanItem.cluster_id)
            .where(WorkplanItem.workplan_id == workplan.id)
            .options(selectinload(WorkplanItem.leads).joinedload(WorkplanItemLead.organisation))
            .order_by(Cluster.position, WorkplanItem.due_date.is_(None), WorkplanItem.due_date, WorkplanItem.title)
        ).unique()
    )


@dataclass
class ClusterSection:
    cluster: Cluster
    items: list[WorkplanItem] = field(default_factory=list)


def by_cluster(items: list[WorkplanItem]) -> list[ClusterSection]:
    """Every cluster in workplan order, each with its items (possibly none)."""
    sections = [ClusterSection(c) for c in db.session.scalars(sa.select(Cluster).order_by(Cluster.position))]
    index = {s.cluster.id: s for s in sections}
    for item in items:
        index[item.cluster_id].items.append(item)
    return sections


def deliverable_counts(user: Any, workplan: Workplan) -> dict[int, int]:
    """Per item of ``workplan``, how many deliverables ``user`` may see."""
    rows = db.session.execute(
        sa.select(Post.workplan_item_id, sa.func.count(Post.id))
        .join(WorkplanItem, WorkplanItem.id == Post.workplan_item_id)
        .where(WorkplanItem.workplan_id == workplan.id, Post.type == PostType.DELIVERABLE, visible_posts(user))
        .group_by(Post.workplan_item_id)
    )
    return {item_id: count for item_id, count in rows}


def deliverable_ids(user: Any, item_ids: list[int]) -> dict[int, list[int]]:
    """Per item id, the ids of the deliverable posts ``user`` may see, oldest first (one query)."""
    found: dict[int, list[int]] = {i: [] for i in item_ids}
    if not item_ids:
        return found
    rows = db.session.execute(
        sa.select(Post.workplan_item_id, Post.id)
        .where(Post.workplan_item_id.in_(item_ids), Post.type == PostType.DELIVERABLE, visible_posts(user))
        .order_by(Post.id)
    )
    for item_id, post_id in rows:
        found[item_id].append(post_id)
    return found


def deliverables(user: Any, item: WorkplanItem) -> list[Post]:
    """The deliverable posts of ``item`` that ``user`` may see, newest first."""
    return list(
        db.session.scalars(
            sa.select(Post)
            .where(Post.workplan_item_id == item.id, Post.type == PostType.DELIVERABLE, visible_posts(user))
            .order_by(Post.created_at.desc(), Post.id.desc())
        ).unique()
    )


def adoption_meetings(user: Any) -> list[Meeting]:
    """Meetings the curator may see, to choose the one that adopted the workplan (newest first)."""
    return list(
        db.session.scalars(
            sa.select(Meeting).where(visible_meetings(user)).order_by(Meeting.starts_at.desc()).limit(200)
        ).unique()
    )


def visible_meeting(user: Any, meeting_id: int | None) -> Meeting | None:
    """The adopting meeting, if ``user`` may see it (its title is not shown otherwise)."""
    if meeting_id is None:
        return None
    return db.session.scalar(sa.select(Meeting).where(Meeting.id == meeting_id, visible_meetings(user)))
