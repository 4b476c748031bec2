"""Telling members what happened: an in-portal notification, and mail through the outbox.

``notify`` is the one way any feature tells a user something. It writes the notification
and, for immediate delivery, the outbox message, in the caller's transaction, so a rolled-back
action notifies nobody. Mail never carries an item's title or content when the item is
AMBER, AMBER+STRICT, RED or law-enforcement-only: only what happened, the marking and a link.
"""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from flask import current_app

from app.auth.models import User, UserStatus
from app.extensions import db
from app.notifications.models import DeliveryMode, MailState, Notification, OutboxMessage

log = logging.getLogger("pax.notifications")

#: What each kind of notification says, in the list and in mail: no title, no content.
KIND_TEXT = {
    "post.new": "New item in a cluster you follow",
    "meeting.invitation": "You are invited to a meeting",
    "meeting.changed": "A meeting you are invited to has changed",
    "workplan.overdue": "A workplan item your organisation leads is overdue",
    "account.approved": "Your PAX account is approved",
    "account.pending": "An account is waiting for your approval",
    "match.found": "An identifier in your incident note matches another organisation's note",
    "retention.warning": "An item you wrote will soon be deleted under the retention rules",
}

#: Where a notification's link leads, by target type (endpoint, URL argument).
TARGET_ENDPOINTS = {
    "post": ("clusters.post", "post_id"),
    "meeting": ("meetings.show", "meeting_id"),
    "workplan_item": ("workplan.item", "item_id"),
    "user": ("admin.user", "user_id"),
}


def target_path(target_type: str | None, target_id: int | None) -> str:
    """The portal path of a notification's target (``/notifications`` when it has none)."""
    from flask import url_for

    if target_type in TARGET_ENDPOINTS and target_id is not None:
        endpoint, argument = TARGET_ENDPOINTS[target_type]
        return url_for(endpoint, **{argument: target_id})
    return url_for("notifications.index")


def notify(
    user: User,
    kind: str,
    *,
    target: tuple[str, int] | None = None,
    tlp: Any = None,
    dedupe_key: str | None = None,
    mode: DeliveryMode | None = DeliveryMode.IMMEDIATE,
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
        dedupe_key=dedupe_key,
        mail_state=MailState.NONE if mode is None else MailState.DIGEST,
    )
    db.session.add(notification)
    if mode is DeliveryMode.IMMEDIATE:
        queue_mail(user, subject=subject_for(notification), body=body_for(notification))
        notification.mail_state = MailState.QUEUED
    db.session.flush()
    return notification


def marking_text(tlp: str | None) -> str:
    return f"TLP:{tlp}" if tlp else "no marking"


def subject_for(notification: Notification) -> str:
    marking = f" [TLP:{notification.tlp}]" if notification.tlp else ""
    return f"PAX: {KIND_TEXT[notification.kind]}{marking}"


def absolute_url(path: str) -> str:
    return current_app.config["BASE_URL"].rstrip("/") + path


def body_for(notification: Notification) -> str:
    """One notification's mail: what happened, the marking, the link. Never the item itself."""
    link = absolute_url(target_path(notification.target_type, notification.target_id))
    lines = [
        KIND_TEXT[notification.kind] + ".",
        "",
        f"Marking: {marking_text(notification.tlp)}",
        f"Open it in PAX (sign-in required): {link}",
        "",
        _footer(),
    ]
    return "\n".join(lines)


def _footer() -> str:
    settings = absolute_url("/notifications/settings")
    return (
        "This message holds no shared content on purpose: what members share stays in the portal.\n"
        f"Choose what PAX tells you: {settings}"
    )


def queue_mail(user: User, *, subject: str, body: str) -> OutboxMessage:
    """Put a mail for ``user`` in the outbox, in the caller's transaction."""
    message = OutboxMessage(user_id=user.id, to_address=user.email, subject=subject[:300], body=body)
    db.session.add(message)
    return message
