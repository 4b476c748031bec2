"""The audit log: who did what to which item, when, from where. Never content, never secrets."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (sa.Index("ix_audit_events_target", "target_type", "target_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    #: ``area.verb``, e.g. ``attachment.download``, ``file.integrity_failure``, ``keys.rotate``.
    action: Mapped[str] = mapped_column(sa.String(64), index=True)
    #: ``ok``, ``denied`` or ``error``.
    outcome: Mapped[str] = mapped_column(sa.String(16), default="ok")
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    #: The actor's organisation at the time, kept when the user is erased.
    actor_org_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisations.id", ondelete="SET NULL"))
    target_type: Mapped[str | None] = mapped_column(sa.String(32))
    target_id: Mapped[str | None] = mapped_column(sa.String(64))
    #: Client address as seen by the portal (after the trusted proxy), or ``cli``.
    source: Mapped[str | None] = mapped_column(sa.String(64))
    #: Small facts about the event (byte counts, ids, reasons); ``app.audit.services`` refuses secrets.
    details: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
