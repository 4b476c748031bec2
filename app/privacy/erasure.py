"""Erasing a departed user's personal data while the organisation keeps what it shared.

The account row stays (audit records and history point at its id) but holds nothing personal:
a placeholder name, an undeliverable address, no password, second factor, sessions, tokens,
identities, memberships, subscriptions, notifications or mail. Every reference to the user
was decided column by column:

* ``posts``, ``meetings``, ``meeting_documents`` ``author_id`` and ``stored_files.uploaded_by_id``
  become NULL: the item keeps ``author_org_id``, so it stays the organisation's and keeps its
  audience, minus a person who can no longer sign in.
* ``comments.author_id``, ``post_versions.replaced_by_id`` and ``workplan_item_changes.actor_id``
  keep pointing at the erased row: those tables have no organisation column, and the row,
  now "Former member (erased)" of its organisation, is the only attribution left.
* Named-recipient rows of posts and meetings are deleted (the person is no longer there to read).
* ``audit_events.actor_id`` is a plain number and is never touched: rewriting it would break
  the chain, and it now points at a row that names nobody.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from app.audit.services import record
from app.auth.models import ApiToken, GlobalRole, Identity, RecoveryCode, User, UserSession, UserStatus
from app.clusters.models import ClusterMembership, Post, PostRecipientUser
from app.db import utcnow
from app.extensions import db
from app.files.models import StoredFile
from app.meetings.models import Meeting, MeetingDocument, MeetingRecipientUser
from app.notifications.models import Notification, OutboxMessage, Subscription
from app.validation import ValidationError

log = logging.getLogger("pax.privacy")

ERASED_NAME = "Former member (erased)"
ERASED_DOMAIN = "erased.invalid"


def erased_email(user_id: int) -> str:
    return f"erased-{user_id}@{ERASED_DOMAIN}"


@dataclass(frozen=True)
class ErasureResult:
    #: Rows deleted per kind of personal record.
    removed: dict[str, int]
    #: Items of the organisation that stay, now without a named author.
    kept: dict[str, int]


def erasure_problem(user: User) -> str | None:
    """Why ``user`` cannot be erased now, or None.

    An administrator is demoted first (by another administrator, and never the last one), so
    one administrator cannot silently wipe another's account in one irreversible step.
    """
    if user.erased_at is not None:
        return _("This account's personal data is already erased.")
    if user.role is GlobalRole.ADMIN:
        return _("This account is an administrator: change its role first, then erase it.")
    return None


def confirmation_matches(user: User, typed: str | None) -> bool:
    """The typed confirmation names the account's e-mail address (any case, outer spaces ignored)."""
    return (typed or "").strip().lower() == user.email


def kept_items(user: User) -> dict[str, int]:
    """What stays with the organisation when ``user`` is erased, by kind."""

    def count(column: Any) -> int:
        return db.session.scalar(sa.select(sa.func.count()).where(column == user.id)) or 0

    return {
        "posts": count(Post.author_id),
        "meetings": count(Meeting.author_id),
        "meeting_documents": count(MeetingDocument.author_id),
    }


def _delete(model: Any, column: Any, user_id: int) -> int:
    result = db.session.execute(sa.delete(model).where(column == user_id).execution_options(synchronize_session=False))
    return int(result.rowcount or 0)


def _detach(model: Any, column: Any, user_id: int) -> int:
    result = db.session.execute(
        sa.update(model)
        .where(column == user_id)
        .values({column.key: None})
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)


def erase_user(actor: User | None, user: User) -> ErasureResult:
    """Erase ``user``'s personal data in the caller's transaction; one ``user.erase`` audit event.

    ``actor`` is the administrator (None from the command line). Refused with a
    ``ValidationError`` for the reasons ``erasure_problem`` gives.
    """
    if problem := erasure_problem(user):
        raise ValidationError({"user": problem})
    uid = user.id
    db.session.flush()
    kept = {
        "posts": _detach(Post, Post.author_id, uid),
        "meetings": _detach(Meeting, Meeting.author_id, uid),
        "meeting_documents": _detach(MeetingDocument, MeetingDocument.author_id, uid),
    }
    _detach(StoredFile, StoredFile.uploaded_by_id, uid)
    removed = {
        "sessions": _delete(UserSession, UserSession.user_id, uid),
        "tokens": _delete(ApiToken, ApiToken.user_id, uid),
        "identities": _delete(Identity, Identity.user_id, uid),
        "recovery_codes": _delete(RecoveryCode, RecoveryCode.user_id, uid),
        "memberships": _delete(ClusterMembership, ClusterMembership.user_id, uid),
        "subscriptions": _delete(Subscription, Subscription.user_id, uid),
        "notifications": _delete(Notification, Notification.user_id, uid),
        "mail": _delete(OutboxMessage, OutboxMessage.user_id, uid),
        "named_recipient": _delete(PostRecipientUser, PostRecipientUser.user_id, uid)
        + _delete(MeetingRecipientUser, MeetingRecipientUser.user_id, uid),
    }
    user.name = ERASED_NAME
    user.email = erased_email(uid)
    user.password_hash = None
    user.password_must_change = False
    user.totp_secret_sealed = None
    user.totp_last_step = None
    user.mfa_enrolled_at = None
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = None
    user.read_all_before = None
    user.time_zone = None
    user.language = None
    user.is_focal_point = False
    user.role = GlobalRole.MEMBER
    user.status = UserStatus.SUSPENDED
    user.erased_at = utcnow()
    db.session.flush()
    # The bulk statements bypassed the objects this session already holds: reload them.
    db.session.expire_all()
    record(
        "user.erase",
        actor=actor,
        target=("user", uid),
        target_org=user.organisation_id,
        posts_kept=kept["posts"],
        sessions_removed=removed["sessions"],
        identities_removed=removed["identities"],
        records_removed=sum(removed.values()),
    )
    db.session.flush()
    log.info("user %s erased by %s", uid, getattr(actor, "id", "the command line"))
    return ErasureResult(removed=removed, kept=kept)
