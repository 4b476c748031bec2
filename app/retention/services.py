"""Carrying out a retention purge: warn authors, delete expired posts and old messages.

Posts are deleted the way an author's deletion does it (``app.clusters.services.delete_post``):
their files are crypto-shredded (data keys now, blobs after commit), versions, comments, tags
and match index rows go with them, and each deletion is one ``retention.purge`` audit event.
Everything happens in the caller's transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import sqlalchemy as sa

from app.audit.services import record
from app.auth.models import User
from app.clusters.attachments import shred_post_files
from app.clusters.models import Post
from app.drafts.models import Draft
from app.extensions import db
from app.notifications.models import Notification, OutboxMessage
from app.notifications.services import notify
from app.retention.queries import PurgePlan, dedupe_key, old_read_notifications, old_sent_mail
from app.retention.rules import start_of

log = logging.getLogger("pax.retention")


@dataclass(frozen=True)
class PurgeResult:
    posts: int
    files: int
    warned: int
    sent_mail: int
    read_notifications: int
    drafts: int = 0


def _delete_rows(model: type, where: sa.ColumnElement[bool]) -> int:
    result = db.session.execute(sa.delete(model).where(where).execution_options(synchronize_session=False))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def carry_out(plan: PurgePlan) -> PurgeResult:
    """Do what ``plan`` lists, in that order: old messages, warnings, then deletions.

    Messages go first so their count is the plan's: deleting a post can make a notification
    about it purgeable, and that one waits for the next run, as the plan said.
    """
    sent_mail = _delete_rows(OutboxMessage, old_sent_mail(plan.mail_before)) if plan.mail_before else 0
    read = (
        _delete_rows(Notification, old_read_notifications(plan.notifications_before))
        if plan.notifications_before
        else 0
    )
    warned = 0
    for warning in plan.warnings:
        author = db.session.get(User, warning.author_id)
        if author is not None and notify(
            author,
            "retention.warning",
            target=("post", warning.post_id),
            tlp=warning.tlp,
            dedupe_key=dedupe_key(warning.post_id),
        ):
            warned += 1
    deleted = files = 0
    for expired in plan.deletions:
        post = db.session.get(Post, expired.id)
        if post is None:
            continue
        deleted += 1
        record(
            "retention.purge",
            target=("post", post.id),
            target_org=post.author_org_id,
            type=post.type.value,
            age_days=expired.age_days,
        )
        files += shred_post_files(post)
        db.session.delete(post)
        db.session.flush()
        log.info("retention: post %s (%s, %s days old) deleted", expired.id, expired.type.value, expired.age_days)
    drafts = _delete_rows(Draft, Draft.expires_at <= start_of(plan.today))
    return PurgeResult(deleted, files, warned, sent_mail, read, drafts)
