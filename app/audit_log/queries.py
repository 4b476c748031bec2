"""Reading the audit log: the filtered, paged log for administrators and auditors, its CSV rows,
and an organisation's "who accessed our items" list.

Every read puts ``app.policy.visible_audit_events`` in its WHERE clause. Filters come from a
query string through ``parse_filters``, shared by the page and the API, which refuses what it
cannot use with a message per parameter (``ValidationError``), so nothing hostile reaches SQL.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import aliased

from app.audit.models import ACCESS_ACTIONS, OUTCOMES, AuditEvent
from app.auth.models import User
from app.clusters.models import Attachment, Post
from app.directory.models import Organisation
from app.extensions import db
from app.meetings.models import Meeting, MeetingDocument
from app.pagination import Page
from app.policy import visible_audit_events, visible_meeting_documents, visible_meetings, visible_posts
from app.routing import MAX_ID
from app.validation import ValidationError, text_problem

PER_PAGE = 50
EXPORT_BATCH = 1000
MAX_TEXT = 320

_ACTION = re.compile(r"[a-z0-9_.+-]{1,64}")
_TARGET_TYPE = re.compile(r"[a-z_]{1,32}")
_NUMBER = re.compile(r"[0-9]{1,10}")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

#: The query-string parameters ``parse_filters`` reads, in the order the page shows them.
FILTER_NAMES = ("action", "actor", "organisation", "target_type", "target_id", "outcome", "from", "to")


@dataclass
class AuditFilter:
    #: Actions starting with this (``auth.`` or ``auth.login``).
    action: str | None = None
    #: Part of the actor's e-mail address.
    actor: str | None = None
    #: The actor's organisation at the time of the event.
    organisation_id: int | None = None
    target_type: str | None = None
    target_id: str | None = None
    outcome: str | None = None
    #: From the start of this UTC day ...
    since: date | None = None
    #: ... to the end of this one.
    until: date | None = None

    def used(self) -> list[str]:
        """The names of the filters that are set (for the export's own audit event)."""
        return [f.name for f in fields(self) if getattr(self, f.name) is not None]


def _text(args: Mapping[str, str], name: str, errors: dict[str, str], limit: int = MAX_TEXT) -> str | None:
    value = (args.get(name) or "").strip()
    if not value:
        return None
    if len(value) > limit:
        errors[name] = _("Use at most %(limit)d characters.", limit=limit)
        return None
    if problem := text_problem(value, multiline=False):
        errors[name] = problem
        return None
    return value


def _day(args: Mapping[str, str], name: str, errors: dict[str, str]) -> date | None:
    raw = (args.get(name) or "").strip()
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw) if _DATE.fullmatch(raw) else None
    except ValueError:
        day = None
    if day is None or not 2000 <= day.year <= 2100:
        errors[name] = _("Give a date as YYYY-MM-DD, e.g. 2026-12-01.")
        return None
    return day


def parse_filters(args: Mapping[str, str]) -> AuditFilter:
    """The audit filters in ``args`` (a query string); raises ``ValidationError`` naming each bad one."""
    errors: dict[str, str] = {}
    found = AuditFilter()
    if (action := _text(args, "action", errors, 64)) is not None:
        if _ACTION.fullmatch(action.lower()):
            found.action = action.lower()
        else:
            errors["action"] = _("An action is written like auth.login: letters, digits, dots and underscores.")
    found.actor = _text(args, "actor", errors)
    if (organisation := _text(args, "organisation", errors, 10)) is not None:
        if _NUMBER.fullmatch(organisation) and 1 <= int(organisation) <= MAX_ID:
            found.organisation_id = int(organisation)
        else:
            errors["organisation"] = _("Choose an organisation from the list.")
    if (target_type := _text(args, "target_type", errors, 32)) is not None:
        if _TARGET_TYPE.fullmatch(target_type):
            found.target_type = target_type
        else:
            errors["target_type"] = _("A target type is a word like post, meeting or user.")
    found.target_id = _text(args, "target_id", errors, 64)
    if (outcome := _text(args, "outcome", errors, 16)) is not None:
        if outcome in OUTCOMES:
            found.outcome = outcome
        else:
            errors["outcome"] = _("Choose one of: %(values)s.", values=", ".join(OUTCOMES))
    found.since = _day(args, "from", errors)
    found.until = _day(args, "to", errors)
    if found.since and found.until and found.until < found.since:
        errors["to"] = _("The end date is before the start date.")
    if errors:
        raise ValidationError(errors)
    return found


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _filtered(viewer: Any, found: AuditFilter) -> sa.Select[Any]:
    stmt = sa.select(AuditEvent).where(visible_audit_events(viewer))
    if found.action:
        stmt = stmt.where(AuditEvent.action.startswith(found.action, autoescape=True))
    if found.actor:
        stmt = stmt.where(
            AuditEvent.actor_id.in_(sa.select(User.id).where(User.email.like(_like(found.actor), escape="\\")))
        )
    if found.organisation_id is not None:
        stmt = stmt.where(AuditEvent.actor_org_id == found.organisation_id)
    if found.target_type:
        stmt = stmt.where(AuditEvent.target_type == found.target_type)
    if found.target_id:
        stmt = stmt.where(AuditEvent.target_id == found.target_id)
    if found.outcome:
        stmt = stmt.where(AuditEvent.outcome == found.outcome)
    if found.since:
        stmt = stmt.where(AuditEvent.at >= datetime.combine(found.since, time(0), UTC))
    if found.until:
        stmt = stmt.where(AuditEvent.at < datetime.combine(found.until, time(0), UTC) + timedelta(days=1))
    return stmt


# --- the log ---------------------------------------------------------------------------------------


@dataclass
class LogRow:
    """An event with the names its ids stand for (None when the account or organisation is gone)."""

    event: AuditEvent
    actor_email: str | None
    actor_name: str | None
    actor_organisation: str | None
    target_organisation: str | None


_ActorOrg = aliased(Organisation, name="actor_org")
_TargetOrg = aliased(Organisation, name="target_org")


def _with_names(stmt: sa.Select[Any]) -> sa.Select[Any]:
    return (
        stmt.add_columns(User.email, User.name, _ActorOrg.name, _TargetOrg.name)
        .outerjoin(User, User.id == AuditEvent.actor_id)
        .outerjoin(_ActorOrg, _ActorOrg.id == AuditEvent.actor_org_id)
        .outerjoin(_TargetOrg, _TargetOrg.id == AuditEvent.target_org_id)
    )


def log_page(viewer: Any, found: AuditFilter, page: int = 1, per_page: int = PER_PAGE) -> Page:
    """The events ``viewer`` may read that match ``found``, newest first, one page of ``LogRow``."""
    stmt = _filtered(viewer, found)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(stmt.with_only_columns(AuditEvent.id).subquery()))
    rows = db.session.execute(
        _with_names(stmt).order_by(AuditEvent.seq.desc()).limit(per_page).offset((page - 1) * per_page)
    )
    return Page(items=[LogRow(*row) for row in rows], page=page, per_page=per_page, total=total or 0)


def log_count(viewer: Any, found: AuditFilter) -> int:
    stmt = _filtered(viewer, found).with_only_columns(AuditEvent.id)
    return db.session.scalar(sa.select(sa.func.count()).select_from(stmt.subquery())) or 0


def log_rows(viewer: Any, found: AuditFilter, batch: int = EXPORT_BATCH) -> Iterator[LogRow]:
    """Every matching event, newest first, read ``batch`` at a time (memory stays flat)."""
    before: int | None = None
    while True:
        stmt = _with_names(_filtered(viewer, found))
        if before is not None:
            stmt = stmt.where(AuditEvent.seq < before)
        rows = [LogRow(*row) for row in db.session.execute(stmt.order_by(AuditEvent.seq.desc()).limit(batch))]
        yield from rows
        if len(rows) < batch:
            return
        before = rows[-1].event.seq


# --- who accessed an organisation's items ----------------------------------------------------------


@dataclass
class AccessRow:
    """One access to an item of the viewer's organisation that the viewer may see."""

    event: AuditEvent
    actor_name: str | None
    actor_organisation: str | None
    title: str | None
    post_id: int | None
    meeting_id: int | None


def _target_int() -> sa.ColumnElement[int]:
    return sa.cast(AuditEvent.target_id, sa.Integer)


def _visible_columns(viewer: Any) -> tuple[Any, Any, Any]:
    """Title, post id and meeting id of each event's target, each through the policy's SQL rule.

    Each CASE branch runs only for its own target type, so the id cast only ever sees numbers.
    """
    target = _target_int()
    post = sa.select(Post.id).where(Post.id == target, visible_posts(viewer)).scalar_subquery()
    post_title = sa.select(Post.title).where(Post.id == target, visible_posts(viewer)).scalar_subquery()
    attachment_post = (
        sa.select(Post.id)
        .join(Attachment, Attachment.post_id == Post.id)
        .where(Attachment.id == target, visible_posts(viewer))
        .scalar_subquery()
    )
    attachment_title = (
        sa.select(Post.title)
        .join(Attachment, Attachment.post_id == Post.id)
        .where(Attachment.id == target, visible_posts(viewer))
        .scalar_subquery()
    )
    meeting = sa.select(Meeting.id).where(Meeting.id == target, visible_meetings(viewer)).scalar_subquery()
    meeting_title = sa.select(Meeting.title).where(Meeting.id == target, visible_meetings(viewer)).scalar_subquery()
    document = (
        sa.select(MeetingDocument.meeting_id)
        .where(MeetingDocument.id == target, visible_meeting_documents(viewer))
        .scalar_subquery()
    )
    document_title = (
        sa.select(MeetingDocument.title)
        .where(MeetingDocument.id == target, visible_meeting_documents(viewer))
        .scalar_subquery()
    )
    kind = AuditEvent.target_type
    title = sa.case(
        (kind == "post", post_title),
        (kind == "attachment", attachment_title),
        (kind == "meeting", meeting_title),
        (kind == "meeting_document", document_title),
        else_=None,
    )
    post_id = sa.case((kind == "post", post), (kind == "attachment", attachment_post), else_=None)
    meeting_id = sa.case((kind == "meeting", meeting), (kind == "meeting_document", document), else_=None)
    return title, post_id, meeting_id


def organisation_access_page(viewer: Any, page: int = 1, per_page: int = PER_PAGE) -> Page:
    """Views, downloads and packs of items of ``viewer``'s organisation that ``viewer`` may see
    now, newest first. Who read a RED post of a colleague is that post's audience's business:
    accesses to an item the viewer may not see are not listed, not even by number."""
    title, post_id, meeting_id = _visible_columns(viewer)
    stmt = sa.select(AuditEvent).where(
        visible_audit_events(viewer),
        AuditEvent.target_org_id == viewer.organisation_id,
        AuditEvent.action.in_(ACCESS_ACTIONS),
        sa.or_(post_id.is_not(None), meeting_id.is_not(None)),
    )
    total = db.session.scalar(sa.select(sa.func.count()).select_from(stmt.with_only_columns(AuditEvent.id).subquery()))
    pages = max(1, -(-(total or 0) // per_page))
    page = min(page, pages)
    rows = db.session.execute(
        stmt.add_columns(User.name, _ActorOrg.name, title, post_id, meeting_id)
        .outerjoin(User, User.id == AuditEvent.actor_id)
        .outerjoin(_ActorOrg, _ActorOrg.id == AuditEvent.actor_org_id)
        .order_by(AuditEvent.seq.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return Page(items=[AccessRow(*row) for row in rows], page=page, per_page=per_page, total=total or 0)


def organisation_choices() -> list[tuple[int, str]]:
    return list(
        db.session.execute(sa.select(Organisation.id, Organisation.name).order_by(sa.func.lower(Organisation.name)))
    )
