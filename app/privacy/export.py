"""The personal data export: everything PAX holds about one member, as one JSON document.

It holds the member's own records only (every query is keyed on their id) and never a secret:
no password hash, TOTP seed, recovery code or token/session hash. Of what they wrote it lists
ids, places, markings and dates, and the titles of their own posts and meeting documents, not
bodies: the export is a receipt of what is kept, the portal is where the content lives.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from app.audit.models import AuditEvent
from app.audit.services import record
from app.auth.models import ApiToken, Identity, IdentityProvider, RecoveryCode, User, UserSession
from app.clusters.models import Cluster, ClusterMembership, Comment, Post, PostRecipientUser
from app.db import utcnow
from app.extensions import db
from app.markings import MarkingSnapshot
from app.meetings.models import CalendarFeed, Meeting, MeetingDocument, MeetingParticipant, MeetingRecipientUser
from app.notifications.models import Notification, OutboxMessage, Subscription
from app.policy import visible_comments
from app.workplan.models import WorkplanItemChange

FORMAT = "pax-personal-data/1"


def _time(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _rows(stmt: sa.Select[Any]) -> list[sa.Row[Any]]:
    return list(db.session.execute(stmt))


def _account(user: User) -> dict[str, Any]:
    codes_left = db.session.scalar(
        sa.select(sa.func.count()).where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    )
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "status": user.status.value,
        "role": user.role.value,
        "is_focal_point": user.is_focal_point,
        "signs_in_with_password": user.password_hash is not None,
        "must_choose_own_password": user.password_must_change,
        "second_factor_enrolled_at": _time(user.mfa_enrolled_at),
        "recovery_codes_left": codes_left or 0,
        "created_at": _time(user.created_at),
        "last_login_at": _time(user.last_login_at),
        "failed_logins": user.failed_logins,
        "locked_until": _time(user.locked_until),
        "read_all_before": _time(user.read_all_before),
        "time_zone": user.time_zone,
        "language": user.language,
    }


def _sessions(user: User) -> list[dict[str, Any]]:
    rows = _rows(
        sa.select(
            UserSession.created_at,
            UserSession.last_seen_at,
            UserSession.expires_at,
            UserSession.revoked_at,
            UserSession.auth_method,
            UserSession.device,
            UserSession.network,
        )
        .where(UserSession.user_id == user.id)
        .order_by(UserSession.created_at)
    )
    return [
        {
            "created_at": _time(r.created_at),
            "last_seen_at": _time(r.last_seen_at),
            "expires_at": _time(r.expires_at),
            "revoked_at": _time(r.revoked_at),
            "method": r.auth_method,
            "device": r.device,
            "network": r.network,
        }
        for r in rows
    ]


def _tokens(user: User) -> list[dict[str, Any]]:
    rows = _rows(
        sa.select(
            ApiToken.name,
            ApiToken.prefix,
            ApiToken.scope,
            ApiToken.created_at,
            ApiToken.expires_at,
            ApiToken.last_used_at,
            ApiToken.revoked_at,
        )
        .where(ApiToken.user_id == user.id)
        .order_by(ApiToken.created_at)
    )
    return [
        {
            "name": r.name,
            "prefix": r.prefix,
            "scope": r.scope.value,
            "created_at": _time(r.created_at),
            "expires_at": _time(r.expires_at),
            "last_used_at": _time(r.last_used_at),
            "revoked_at": _time(r.revoked_at),
        }
        for r in rows
    ]


def _identities(user: User) -> list[dict[str, Any]]:
    rows = _rows(
        sa.select(IdentityProvider.name, Identity.subject, Identity.created_at, Identity.last_login_at)
        .join(IdentityProvider, IdentityProvider.id == Identity.provider_id)
        .where(Identity.user_id == user.id)
        .order_by(Identity.created_at)
    )
    return [
        {
            "provider": r.name,
            "subject": r.subject,
            "created_at": _time(r.created_at),
            "last_login_at": _time(r.last_login_at),
        }
        for r in rows
    ]


def _memberships(user: User) -> list[dict[str, Any]]:
    rows = _rows(
        sa.select(Cluster.slug, ClusterMembership.role, ClusterMembership.created_at)
        .join(Cluster, Cluster.id == ClusterMembership.cluster_id)
        .where(ClusterMembership.user_id == user.id)
        .order_by(Cluster.position)
    )
    return [{"cluster": r.slug, "role": r.role.value, "since": _time(r.created_at)} for r in rows]


def _subscriptions(user: User) -> list[dict[str, Any]]:
    rows = _rows(
        sa.select(Cluster.slug, Subscription.mode, Subscription.created_at)
        .join(Cluster, Cluster.id == Subscription.cluster_id)
        .where(Subscription.user_id == user.id)
        .order_by(Cluster.position)
    )
    return [{"cluster": r.slug, "mode": r.mode.value, "since": _time(r.created_at)} for r in rows]


def _notifications(user: User) -> list[dict[str, Any]]:
    rows = _rows(
        sa.select(
            Notification.kind,
            Notification.target_type,
            Notification.target_id,
            Notification.tlp,
            Notification.created_at,
            Notification.read_at,
        )
        .where(Notification.user_id == user.id)
        .order_by(Notification.created_at, Notification.id)
    )
    return [
        {
            "kind": r.kind,
            "target": {"type": r.target_type, "id": r.target_id} if r.target_type else None,
            "tlp": r.tlp,
            "created_at": _time(r.created_at),
            "read_at": _time(r.read_at),
        }
        for r in rows
    ]


def _mail(user: User) -> list[dict[str, Any]]:
    rows = _rows(
        sa.select(
            OutboxMessage.to_address,
            OutboxMessage.subject,
            OutboxMessage.status,
            OutboxMessage.created_at,
            OutboxMessage.sent_at,
        )
        .where(OutboxMessage.user_id == user.id)
        .order_by(OutboxMessage.created_at, OutboxMessage.id)
    )
    return [
        {
            "to": r.to_address,
            "subject": r.subject,
            "status": r.status.value,
            "created_at": _time(r.created_at),
            "sent_at": _time(r.sent_at),
        }
        for r in rows
    ]


def _posts(user: User) -> list[dict[str, Any]]:
    rows = _rows(
        sa.select(Post.id, Cluster.slug, Post.type, Post.title, Post.tlp, Post.law_enforcement_only, Post.created_at)
        .join(Cluster, Cluster.id == Post.cluster_id)
        .where(Post.author_id == user.id)
        .order_by(Post.created_at, Post.id)
    )
    return [
        {
            "id": r.id,
            "cluster": r.slug,
            "type": r.type.value,
            "title": r.title,
            "tlp": r.tlp.value,
            "law_enforcement_only": r.law_enforcement_only,
            "created_at": _time(r.created_at),
        }
        for r in rows
    ]


def _comments(user: User) -> list[dict[str, Any]]:
    """The member's comments, each with the marking it was written under. Where the comment's
    post is one they may no longer see, nothing of the post as it is now (its cluster, its
    marking) is given: only that the comment exists."""
    written_under = aliased(MarkingSnapshot)
    rows = _rows(
        sa.select(
            Comment.id,
            Comment.post_id,
            Cluster.slug,
            Post.tlp,
            written_under.tlp.label("written_under"),
            visible_comments(user).label("visible"),
            Comment.created_at,
        )
        .join(Post, Post.id == Comment.post_id)
        .join(Cluster, Cluster.id == Post.cluster_id)
        .outerjoin(written_under, written_under.id == Comment.marking_id)
        .where(Comment.author_id == user.id)
        .order_by(Comment.created_at, Comment.id)
    )
    return [
        {
            "id": r.id,
            "post_id": r.post_id if r.visible else None,
            "cluster": r.slug if r.visible else None,
            # The stricter of the marking it was written under and its post's now: what holds for it.
            "tlp": max(filter(None, (r.tlp, r.written_under)), key=lambda t: t.rank).value if r.visible else None,
            "created_at": _time(r.created_at),
        }
        for r in rows
    ]


def _meetings(user: User) -> list[dict[str, Any]]:
    rows = _rows(
        sa.select(Meeting.id, Meeting.kind, Meeting.tlp, Meeting.created_at)
        .where(Meeting.author_id == user.id)
        .order_by(Meeting.created_at, Meeting.id)
    )
    return [{"id": r.id, "kind": r.kind.value, "tlp": r.tlp.value, "created_at": _time(r.created_at)} for r in rows]


def _documents(user: User) -> list[dict[str, Any]]:
    rows = _rows(
        sa.select(
            MeetingDocument.id,
            MeetingDocument.meeting_id,
            MeetingDocument.title,
            MeetingDocument.tlp,
            MeetingDocument.created_at,
        )
        .where(MeetingDocument.author_id == user.id)
        .order_by(MeetingDocument.created_at, MeetingDocument.id)
    )
    return [
        {
            "id": r.id,
            "meeting_id": r.meeting_id,
            "title": r.title,
            "tlp": r.tlp.value,
            "created_at": _time(r.created_at),
        }
        for r in rows
    ]


def _participations(user: User) -> list[dict[str, Any]]:
    """The meetings ``user`` is invited to and their answers (ids only: the meeting may be one
    they can no longer see)."""
    rows = _rows(
        sa.select(
            MeetingParticipant.meeting_id,
            MeetingParticipant.response,
            MeetingParticipant.responded_at,
            MeetingParticipant.created_at,
        )
        .where(MeetingParticipant.user_id == user.id)
        .order_by(MeetingParticipant.created_at, MeetingParticipant.id)
    )
    return [
        {
            "meeting_id": r.meeting_id,
            "response": r.response.value,
            "responded_at": _time(r.responded_at),
            "invited_at": _time(r.created_at),
        }
        for r in rows
    ]


def _calendar_subscription(user: User) -> dict[str, Any] | None:
    """Whether ``user`` has a calendar subscription address (never its secret, which PAX does not keep)."""
    feed = db.session.scalar(sa.select(CalendarFeed).where(CalendarFeed.user_id == user.id))
    if feed is None:
        return None
    return {"created_at": _time(feed.created_at), "last_used_at": _time(feed.last_used_at)}


def _named_recipient(user: User) -> dict[str, list[int]]:
    posts = db.session.scalars(
        sa.select(PostRecipientUser.post_id)
        .where(PostRecipientUser.user_id == user.id)
        .order_by(PostRecipientUser.post_id)
    )
    meetings = db.session.scalars(
        sa.select(MeetingRecipientUser.meeting_id)
        .where(MeetingRecipientUser.user_id == user.id)
        .order_by(MeetingRecipientUser.meeting_id)
    )
    return {"posts": list(posts), "meetings": list(meetings)}


def _workplan_changes(user: User) -> list[dict[str, Any]]:
    rows = _rows(
        sa.select(WorkplanItemChange.item_id, WorkplanItemChange.field, WorkplanItemChange.at)
        .where(WorkplanItemChange.actor_id == user.id)
        .order_by(WorkplanItemChange.at, WorkplanItemChange.id)
    )
    return [{"item_id": r.item_id, "field": r.field, "at": _time(r.at)} for r in rows]


def _audit(user: User) -> list[dict[str, Any]]:
    rows = _rows(
        sa.select(
            AuditEvent.seq,
            AuditEvent.action,
            AuditEvent.at,
            AuditEvent.target_type,
            AuditEvent.target_id,
            AuditEvent.outcome,
            AuditEvent.source,
        )
        .where(AuditEvent.actor_id == user.id)
        .order_by(AuditEvent.seq)
    )
    return [
        {
            "seq": r.seq,
            "action": r.action,
            "at": _time(r.at),
            "target": {"type": r.target_type, "id": r.target_id} if r.target_type else None,
            "outcome": r.outcome,
            "source": r.source,
        }
        for r in rows
    ]


def personal_data(user: User) -> dict[str, Any]:
    """What PAX holds about ``user``, as the JSON document ``GET /account/data.json`` serves."""
    org = user.organisation
    return {
        "format": FORMAT,
        "generated_at": _time(utcnow()),
        "account": _account(user),
        "organisation": {"id": org.id, "name": org.name, "type": org.type.value, "country": org.country},
        "memberships": _memberships(user),
        "sessions": _sessions(user),
        "tokens": _tokens(user),
        "identities": _identities(user),
        "subscriptions": _subscriptions(user),
        "notifications": _notifications(user),
        "mail": _mail(user),
        "posts": _posts(user),
        "comments": _comments(user),
        "meetings_organised": _meetings(user),
        "meeting_documents": _documents(user),
        "named_recipient_of": _named_recipient(user),
        "meeting_participations": _participations(user),
        "calendar_subscription": _calendar_subscription(user),
        "workplan_changes": _workplan_changes(user),
        "audit_events": _audit(user),
    }


def export_personal_data(user: User) -> dict[str, Any]:
    """The export, recorded as ``account.data_export`` in the caller's transaction."""
    document = personal_data(user)
    record("account.data_export", actor=user, target=("user", user.id), target_org=user.organisation_id)
    return document
