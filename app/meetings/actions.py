"""Action points of a meeting's minutes: each becomes a workplan item in one step, linked back to
the meeting (``WorkplanItem.meeting_id``). The workplan carries no marking and every member sees
it, so an action point says only what its title says; the link to the meeting opens only for
those the meeting's marking admits.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from app.audit.services import record
from app.extensions import db
from app.meetings.models import Meeting
from app.policy import NotAllowed, can, visible_meetings
from app.workplan.models import WorkplanItem
from app.workplan.services import create_item
from app.workplan.validation import parse_item


def record_action_point(actor: Any, meeting: Meeting, raw: dict[str, Any]) -> WorkplanItem:
    """A workplan item from ``raw`` (``title``, ``due_date``, ``cluster``; the cluster defaults to
    a technical meeting's own, the year to the due date's or the meeting's), linked to ``meeting``."""
    if not can(actor, "record_action_point", meeting):
        raise NotAllowed(_("Only curators turn action points into workplan items."))
    fields = {
        "title": raw.get("title") or "",
        "cluster": raw.get("cluster") or (meeting.cluster.slug if meeting.cluster else ""),
    }
    if raw.get("due_date"):
        fields["due_date"] = raw["due_date"]
    data = parse_item({**fields, "year": meeting.starts_at.year}, creating=True)
    due = data.get("due_date")
    if isinstance(due, date):
        data["year"] = due.year
    item = create_item(actor, data)
    item.meeting_id = meeting.id
    db.session.flush()
    record("meeting.action_point", actor=actor, target=("meeting", meeting.id), workplan_item_id=item.id)
    return item


def action_points(meeting: Meeting) -> list[WorkplanItem]:
    """The workplan items recorded from ``meeting``'s minutes (the workplan is visible to every
    member; callers have loaded the meeting through the policy)."""
    return list(
        db.session.scalars(
            sa.select(WorkplanItem).where(WorkplanItem.meeting_id == meeting.id).order_by(WorkplanItem.id)
        ).unique()
    )


def source_meeting(user: Any, item: WorkplanItem) -> Meeting | None:
    """The meeting an item came from, when ``user`` may see it (the link back)."""
    if item.meeting_id is None:
        return None
    return db.session.scalar(sa.select(Meeting).where(Meeting.id == item.meeting_id, visible_meetings(user)))
