"""Subscriptions, notifications and the mail outbox.

A notification names what happened (``kind``), the thing it is about (``target_type``,
``target_id``) and that thing's marking; never its title or content. Pages show the title
only by reading the target again through the policy, so a notification cannot outlive the
reader's right to see what it points at. Mail goes into ``outbox_messages`` in the same
transaction as the action and is delivered by ``flask outbox send``.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import User
from app.db import Base, utcnow
from app.enums import StrEnum, enum_column_type

_MODE_LABELS = {"immediate": _l("Immediately"), "daily": _l("Daily digest")}


class DeliveryMode(StrEnum):
    IMMEDIATE = "immediate"
    DAILY = "daily"

    @property
    def label(self) -> str:
        return str(_MODE_LABELS[self.value])


class Subscription(Base):
    """A member's wish to hear about new items in a cluster, immediately or in a daily digest."""

    __tablename__ = "subscriptions"
    __table_args__ = (sa.UniqueConstraint("user_id", "cluster_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    cluster_id: Mapped[int] = mapped_column(sa.ForeignKey("clusters.id", ondelete="CASCADE"), index=True)
    mode: Mapped[DeliveryMode] = mapped_column(enum_column_type(DeliveryMode, "delivery_mode"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship()


class MailState(StrEnum):
    #: No mail for this notification.
    NONE = "none"
    #: Waiting for the user's next daily digest.
    DIGEST = "digest"
    #: Put in the outbox (alone or in a digest).
    QUEUED = "queued"


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (
        sa.Index("ix_notifications_user_id_read_at", "user_id", "read_at"),
        sa.Index("ix_notifications_mail_state_user_id", "mail_state", "user_id"),
        #: One notification per user, kind and target and occasion (``dedupe_key``), e.g. one
        #: overdue warning per item and due date, one retention warning per post.
        sa.UniqueConstraint("user_id", "dedupe_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    #: ``post.new``, ``meeting.invitation``, ``meeting.changed``, ``workplan.overdue``,
    #: ``account.approved``, ``account.pending``, ``match.found``, ``retention.warning``,
    #: ``marking.changed`` (the rest: ``app.notifications.services.KIND_TEXT``).
    kind: Mapped[str] = mapped_column(sa.String(40))
    target_type: Mapped[str | None] = mapped_column(sa.String(32))
    target_id: Mapped[int | None] = mapped_column()
    #: The target's marking when notified (shown beside the link; decides what mail may say).
    tlp: Mapped[str | None] = mapped_column(sa.String(16))
    #: ``marking.changed``: the marking before the change, and who changed it.
    previous_tlp: Mapped[str | None] = mapped_column(sa.String(16))
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    dedupe_key: Mapped[str | None] = mapped_column(sa.String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    read_at: Mapped[datetime | None] = mapped_column()
    mail_state: Mapped[MailState] = mapped_column(enum_column_type(MailState, "mail_state"), default=MailState.NONE)


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    #: Gave up after the last attempt; an operator can see it and requeue.
    FAILED = "failed"


class OutboxMessage(Base):
    """A mail waiting to be sent, written in the transaction of the action that caused it."""

    __tablename__ = "outbox_messages"
    __table_args__ = (sa.Index("ix_outbox_messages_status_next_attempt_at", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Erasing a user removes their undelivered mail with them.
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    to_address: Mapped[str] = mapped_column(sa.String(320))
    subject: Mapped[str] = mapped_column(sa.String(300))
    body: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[OutboxStatus] = mapped_column(
        enum_column_type(OutboxStatus, "outbox_status"), default=OutboxStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Why the last attempt failed (the SMTP reply or the connection error), never the mail.
    last_error: Mapped[str | None] = mapped_column(sa.String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column()
    #: The ``outbox send`` run that is delivering the message, and until when its claim holds
    #: (a run that dies leaves a claim that expires, and the message is due again after it).
    claimed_by: Mapped[str | None] = mapped_column(sa.String(32))
    claimed_until: Mapped[datetime | None] = mapped_column()
