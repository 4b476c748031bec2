"""What a retention purge would do on a given day: the plan both ``--dry-run`` and a real run use.

A real run carries out exactly the plan it prints, so a dry run on the same day, with the same
data, lists what the real run then deletes and whom it warns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, timedelta

import sqlalchemy as sa

from app.auth.models import User, UserStatus
from app.clusters.models import Attachment, Post, PostType
from app.drafts.models import Draft
from app.extensions import db
from app.meetings.models import Meeting
from app.notifications.models import Notification, OutboxMessage, OutboxStatus
from app.retention.rules import RetentionRules, current_rules, start_of
from app.workplan.models import WorkplanItem


@dataclass(frozen=True)
class ExpiredPost:
    id: int
    type: PostType
    created_on: date
    expires_on: date
    author_org_id: int
    files: int
    age_days: int


@dataclass(frozen=True)
class RetentionWarning:
    post_id: int
    type: PostType
    expires_on: date
    author_id: int
    tlp: str


@dataclass
class PurgePlan:
    today: date
    deletions: list[ExpiredPost] = field(default_factory=list)
    warnings: list[RetentionWarning] = field(default_factory=list)
    #: Sent mail and read notifications from before these instants go (None: kept).
    mail_before: date | None = None
    notifications_before: date | None = None
    sent_mail: int = 0
    read_notifications: int = 0
    #: Drafts and kept forms past ``PAX_DRAFT_RETENTION_DAYS`` since they were last saved.
    expired_drafts: int = 0

    @property
    def files(self) -> int:
        return sum(p.files for p in self.deletions)


def dedupe_key(post_id: int) -> str:
    """One retention warning per post and author."""
    return f"retention:{post_id}"


def deletion_date(post: Post, rules: RetentionRules | None = None) -> date | None:
    """The day the retention rules delete ``post``, or None when its type is kept until deleted."""
    return (rules or current_rules()).expires_on(post.type, post.created_at)


def _deleted_between(rules: RetentionRules, after: date | None, until: date) -> sa.ColumnElement[bool]:
    """Posts whose deletion day is on or before ``until`` and, given ``after``, later than it."""
    terms = []
    for kind in PostType:
        upper = rules.expired_before(kind, until)
        if upper is None:
            continue
        term = sa.and_(Post.type == kind, Post.created_at < upper)
        lower = rules.expired_before(kind, after) if after is not None else None
        if lower is not None:
            term = sa.and_(term, Post.created_at >= lower)
        terms.append(term)
    return sa.or_(*terms) if terms else sa.false()


def expired_posts(rules: RetentionRules, today: date) -> list[ExpiredPost]:
    """Posts past their type's retention on ``today``, oldest first."""
    files = sa.select(sa.func.count(Attachment.id)).where(Attachment.post_id == Post.id).scalar_subquery()
    rows = db.session.execute(
        sa.select(Post.id, Post.type, Post.created_at, Post.author_org_id, files)
        .where(_deleted_between(rules, None, today))
        .order_by(Post.created_at, Post.id)
    )
    result = []
    for post_id, kind, created_at, org_id, file_count in rows:
        created_on = created_at.astimezone(UTC).date()
        expires_on = rules.expires_on(kind, created_at)
        assert expires_on is not None
        result.append(
            ExpiredPost(post_id, kind, created_on, expires_on, org_id, file_count or 0, (today - created_on).days)
        )
    return result


def warnings_due(rules: RetentionRules, today: date) -> list[RetentionWarning]:
    """Authors to warn now: their post is deleted within the warning window, they are active and
    not erased, and they have not been warned about that post before."""
    if rules.warning_days <= 0:
        return []
    until = today + timedelta(days=rules.warning_days)
    warned = (
        sa.select(Notification.id)
        .where(
            Notification.user_id == Post.author_id,
            Notification.dedupe_key == sa.literal("retention:") + sa.cast(Post.id, sa.String),
        )
        .exists()
    )
    rows = db.session.execute(
        sa.select(Post.id, Post.type, Post.created_at, Post.author_id, Post.tlp)
        .join(User, User.id == Post.author_id)
        .where(
            _deleted_between(rules, today, until),
            User.status == UserStatus.ACTIVE,
            User.erased_at.is_(None),
            ~warned,
        )
        .order_by(Post.created_at, Post.id)
    )
    result = []
    for post_id, kind, created_at, author_id, tlp in rows:
        expires_on = rules.expires_on(kind, created_at)
        assert expires_on is not None
        result.append(RetentionWarning(post_id, kind, expires_on, author_id, tlp.value))
    return result


def old_sent_mail(before: date) -> sa.ColumnElement[bool]:
    """Delivered mail sent before ``before``; pending and failed mail stays for the outbox."""
    return sa.and_(OutboxMessage.status == OutboxStatus.SENT, OutboxMessage.sent_at < start_of(before))


#: What a notification's target may be, so the purge can tell whether it still exists.
_TARGETS = {"post": Post.id, "meeting": Meeting.id, "workplan_item": WorkplanItem.id, "user": User.id}


def _target_exists() -> sa.ColumnElement[bool]:
    return sa.or_(
        *(
            sa.and_(
                Notification.target_type == name,
                sa.select(column).where(column == Notification.target_id).exists(),
            )
            for name, column in _TARGETS.items()
        )
    )


def old_read_notifications(before: date) -> sa.ColumnElement[bool]:
    """Notifications read before ``before``. One that stops a repeat (it has a ``dedupe_key``)
    stays while its target exists: deleting it would let the same occasion be notified again."""
    return sa.and_(
        Notification.read_at.is_not(None),
        Notification.read_at < start_of(before),
        sa.or_(Notification.dedupe_key.is_(None), ~_target_exists()),
    )


def _count(model: type, where: sa.ColumnElement[bool]) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(where)) or 0


def purge_plan(today: date, rules: RetentionRules | None = None) -> PurgePlan:
    """Everything a purge on ``today`` deletes and every warning it sends; changes nothing."""
    rules = rules or current_rules()
    plan = PurgePlan(today=today, deletions=expired_posts(rules, today), warnings=warnings_due(rules, today))
    if rules.mail_days > 0:
        plan.mail_before = today - timedelta(days=rules.mail_days)
        plan.sent_mail = _count(OutboxMessage, old_sent_mail(plan.mail_before))
    if rules.notification_days > 0:
        plan.notifications_before = today - timedelta(days=rules.notification_days)
        plan.read_notifications = _count(Notification, old_read_notifications(plan.notifications_before))
    plan.expired_drafts = _count(Draft, Draft.expires_at <= start_of(today))
    return plan
