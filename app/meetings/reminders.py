"""Reminders before meetings: ``notifications reminders`` (run by the operator's scheduler) mails
every participant who has not declined, ``PAX_MEETING_REMINDER_DAYS`` before the meeting, once
per offset and start time, and only while the policy lets them see the meeting.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app

from app.auth.models import UserStatus
from app.db import utcnow
from app.extensions import db
from app.meetings.models import Meeting, MeetingParticipant, Rsvp
from app.notifications.services import notify
from app.policy import visible_meetings

log = logging.getLogger("pax.meetings")


def _sees(user: Any, meeting: Meeting) -> bool:
    return db.session.scalar(sa.select(Meeting.id).where(Meeting.id == meeting.id, visible_meetings(user))) is not None


@dataclass(frozen=True)
class ReminderRun:
    meetings: int
    reminded: int


def reminder_days() -> list[int]:
    """``PAX_MEETING_REMINDER_DAYS`` as whole days, nearest first (``7,1`` gives ``[1, 7]``)."""
    raw = current_app.config.get("MEETING_REMINDER_DAYS") or ""
    return sorted({int(d) for d in raw.split(",") if d.strip().isdigit()})


def remind_participants(now: datetime | None = None) -> ReminderRun:
    """Remind by mail every participant who has not declined, before each meeting starts: once
    per offset of ``reminder_days`` (the nearest one due; a run that starts late sends one, not
    several), and only while the policy lets them see the meeting. Running it again the same
    day sends nothing new (one notification per participant, offset and start time)."""
    now = now or utcnow()
    days = reminder_days()
    if not days:
        return ReminderRun(0, 0)
    meetings = db.session.scalars(
        sa.select(Meeting)
        .where(Meeting.starts_at > now, Meeting.starts_at <= now + timedelta(days=max(days)))
        .order_by(Meeting.starts_at, Meeting.id)
    ).all()
    reminded = 0
    for meeting in meetings:
        due = next(d for d in days if meeting.starts_at - timedelta(days=d) <= now)
        key = f"meeting.reminder:{meeting.id}:{due}:{meeting.starts_at.strftime('%Y%m%dT%H%M')}"
        participants = db.session.scalars(
            sa.select(MeetingParticipant)
            .where(MeetingParticipant.meeting_id == meeting.id, MeetingParticipant.response != Rsvp.NOT_ATTENDING)
            .order_by(MeetingParticipant.id)
        ).all()
        for participant in participants:
            user = participant.user
            if user.status is UserStatus.ACTIVE and user.erased_at is None and _sees(user, meeting):
                told = notify(user, "meeting.reminder", target=("meeting", meeting.id), tlp=meeting.tlp, dedupe_key=key)
                reminded += told is not None
    log.info("meeting reminders: %s meetings, %s people reminded", len(meetings), reminded)
    return ReminderRun(len(meetings), reminded)
