"""Meetings, their agenda items, and the encrypted documents prepared for them.

A meeting carries a TLP marking, an optional "law enforcement only" flag, its cluster (for
technical meetings), its organiser and the organiser's organisation, and named recipient
organisations and people, exactly like a post. A document narrows its meeting's audience with
its own marking (same or stricter) and its own author. ``app.policy.visible_meetings`` and
``visible_meeting_documents`` decide who sees which.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.concurrency import versioned
from app.db import Base, utcnow
from app.enums import StrEnum, enum_column_type
from app.files.models import FileVersion, StoredFile
from app.markings import Marked, OrgRecipient, Tlp, UserRecipient, strictest

if TYPE_CHECKING:
    from app.auth.models import User
    from app.clusters.models import Cluster
    from app.directory.models import Organisation


KIND_LABELS = {
    "technical": _l("Technical cluster meeting"),
    "senior_officials": _l("Senior Officials' meeting"),
    "ministerial": _l("Ministerial meeting"),
}


class MeetingKind(StrEnum):
    TECHNICAL = "technical"
    SENIOR_OFFICIALS = "senior_officials"
    MINISTERIAL = "ministerial"

    @property
    def label(self) -> str:
        """The kind's name in the reader's language."""
        return str(KIND_LABELS[self.value])


class Meeting(Marked, Base):
    __tablename__ = "meetings"
    __table_args__ = (
        sa.CheckConstraint("ends_at >= starts_at", name="ends_after_start"),
        sa.CheckConstraint("(kind = 'technical') = (cluster_id IS NOT NULL)", name="technical_has_cluster"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[MeetingKind] = mapped_column(enum_column_type(MeetingKind, "meeting_kind"))
    #: Technical meetings belong to one cluster; Senior Officials' and ministerial meetings to none.
    cluster_id: Mapped[int | None] = mapped_column(sa.ForeignKey("clusters.id"), index=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    starts_at: Mapped[datetime] = mapped_column(index=True)
    ends_at: Mapped[datetime] = mapped_column()
    #: Where it takes place (a venue and city); empty for an online-only meeting.
    location: Mapped[str] = mapped_column(sa.String(300), default="")
    online: Mapped[bool] = mapped_column(default=False)
    #: The video-conference address: shown only to the meeting's audience (it carries the
    #: meeting's marking) and left out of calendar files of AMBER and stricter meetings.
    video_link: Mapped[str] = mapped_column(sa.String(500), default="", server_default="")
    # The marking (``Marked``): its author is the organiser; AMBER+STRICT and RED visibility key
    # on them and their organisation.
    #: Minutes in Markdown as written, and their sanitised rendering.
    minutes: Mapped[str] = mapped_column(sa.Text, default="")
    minutes_html: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Moves by one with each save; a save compares and sets it (``app.concurrency``).
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    __mapper_args__ = versioned(version)

    cluster: Mapped[Cluster | None] = relationship(lazy="joined")
    author: Mapped[User | None] = relationship(lazy="joined")
    author_org: Mapped[Organisation] = relationship(lazy="joined")
    agenda: Mapped[list[AgendaItem]] = relationship(
        back_populates="meeting", cascade="all, delete-orphan", order_by="AgendaItem.position"
    )
    recipient_orgs: Mapped[list[MeetingRecipientOrg]] = relationship(cascade="all, delete-orphan")
    recipient_users: Mapped[list[MeetingRecipientUser]] = relationship(cascade="all, delete-orphan")
    invitations: Mapped[list[MeetingInvitation]] = relationship(
        back_populates="meeting", cascade="all, delete-orphan", order_by="MeetingInvitation.id"
    )
    #: Deleting a meeting must crypto-shred these first.
    documents: Mapped[list[MeetingDocument]] = relationship(
        back_populates="meeting", cascade="all, delete-orphan", order_by="MeetingDocument.position"
    )


class MeetingRecipientOrg(OrgRecipient, Base):
    __tablename__ = "meeting_recipient_orgs"

    meeting_id: Mapped[int] = mapped_column(sa.ForeignKey("meetings.id", ondelete="CASCADE"), primary_key=True)


class MeetingRecipientUser(UserRecipient, Base):
    __tablename__ = "meeting_recipient_users"

    meeting_id: Mapped[int] = mapped_column(sa.ForeignKey("meetings.id", ondelete="CASCADE"), primary_key=True)


class AgendaItem(Base):
    __tablename__ = "agenda_items"
    __table_args__ = (sa.UniqueConstraint("meeting_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(sa.ForeignKey("meetings.id", ondelete="CASCADE"), index=True)
    #: 1, 2, 3... in agenda order; the pack numbers its files by it.
    position: Mapped[int] = mapped_column()
    title: Mapped[str] = mapped_column(sa.String(200))
    #: Plain text: presenter, purpose, expected outcome.
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    #: When the item starts (UTC; None: not timed) and how long it lasts.
    starts_at: Mapped[datetime | None] = mapped_column()
    duration_minutes: Mapped[int | None] = mapped_column()
    #: Who speaks to it, as plain text (names and organisations).
    speakers: Mapped[str] = mapped_column(sa.String(300), default="", server_default="")
    #: Moves by one with each save; a save compares and sets it (``app.concurrency``).
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    __mapper_args__ = versioned(version)

    meeting: Mapped[Meeting] = relationship(back_populates="agenda")
    documents: Mapped[list[MeetingDocument]] = relationship(
        back_populates="agenda_item", order_by="MeetingDocument.position"
    )


class MeetingDocument(Marked, Base):
    """A document for a meeting or one of its agenda items; its bytes are a ``StoredFile``."""

    __tablename__ = "meeting_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(sa.ForeignKey("meetings.id", ondelete="CASCADE"), index=True)
    #: None for a document of the meeting as a whole (it comes before the agenda's in a pack).
    agenda_item_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("agenda_items.id", ondelete="SET NULL"), index=True
    )
    file_id: Mapped[int] = mapped_column(sa.ForeignKey("stored_files.id", ondelete="CASCADE"), unique=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    #: Order among the documents of the same agenda item (or of the meeting as a whole).
    position: Mapped[int] = mapped_column(default=1)
    # The marking (``Marked``): the meeting's or a stricter one; the document's audience is the
    # meeting's narrowed by it.
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Moves by one with each save; a save compares and sets it (``app.concurrency``).
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    __mapper_args__ = versioned(version)

    meeting: Mapped[Meeting] = relationship(back_populates="documents")
    agenda_item: Mapped[AgendaItem | None] = relationship(back_populates="documents")
    #: The latest version's file: what the meeting lists, packs hold and a plain download sends.
    file: Mapped[StoredFile] = relationship(lazy="joined")
    author: Mapped[User | None] = relationship(lazy="joined")
    versions: Mapped[list[MeetingDocumentVersion]] = relationship(
        back_populates="document", order_by="MeetingDocumentVersion.number", cascade="all, delete-orphan"
    )

    @property
    def latest(self) -> MeetingDocumentVersion | None:
        return next((v for v in self.versions if v.file_id == self.file_id), None)

    @property
    def stamp_tlp(self) -> Tlp:
        """The marking a download of the latest version is stamped under (``effective_tlp``)."""
        latest = self.latest
        return latest.effective_tlp if latest else self.tlp

    @property
    def all_files(self) -> list[StoredFile]:
        """Every version's file and the current one: what removing the document shreds."""
        files = {v.file_id: v.file for v in self.versions}
        files.setdefault(self.file_id, self.file)
        return list(files.values())


class InvitationKind(StrEnum):
    ORGANISATION = "organisation"
    PERSON = "person"
    CLUSTER = "cluster"


class MeetingInvitation(Base):
    """Who a meeting invites: an organisation (its focal point names a delegation of up to
    ``delegation_size`` people), a named person, or a whole cluster. An invitation never widens
    who may see the meeting: only people the policy admits become participants."""

    __tablename__ = "meeting_invitations"
    __table_args__ = (
        sa.UniqueConstraint("meeting_id", "organisation_id"),
        sa.UniqueConstraint("meeting_id", "user_id"),
        sa.UniqueConstraint("meeting_id", "cluster_id"),
        sa.CheckConstraint(
            "(CASE WHEN organisation_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN user_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN cluster_id IS NULL THEN 0 ELSE 1 END) = 1",
            name="one_invitee",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(sa.ForeignKey("meetings.id", ondelete="CASCADE"), index=True)
    kind: Mapped[InvitationKind] = mapped_column(enum_column_type(InvitationKind, "invitation_kind"))
    organisation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisations.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    cluster_id: Mapped[int | None] = mapped_column(sa.ForeignKey("clusters.id", ondelete="CASCADE"))
    #: How many people an invited organisation's focal point may name (0 for other kinds).
    delegation_size: Mapped[int] = mapped_column(default=0)
    invited_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    meeting: Mapped[Meeting] = relationship(back_populates="invitations")
    organisation: Mapped[Organisation | None] = relationship(lazy="joined")
    user: Mapped[User | None] = relationship(lazy="joined", foreign_keys=[user_id])
    cluster: Mapped[Cluster | None] = relationship(lazy="joined")


class Rsvp(StrEnum):
    PENDING = "pending"
    IN_PERSON = "in_person"
    ONLINE = "online"
    NOT_ATTENDING = "not_attending"

    @property
    def label(self) -> str:
        """The answer as the participant list shows it, in the reader's language."""
        return str(RSVP_LABELS[self.value])


RSVP_LABELS = {
    "pending": _l("No answer yet"),
    "in_person": _l("Attends in person"),
    "online": _l("Attends online"),
    "not_attending": _l("Does not attend"),
}


class MeetingParticipant(Base):
    """One invited person and their answer; a delegate named by a focal point, a named person,
    a member of an invited cluster, or a replacement for a colleague of the same organisation."""

    __tablename__ = "meeting_participants"
    __table_args__ = (sa.UniqueConstraint("meeting_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(sa.ForeignKey("meetings.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    invitation_id: Mapped[int] = mapped_column(sa.ForeignKey("meeting_invitations.id", ondelete="CASCADE"), index=True)
    #: The focal point who named a delegate, or the colleague a replacement stands in for.
    named_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    #: The participant this one replaces (they answered "not attending" and named them).
    replaces_id: Mapped[int | None] = mapped_column(sa.ForeignKey("meeting_participants.id", ondelete="SET NULL"))
    response: Mapped[Rsvp] = mapped_column(enum_column_type(Rsvp, "rsvp"), default=Rsvp.PENDING)
    responded_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(lazy="joined", foreign_keys=[user_id])
    invitation: Mapped[MeetingInvitation] = relationship(lazy="joined")
    replaces: Mapped[MeetingParticipant | None] = relationship(remote_side=[id], lazy="joined")


class CalendarFeed(Base):
    """A member's secret calendar subscription address; only its SHA-256 is stored. Deleting the
    row (revoking) or replacing the hash (rotating) ends the old address at once."""

    __tablename__ = "calendar_feeds"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column()

    user: Mapped[User] = relationship()


class MeetingDocumentVersion(FileVersion, Base):
    """One version of a meeting document's file. Its audience is the document's, narrowed by a
    stricter marking of its own (with the meeting's cluster and named recipients); when a newer
    version replaces it, it keeps the document's marking of that moment as its own."""

    __tablename__ = "meeting_document_versions"
    __table_args__ = (sa.UniqueConstraint("document_id", "number"),)

    document_id: Mapped[int] = mapped_column(sa.ForeignKey("meeting_documents.id", ondelete="CASCADE"), index=True)

    document: Mapped[MeetingDocument] = relationship(back_populates="versions")

    @property
    def effective_tlp(self) -> Tlp:
        return strictest(self.document.tlp, self.tlp)

    @property
    def effective_law_enforcement_only(self) -> bool:
        return self.law_enforcement_only or self.document.law_enforcement_only
