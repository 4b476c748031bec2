"""Reads for the meeting pages, the API and the calendar; every query filters with the policy's
``visible_meetings`` / ``visible_meeting_documents`` expressions, never in Python."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from app.db import utcnow
from app.extensions import db
from app.files.services import FileMeta, FileUnavailable, file_meta
from app.meetings.models import AgendaItem, Meeting, MeetingDocument, MeetingKind
from app.pagination import Page, capped_count
from app.policy import visible_meeting_documents, visible_meetings

#: The calendar of "all my meetings" starts this far back.
CALENDAR_PAST = timedelta(days=90)
#: And holds at most this many meetings (a calendar client re-reads it often).
CALENDAR_LIMIT = 1000


@dataclass
class MeetingFilter:
    cluster_id: int | None = None
    kind: MeetingKind | None = None
    #: Meetings starting at or after / at or before these instants.
    starts_from: datetime | None = None
    starts_to: datetime | None = None
    #: "upcoming" (not yet ended, soonest first), "past" (ended, latest first) or None (all, by start).
    when: str | None = None


def _filtered(user: Any, filters: MeetingFilter, now: datetime) -> sa.Select[Any]:
    stmt = sa.select(Meeting.id).where(visible_meetings(user))
    if filters.cluster_id is not None:
        stmt = stmt.where(Meeting.cluster_id == filters.cluster_id)
    if filters.kind is not None:
        stmt = stmt.where(Meeting.kind == filters.kind)
    if filters.starts_from is not None:
        stmt = stmt.where(Meeting.starts_at >= filters.starts_from)
    if filters.starts_to is not None:
        stmt = stmt.where(Meeting.starts_at <= filters.starts_to)
    if filters.when == "upcoming":
        stmt = stmt.where(Meeting.ends_at >= now)
    elif filters.when == "past":
        stmt = stmt.where(Meeting.ends_at < now)
    return stmt


def meetings_by_ids(ids: list[int]) -> list[Meeting]:
    """Meetings for ids already filtered by visibility, in the given order."""
    if not ids:
        return []
    rows = {
        m.id: m
        for m in db.session.scalars(
            sa.select(Meeting)
            .where(Meeting.id.in_(ids))
            .options(selectinload(Meeting.recipient_orgs), selectinload(Meeting.recipient_users))
        )
    }
    return [rows[i] for i in ids if i in rows]


def meeting_page(user: Any, filters: MeetingFilter, page: int = 1, per_page: int = 20) -> Page:
    """Visible meetings: upcoming soonest first, past latest first, otherwise by start."""
    page = max(1, page)
    stmt = _filtered(user, filters, utcnow())
    total, capped = capped_count(stmt)
    order = (Meeting.starts_at.desc(), Meeting.id.desc()) if filters.when == "past" else (Meeting.starts_at, Meeting.id)
    ids = list(db.session.scalars(stmt.order_by(*order).limit(per_page).offset((page - 1) * per_page)))
    return Page(items=meetings_by_ids(ids), page=page, per_page=per_page, total=total, total_capped=capped)


def upcoming_meetings(user: Any, limit: int = 5) -> list[Meeting]:
    """The next visible meetings (for the dashboard)."""
    stmt = _filtered(user, MeetingFilter(when="upcoming"), utcnow())
    return meetings_by_ids(list(db.session.scalars(stmt.order_by(Meeting.starts_at, Meeting.id).limit(limit))))


def calendar_meetings(user: Any) -> list[Meeting]:
    """Every visible meeting from ``CALENDAR_PAST`` ago on, soonest first (the .ics of "my meetings")."""
    stmt = _filtered(user, MeetingFilter(starts_from=utcnow() - CALENDAR_PAST), utcnow())
    ids = list(db.session.scalars(stmt.order_by(Meeting.starts_at, Meeting.id).limit(CALENDAR_LIMIT)))
    return meetings_by_ids(ids)


@dataclass(frozen=True)
class DocumentRow:
    document: MeetingDocument
    #: None when the file's key does not open (shown as unavailable; the page still renders).
    meta: FileMeta | None
    #: 1, 2, 3... among the documents of its agenda item (or of the meeting) that the viewer may
    #: see, as packs number them: the stored position would show where withheld documents sit.
    position: int = 1


def visible_documents(user: Any, meeting: Meeting) -> list[MeetingDocument]:
    """The documents of ``meeting`` that ``user`` may see listed (their own still waiting for a
    malware scan included, shown as waiting): the meeting's own first, then by agenda position,
    then by their position."""
    stmt = (
        sa.select(MeetingDocument)
        .join(Meeting, Meeting.id == MeetingDocument.meeting_id)
        .outerjoin(AgendaItem, AgendaItem.id == MeetingDocument.agenda_item_id)
        .where(MeetingDocument.meeting_id == meeting.id, visible_meeting_documents(user, own_pending=True))
        .order_by(
            MeetingDocument.agenda_item_id.is_not(None),
            AgendaItem.position,
            MeetingDocument.position,
            MeetingDocument.id,
        )
    )
    return list(db.session.scalars(stmt))


def document_rows(user: Any, meeting: Meeting) -> list[DocumentRow]:
    """``visible_documents`` with each file's decrypted name, type and digest."""
    rows = []
    seen: dict[int | None, int] = {}
    for document in visible_documents(user, meeting):
        try:
            meta: FileMeta | None = file_meta(document.file)
        except FileUnavailable:
            meta = None
        seen[document.agenda_item_id] = seen.get(document.agenda_item_id, 0) + 1
        rows.append(DocumentRow(document, meta, seen[document.agenda_item_id]))
    return rows


def document_row(user: Any, document: MeetingDocument, meta: FileMeta | None) -> DocumentRow:
    """The row of one document ``user`` may see, numbered as in ``document_rows``: one count of the
    visible documents before it in its agenda item (or the meeting)."""
    before = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(MeetingDocument)
        .where(
            MeetingDocument.meeting_id == document.meeting_id,
            MeetingDocument.agenda_item_id.is_(None)
            if document.agenda_item_id is None
            else MeetingDocument.agenda_item_id == document.agenda_item_id,
            sa.tuple_(MeetingDocument.position, MeetingDocument.id) < sa.tuple_(document.position, document.id),
            visible_meeting_documents(user, own_pending=True),
        )
    )
    return DocumentRow(document, meta, (before or 0) + 1)


def agenda_item_of(meeting: Meeting, agenda_item_id: int) -> AgendaItem | None:
    return next((item for item in meeting.agenda if item.id == agenda_item_id), None)
