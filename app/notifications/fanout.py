"""Who hears of what: the fan-out of new posts, meetings, workplan deadlines and accounts.

Each function runs in the transaction of the action it announces and tells people through
``notify``. Candidates come from a plain SQL pre-selection (subscribers, invitees, focal points);
whether a candidate may hear of an item is then asked of the policy, one existence query per
candidate with ``visible_posts`` / ``visible_meetings`` / ``approvable_users``, so these
functions hold no access rule of their own.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa

from app.audit.services import record
from app.auth.models import GlobalRole, User, UserStatus
from app.clusters.models import ClusterMembership, MembershipRole, Post
from app.extensions import db
from app.markings import Marking, marking_details
from app.meetings.models import (
    Meeting,
    MeetingDocument,
    MeetingInvitation,
    MeetingKind,
    MeetingParticipant,
    MeetingRecipientOrg,
    MeetingRecipientUser,
)
from app.notifications.models import DeliveryMode, Subscription
from app.notifications.services import notify
from app.policy import approvable_users, visible_meeting_documents, visible_meetings, visible_posts
from app.workplan.models import ItemStatus, WorkplanItem, WorkplanItemLead

log = logging.getLogger("pax.notifications")


def _reachable(stmt: sa.Select[Any]) -> sa.Select[Any]:
    """Accounts that can be told anything at all."""
    return stmt.where(User.status == UserStatus.ACTIVE, User.erased_at.is_(None))


def _these_or_focal_points(these: sa.ColumnElement[bool], organisation_id: int, but: int) -> sa.Select[Any]:
    """Reachable accounts that ``these`` selects or that are focal points of ``organisation_id``,
    except the account ``but``, in id order."""
    focal = sa.and_(User.is_focal_point.is_(True), User.organisation_id == organisation_id)
    return _reachable(sa.select(User).where(sa.or_(these, focal), User.id != but).order_by(User.id))


def _admits(query: sa.Select[Any]) -> bool:
    return bool(db.session.scalar(sa.select(query.exists())))


# --- posts -----------------------------------------------------------------------------------------


def announce_post(post: Post) -> None:
    """Notify the cluster's subscribers who may see ``post`` (never its author), each in the
    delivery mode of their subscription."""
    stmt = _reachable(
        sa.select(User, Subscription.mode)
        .join(Subscription, Subscription.user_id == User.id)
        .where(Subscription.cluster_id == post.cluster_id)
        .order_by(User.id)
    )
    if post.author_id is not None:
        stmt = stmt.where(User.id != post.author_id)
    told = 0
    for user, mode in db.session.execute(stmt).all():
        if not _admits(sa.select(Post.id).where(Post.id == post.id, visible_posts(user))):
            continue
        if notify(
            user, "post.new", target=("post", post.id), tlp=post.tlp, dedupe_key=f"post.new:{post.id}", mode=mode
        ):
            told += 1
    if told:
        log.info("post %s announced to %s subscribers", post.id, told)


# --- meetings --------------------------------------------------------------------------------------


def meeting_facts(meeting: Meeting) -> tuple[Any, ...]:
    """What invitees are told about when it changes: time, place, online flag and marking."""
    return (
        meeting.starts_at,
        meeting.ends_at,
        meeting.location,
        meeting.online,
        meeting.video_link,
        meeting.tlp,
        meeting.law_enforcement_only,
    )


def meeting_audience(meeting: Meeting) -> list[User]:
    """Who is invited to ``meeting``: its named recipients, the active users of its recipient
    organisations, its participants (``app.meetings.invitations``) and, for a technical meeting,
    its cluster's members; each only when the policy lets them see the meeting, and never the
    organiser."""
    invited = [
        User.id.in_(sa.select(MeetingParticipant.user_id).where(MeetingParticipant.meeting_id == meeting.id)),
        User.id.in_(sa.select(MeetingRecipientUser.user_id).where(MeetingRecipientUser.meeting_id == meeting.id)),
        User.organisation_id.in_(
            sa.select(MeetingRecipientOrg.organisation_id).where(MeetingRecipientOrg.meeting_id == meeting.id)
        ),
    ]
    if meeting.kind is MeetingKind.TECHNICAL and meeting.cluster_id is not None:
        invited.append(
            User.id.in_(sa.select(ClusterMembership.user_id).where(ClusterMembership.cluster_id == meeting.cluster_id))
        )
    stmt = _reachable(sa.select(User).where(sa.or_(*invited)).order_by(User.id))
    if meeting.author_id is not None:
        stmt = stmt.where(User.id != meeting.author_id)
    return [
        user
        for user in db.session.scalars(stmt).all()
        if _admits(sa.select(Meeting.id).where(Meeting.id == meeting.id, visible_meetings(user)))
    ]


def announce_meeting(meeting: Meeting, *, changed: bool = False) -> None:
    """Invite everyone in the meeting's audience not invited yet; with ``changed`` (its time,
    place, online flag or marking changed) tell those already invited of the change."""
    target = ("meeting", meeting.id)
    invitations = changes = 0
    for user in meeting_audience(meeting):
        if notify(
            user, "meeting.invitation", target=target, tlp=meeting.tlp, dedupe_key=f"meeting.invitation:{meeting.id}"
        ):
            invitations += 1
        elif changed and notify(user, "meeting.changed", target=target, tlp=meeting.tlp):
            changes += 1
    if changed:
        # The focal points asked to name a delegation hear of the change too.
        focal_points = _reachable(
            sa.select(User)
            .join(MeetingInvitation, MeetingInvitation.organisation_id == User.organisation_id)
            .where(MeetingInvitation.meeting_id == meeting.id, User.is_focal_point.is_(True))
            .order_by(User.id)
        )
        told = {u.id for u in meeting_audience(meeting)}
        for user in db.session.scalars(focal_points).unique().all():
            if user.id in told or user.id == meeting.author_id:
                continue
            if _admits(sa.select(Meeting.id).where(Meeting.id == meeting.id, visible_meetings(user))):
                changes += bool(notify(user, "meeting.changed", target=target, tlp=meeting.tlp))
    if invitations or changes:
        log.info("meeting %s: %s invitations, %s change notices", meeting.id, invitations, changes)


# --- changes of marking ----------------------------------------------------------------------------


def _sees_item_now(user: User, item: Any) -> bool:
    if isinstance(item, Post):
        return _admits(sa.select(Post.id).where(Post.id == item.id, visible_posts(user)))
    if isinstance(item, Meeting):
        return _admits(sa.select(Meeting.id).where(Meeting.id == item.id, visible_meetings(user)))
    if isinstance(item, MeetingDocument):
        return _admits(
            sa.select(MeetingDocument.id)
            .join(Meeting, Meeting.id == MeetingDocument.meeting_id)
            .where(MeetingDocument.id == item.id, visible_meeting_documents(user))
        )
    raise TypeError(f"no marking to announce on {type(item).__name__}")


def record_marking_change(
    editor: User, item: Post | Meeting | MeetingDocument, old: Marking, new: Marking, **details: Any
) -> None:
    """A change of ``item``'s marking from ``old`` to ``new`` (nothing when they are equal): one
    ``<type>.marking_change`` audit event (markings, flags and recipient counts, never names or
    content) and a notice to the item's originators (``announce_marking_change``)."""
    if old == new:
        return
    target_type = {Post: "post", Meeting: "meeting", MeetingDocument: "meeting_document"}[type(item)]
    record(
        f"{target_type}.marking_change",
        actor=editor,
        target=(target_type, item.id),
        target_org=item.author_org_id,
        **details,
        **marking_details(old, new),
    )
    announce_marking_change(editor, item, old)


def announce_marking_change(editor: User, item: Post | Meeting | MeetingDocument, old: Marking) -> int:
    """Tell the item's author and the focal points of the author's organisation (not ``editor``)
    that its marking changed, each only when the policy lets them see the item with its new
    marking. A meeting document's notice links to its meeting. Returns how many were told."""
    stmt = _these_or_focal_points(User.id == item.author_id, item.author_org_id, editor.id)
    if isinstance(item, Post):
        target = ("post", item.id)
    else:
        target = ("meeting", item.meeting_id if isinstance(item, MeetingDocument) else item.id)
    told = 0
    for user in db.session.scalars(stmt).all():
        told_now = (
            notify(user, "marking.changed", target=target, tlp=item.tlp, previous_tlp=old.tlp, actor=editor)
            if _sees_item_now(user, item)
            else None
        )
        if told_now:
            told += 1
    return told


# --- the workplan ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class OverdueRun:
    items: int
    notified: int


def announce_overdue(today: date) -> OverdueRun:
    """Tell the focal points of the lead organisations and the cluster's coordinators of each
    open workplan item past its due date, once per item and due date (a new due date that
    passes again is a new occasion)."""
    closed = [s for s in ItemStatus if not s.is_open]
    items = db.session.scalars(
        sa.select(WorkplanItem)
        .where(WorkplanItem.due_date < today, WorkplanItem.status.notin_(closed))
        .order_by(WorkplanItem.id)
    ).all()
    notified = 0
    for item in items:
        leads = sa.select(WorkplanItemLead.organisation_id).where(WorkplanItemLead.item_id == item.id)
        coordinators = sa.select(ClusterMembership.user_id).where(
            ClusterMembership.cluster_id == item.cluster_id, ClusterMembership.role == MembershipRole.COORDINATOR
        )
        recipients = _reachable(
            sa.select(User)
            .where(
                sa.or_(
                    sa.and_(User.is_focal_point.is_(True), User.organisation_id.in_(leads)), User.id.in_(coordinators)
                )
            )
            .order_by(User.id)
        )
        key = f"workplan.overdue:{item.id}:{item.due_date.isoformat() if item.due_date else ''}"
        for user in db.session.scalars(recipients).all():
            if notify(user, "workplan.overdue", target=("workplan_item", item.id), dedupe_key=key):
                notified += 1
    log.info("overdue workplan items: %s, people notified: %s", len(items), notified)
    return OverdueRun(items=len(items), notified=notified)


# --- accounts --------------------------------------------------------------------------------------


def announce_pending_account(user: User) -> None:
    """Tell those who may approve a new pending account (its organisation's focal points and the
    administrators, as the policy's ``approvable_users`` decides) that it waits for them."""
    candidates = _these_or_focal_points(User.role == GlobalRole.ADMIN, user.organisation_id, user.id)
    for approver in db.session.scalars(candidates).all():
        if _admits(sa.select(User.id).where(User.id == user.id, approvable_users(approver))):
            notify(approver, "account.pending", target=("user", user.id), dedupe_key=f"account.pending:{user.id}")


def announce_approval(user: User) -> None:
    """Tell a just-approved person by mail; they have no portal list to look at until they sign in."""
    notify(user, "account.approved", dedupe_key=f"account.approved:{user.id}", mode=DeliveryMode.IMMEDIATE)


# --- identity providers ----------------------------------------------------------------------------


def _focal_points(organisation_id: int) -> list[User]:
    return list(
        db.session.scalars(
            _reachable(
                sa.select(User).where(User.is_focal_point.is_(True), User.organisation_id == organisation_id)
            ).order_by(User.id)
        )
    )


def announce_provider_change(provider: Any, change: str) -> None:
    """Tell the organisation's focal points, by mail, that its sign-in service was added or
    changed, or that relying on its second factor waits for their confirmation (``change``:
    ``added``, ``changed``, ``mfa_exempt_requested``). Each occasion is told once."""
    kind = {"added": "idp.added", "changed": "idp.changed", "mfa_exempt_requested": "idp.mfa_exempt_requested"}[change]
    occasion = f"{kind}:{provider.id}:{secrets.token_hex(8)}"  # every change is its own occasion
    for focal in _focal_points(provider.organisation_id):
        notify(focal, kind, target=("identity_provider", provider.id), dedupe_key=occasion)


def announce_link_request(link: Any) -> None:
    """Tell the account's organisation's focal points that a provider identity waits to be linked."""
    for focal in _focal_points(link.user.organisation_id):
        if focal.id == link.user_id:
            continue
        notify(
            focal,
            "identity_link.pending",
            target=("identity_link_request", link.id),
            dedupe_key=f"identity_link.pending:{link.id}",
        )
