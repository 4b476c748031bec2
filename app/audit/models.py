"""The audit log: who did what to which item, when, from where. Never content, never secrets.

Records are append-only and chained: each carries a gapless sequence number and an HMAC over
its own fields and the previous record's HMAC, keyed by the keyring's ``audit_hmac`` key
(``app.audit.chain``). Actor and organisation ids are plain numbers, not foreign keys: erasing
or removing an account must never rewrite (and so break) the chain.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow

#: Events that say someone read or took an organisation's item; the organisation sees these.
ACCESS_ACTIONS = (
    "post.view",
    "meeting.view",
    "attachment.download",
    "meeting.document_download",
    "meeting.pack_download",
    "attachment.preview",
    "meeting.document_preview",
    "post.files_download",
)
#: ``outcome`` values.
OUTCOMES = ("ok", "denied", "error")


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (
        sa.Index("ix_audit_events_target", "target_type", "target_id"),
        sa.Index("ix_audit_events_actor_org_id_seq", "actor_org_id", "seq"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Gapless position in the chain, from 1; assigned when the record is flushed.
    seq: Mapped[int] = mapped_column(sa.BigInteger, unique=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    #: ``area.verb``, e.g. ``attachment.download``, ``file.integrity_failure``, ``keys.rotate``.
    action: Mapped[str] = mapped_column(sa.String(64), index=True)
    #: ``ok``, ``denied`` or ``error``.
    outcome: Mapped[str] = mapped_column(sa.String(16), default="ok")
    actor_id: Mapped[int | None] = mapped_column(index=True)
    #: The actor's organisation at the time, kept when the user is erased.
    actor_org_id: Mapped[int | None] = mapped_column()
    target_type: Mapped[str | None] = mapped_column(sa.String(32))
    target_id: Mapped[str | None] = mapped_column(sa.String(64))
    #: The organisation whose item the target is (a post's author organisation, ...), so an
    #: organisation can see who accessed its items without joining live tables.
    target_org_id: Mapped[int | None] = mapped_column(index=True)
    #: Client address as seen by the portal (after the trusted proxy), or ``cli``.
    source: Mapped[str | None] = mapped_column(sa.String(64))
    #: Small facts about the event (byte counts, ids, reasons); ``app.audit.services`` refuses secrets.
    details: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    #: HMAC-SHA256 (hex) of the previous record's ``mac`` and this record's canonical form.
    mac: Mapped[str] = mapped_column(sa.String(64))


class AuditChainHead(Base):
    """The one row that says where the chain ends; updating it serialises writers, so sequence
    numbers stay gapless, and its own MAC lets ``audit verify`` notice records cut off the end."""

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    #: The last record's ``mac`` (64 zeros for an empty chain).
    mac: Mapped[str] = mapped_column(sa.String(64))
    #: HMAC of (seq, mac) under the audit key.
    head_mac: Mapped[str] = mapped_column(sa.String(64))
    #: Which backend's audit key new records are MACed under (``file``, ``pkcs11``); NULL: as the
    #: installation started (``app.keys.backend.starting_custody``).
    custody: Mapped[str | None] = mapped_column(sa.String(16))
