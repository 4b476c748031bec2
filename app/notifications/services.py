"""Telling members what happened: an in-portal notification, and mail through the outbox.

``notify`` is the one way any feature tells a user something. It writes the notification
and, for immediate delivery, the outbox message, in the caller's transaction, so a rolled-back
action notifies nobody. Mail never carries an item's title or content, whatever its marking:
only what happened, the marking and a link (a mailbox is not a need-to-know audience).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import current_app, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from app import localtime
from app.auth.models import User, UserStatus
from app.clusters.models import Cluster, Post
from app.db import utcnow
from app.extensions import db
from app.i18n import in_language_of
from app.markings import Tlp
from app.meetings.models import Meeting
from app.notifications.models import DeliveryMode, MailState, Notification, OutboxMessage, Subscription
from app.policy import visible_meetings, visible_posts

log = logging.getLogger("pax.notifications")

#: What each kind of notification says, in the list and in mail: no title, no content.
KIND_TEXT = {
    "post.new": _l("New item in a cluster you follow"),
    "meeting.invitation": _l("You are invited to a meeting"),
    "meeting.changed": _l("A meeting you are invited to has changed"),
    "meeting.delegation": _l("Your organisation is invited to a meeting: name its delegation"),
    "meeting.reminder": _l("Reminder: a meeting you are invited to is coming up"),
    "workplan.overdue": _l("A workplan item your organisation leads is overdue"),
    "account.approved": _l("Your PAX account is approved"),
    "account.pending": _l("An account is waiting for your approval"),
    "match.found": _l("An identifier in your incident note matches another organisation's note"),
    "retention.warning": _l("An item you wrote will soon be deleted under the retention rules"),
    "idp.added": _l("A sign-in service was added for your organisation"),
    "idp.changed": _l("The settings of your organisation's sign-in service were changed"),
    "idp.mfa_exempt_requested": _l("Your confirmation is needed to rely on your sign-in service's second factor"),
    "identity_link.pending": _l("A sign-in service asks to open an account of your organisation"),
    "marking.changed": _l("The marking of an item you or your organisation shared was changed"),
    "upload.infected": _l("A file you uploaded was found to contain malware when it was scanned, and was destroyed"),
}

#: Where a notification's link leads, by target type (endpoint, URL argument or None).
#: A pending account leads to the approvals page: focal points approve there and may not open
#: an account's administration page.
TARGET_ENDPOINTS: dict[str, tuple[str, str | None]] = {
    "post": ("clusters.post", "post_id"),
    "meeting": ("meetings.show", "meeting_id"),
    "workplan_item": ("workplan.item", "item_id"),
    "user": ("admin.approvals", None),
    # a focal point decides these on the organisation's sign-in page
    "identity_provider": ("admin.sign_in_settings", None),
    "identity_link_request": ("admin.sign_in_settings", None),
}


def _target_endpoint(target_type: str | None, target_id: int | None) -> tuple[str, dict[str, int]]:
    if target_type in TARGET_ENDPOINTS and target_id is not None:
        endpoint, argument = TARGET_ENDPOINTS[target_type]
        return endpoint, ({argument: target_id} if argument else {})
    return "notifications.index", {}


def target_path(target_type: str | None, target_id: int | None) -> str:
    """The portal path of a notification's target (``/notifications/`` when it has none), for pages."""
    endpoint, values = _target_endpoint(target_type, target_id)
    return url_for(endpoint, **values)


def target_link(target_type: str | None, target_id: int | None) -> str:
    """The absolute address of a notification's target under ``PAX_BASE_URL``, for mail. Built
    from the URL map alone: mail is also written by CLI commands, outside any request."""
    endpoint, values = _target_endpoint(target_type, target_id)
    return absolute_url(current_app.url_map.bind("pax.invalid").build(endpoint, values))


def notify(
    user: User,
    kind: str,
    *,
    target: tuple[str, int] | None = None,
    tlp: Any = None,
    dedupe_key: str | None = None,
    mode: DeliveryMode | None = DeliveryMode.IMMEDIATE,
    previous_tlp: Any = None,
    actor: User | None = None,
) -> Notification | None:
    """Notify ``user`` of ``kind`` about ``target``; ``mode`` None means in the portal only.

    With a ``dedupe_key`` the same user is told of the same occasion once: a second call
    returns None. Only active accounts are notified, except for ``account.approved``.
    """
    if kind not in KIND_TEXT:
        raise ValueError(f"unknown notification kind {kind!r}")
    if user.erased_at is not None or (user.status is not UserStatus.ACTIVE and kind != "account.approved"):
        return None
    if dedupe_key is not None:
        seen = db.session.scalar(
            sa.select(Notification.id).where(Notification.user_id == user.id, Notification.dedupe_key == dedupe_key)
        )
        if seen is not None:
            return None
    target_type, target_id = target if target else (None, None)
    notification = Notification(
        user_id=user.id,
        kind=kind,
        target_type=target_type,
        target_id=target_id,
        tlp=getattr(tlp, "value", tlp),
        previous_tlp=getattr(previous_tlp, "value", previous_tlp),
        actor_id=actor.id if actor is not None else None,
        dedupe_key=dedupe_key,
        mail_state=MailState.NONE if mode is None else MailState.DIGEST,
    )
    db.session.add(notification)
    if mode is DeliveryMode.IMMEDIATE:
        # Written in the recipient's language, never the sender's.
        with in_language_of(user):
            subject, body = subject_for(notification), body_for(notification, user)
        queue_mail(user, subject=subject, body=body)
        notification.mail_state = MailState.QUEUED
    db.session.flush()
    return notification


def tlp_text(tlp: str | None) -> str | None:
    """``TLP:AMBER`` and so on, as FIRST writes it in every language; None for no marking."""
    return f"TLP:{tlp}" if tlp else None


def marking_line(notification: Notification) -> str:
    """The mail's "Marking: ..." line, with the marking before a change when there was one."""
    marking, previous = tlp_text(notification.tlp), tlp_text(notification.previous_tlp)
    if previous:
        if marking:
            return _("Marking: %(marking)s (was %(previous)s)", marking=marking, previous=previous)
        return _("Marking: no marking (was %(previous)s)", previous=previous)
    if marking:
        return _("Marking: %(marking)s", marking=marking)
    return _("Marking: no marking")


def subject_for(notification: Notification) -> str:
    text = str(KIND_TEXT[notification.kind])
    if marking := tlp_text(notification.tlp):
        return _("PAX: %(text)s [%(marking)s]", text=text, marking=marking)
    return _("PAX: %(text)s", text=text)


def absolute_url(path: str) -> str:
    return current_app.config["BASE_URL"].rstrip("/") + path


def when_text(notification: Notification, recipient: User) -> str | None:
    """When a meeting takes place, in the recipient's zone with the zone named; None for anything
    else. A TLP:RED meeting's mail says no more than that it exists, as its calendar event does."""
    if notification.target_type != "meeting" or notification.target_id is None:
        return None
    meeting = db.session.get(Meeting, notification.target_id)
    if meeting is None or meeting.tlp is Tlp.RED:
        return None
    return localtime.format_span(meeting.starts_at, meeting.ends_at, localtime.zone_of(recipient))


def body_for(notification: Notification, recipient: User) -> str:
    """One notification's mail: what happened, the marking, when (for a meeting), the link.
    Never the item itself."""
    link = target_link(notification.target_type, notification.target_id)
    when = when_text(notification, recipient)
    lines = [
        str(KIND_TEXT[notification.kind]) + ".",
        "",
        *([_("When: %(when)s", when=when)] if when else []),
        marking_line(notification),
        _("Open it in PAX (sign-in required): %(link)s", link=link),
        "",
        _footer(),
    ]
    return "\n".join(lines)


def _footer() -> str:
    settings = absolute_url("/notifications/settings")
    return (
        _("This message holds no shared content on purpose: what members share stays in the portal.")
        + "\n"
        + _("Choose what PAX tells you: %(link)s", link=settings)
    )


def queue_mail(user: User, *, subject: str, body: str) -> OutboxMessage:
    """Put a mail for ``user`` in the outbox, in the caller's transaction."""
    message = OutboxMessage(user_id=user.id, to_address=user.email, subject=subject[:300], body=body)
    db.session.add(message)
    return message


# --- subscriptions ---------------------------------------------------------------------------------


def set_subscription(user: User, cluster: Cluster, mode: DeliveryMode | None) -> bool:
    """Make ``user`` hear of new items in ``cluster`` as ``mode`` says (None: not at all).

    Returns whether anything changed. Who hears of which item is still decided per item by the
    policy when it is published: a subscription never widens what a member may see.
    """
    subscription = db.session.scalar(
        sa.select(Subscription).where(Subscription.user_id == user.id, Subscription.cluster_id == cluster.id)
    )
    if mode is None:
        if subscription is None:
            return False
        db.session.delete(subscription)
    elif subscription is None:
        db.session.add(Subscription(user_id=user.id, cluster_id=cluster.id, mode=mode))
    elif subscription.mode is mode:
        return False
    else:
        subscription.mode = mode
    db.session.flush()
    log.info("user %s follows cluster %s: %s", user.id, cluster.slug, mode.value if mode else "no longer")
    return True


# --- reading ---------------------------------------------------------------------------------------


def mark_read(user: User, notification_id: int, *, now: datetime | None = None) -> bool:
    """Mark one of ``user``'s own notifications read; False when it is not theirs (or not there)."""
    notification = db.session.scalar(
        sa.select(Notification).where(Notification.id == notification_id, Notification.user_id == user.id)
    )
    if notification is None:
        return False
    if notification.read_at is None:
        notification.read_at = now or utcnow()
        db.session.flush()
    return True


def mark_all_read(user: User, *, now: datetime | None = None) -> int:
    """Mark every unread notification of ``user`` read; returns how many were unread."""
    result = db.session.execute(
        sa.update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


# --- the daily digest ------------------------------------------------------------------------------


@dataclass(frozen=True)
class DigestRun:
    mails: int
    notifications: int


def digest_body(notifications: list[Notification], recipient: User) -> str:
    """One mail listing several notifications: each what happened, its marking, when (for a
    meeting) and its link."""
    count = len(notifications)
    lines = [
        ngettext(
            "Your PAX daily digest: %(num)d notification.", "Your PAX daily digest: %(num)d notifications.", count
        ),
        "",
    ]
    for notification in notifications:
        link = target_link(notification.target_type, notification.target_id)
        text = str(KIND_TEXT[notification.kind])
        if marking := tlp_text(notification.tlp):
            lines.append(_("- %(text)s (%(marking)s)", text=text, marking=marking))
        else:
            lines.append(_("- %(text)s (no marking)", text=text))
        if when := when_text(notification, recipient):
            lines.append("  " + _("When: %(when)s", when=when))
        lines.append(f"  {link}")
    lines += ["", _("Open them in PAX (sign-in required)."), "", _footer()]
    return "\n".join(lines)


def _target_still_visible(user: User, notification: Notification) -> bool:
    kind = {"post": (Post, visible_posts), "meeting": (Meeting, visible_meetings)}.get(notification.target_type or "")
    if kind is None or notification.target_id is None:
        return True
    model, visible = kind
    found = db.session.scalar(sa.select(model.id).where(model.id == notification.target_id, visible(user)))
    return found is not None


def queue_digests(*, now: datetime | None = None) -> DigestRun:
    """Put one mail per user in the outbox listing their notifications waiting for the digest
    (created up to ``now``), and mark those queued, in the caller's transaction.

    Notifications of accounts that can no longer receive mail (suspended, erased) are dropped
    from the mail rather than left waiting for ever.
    """
    now = now or utcnow()
    waiting = (
        sa.select(Notification)
        .where(Notification.mail_state == MailState.DIGEST, Notification.created_at <= now)
        .order_by(Notification.user_id, Notification.created_at, Notification.id)
    )
    by_user: dict[int, list[Notification]] = {}
    for notification in db.session.scalars(waiting):
        by_user.setdefault(notification.user_id, []).append(notification)
    mails = counted = 0
    for user_id, notifications in by_user.items():
        user = db.session.get(User, user_id)
        deliverable = user is not None and user.status is UserStatus.ACTIVE and user.erased_at is None
        for notification in notifications:
            notification.mail_state = MailState.QUEUED if deliverable else MailState.NONE
        if not deliverable:
            continue
        # A notification of an item the reader may no longer see (its marking tightened since)
        # stays in the portal, where it says so, and leaves the mail.
        notifications = [n for n in notifications if _target_still_visible(user, n)]
        if not notifications:
            continue
        count = len(notifications)
        # Written in the recipient's language, never the sender's.
        with in_language_of(user):
            subject = ngettext(
                "PAX: your daily digest (%(num)d notification)", "PAX: your daily digest (%(num)d notifications)", count
            )
            body = digest_body(notifications, user)
        queue_mail(user, subject=subject, body=body)
        mails += 1
        counted += count
    db.session.flush()
    log.info("daily digest: %s mails for %s notifications", mails, counted)
    return DigestRun(mails=mails, notifications=counted)
