"""Posts shared in a cluster: best practices, incident notes and deliverables.

Every post carries a TLP 2.0 marking, the cluster it lives in, its author and the author's
organisation (kept on the post: moving a user does not move what their organisation shared).
Who may see it is decided by ``app.policy.visible_posts`` alone.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.concurrency import versioned
from app.db import Base, utcnow
from app.enums import StrEnum, enum_column_type
from app.markings import Marked, OrgRecipient, Tlp, UserRecipient

if TYPE_CHECKING:
    from app.auth.models import User
    from app.clusters.models.attachment import Attachment
    from app.clusters.models.cluster import Cluster
    from app.clusters.models.comment import Comment
    from app.directory.models import Organisation
    from app.workplan.models import WorkplanItem


class PostType(StrEnum):
    BEST_PRACTICE = "best_practice"
    INCIDENT_NOTE = "incident_note"
    DELIVERABLE = "deliverable"

    @property
    def label(self) -> str:
        return str(_POST_TYPE_LABELS[self.value])

    @property
    def lazy_label(self) -> LazyString:
        """The label for a class-level choice list: read in the reader's language when shown."""
        return _POST_TYPE_LABELS[self.value]


_POST_TYPE_LABELS = {
    "best_practice": _l("Best practice"),
    "incident_note": _l("Incident note"),
    "deliverable": _l("Deliverable"),
}


class ModusOperandi(StrEnum):
    RIP_ON_RIP_OFF = "rip_on_rip_off"
    CONTAINER_CLONING = "container_cloning"
    PIN_CODE_FRAUD = "pin_code_fraud"
    INSIDER_CORRUPTION = "insider_corruption"
    EXTRACTION_TEAM = "extraction_team"
    CONCEALMENT_IN_CARGO = "concealment_in_cargo"
    CYBER_INTRUSION = "cyber_intrusion"
    DRONE = "drone"
    OTHER = "other"


class Substance(StrEnum):
    COCAINE = "cocaine"
    CANNABIS = "cannabis"
    HEROIN = "heroin"
    SYNTHETIC_DRUGS = "synthetic_drugs"
    PRECURSORS = "precursors"
    OTHER = "other"
    NONE = "none"


class Post(Marked, Base):
    __tablename__ = "posts"
    __table_args__ = (
        sa.Index("ix_posts_cluster_id_id", "cluster_id", "id"),
        sa.Index("ix_posts_author_org_id_id", "author_org_id", "id"),
        # TAXII collections list a cluster's posts in the order they changed (``app.taxii.queries``).
        sa.Index("ix_posts_cluster_id_updated_at_id", "cluster_id", "updated_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    type: Mapped[PostType] = mapped_column(enum_column_type(PostType, "post_type"))
    cluster_id: Mapped[int] = mapped_column(sa.ForeignKey("clusters.id"))
    title: Mapped[str] = mapped_column(sa.String(200))
    #: Markdown as written; ``body_html`` is its sanitised rendering, made when the post is saved.
    body: Mapped[str] = mapped_column(sa.Text)
    body_html: Mapped[str] = mapped_column(sa.Text)
    #: The body as plain text (no Markdown syntax): what full-text search indexes and quotes.
    body_text: Mapped[str] = mapped_column(sa.Text, default="")
    workplan_item_id: Mapped[int | None] = mapped_column(sa.ForeignKey("workplan_items.id"), index=True)
    #: Tags as one space-separated string too, so full-text search indexes them with the text.
    tags_text: Mapped[str] = mapped_column(sa.String(1000), default="")
    version: Mapped[int] = mapped_column(default=1)
    __mapper_args__ = versioned(version)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    cluster: Mapped[Cluster] = relationship(lazy="joined")
    author: Mapped[User | None] = relationship(lazy="joined")
    author_org: Mapped[Organisation] = relationship(lazy="joined")
    workplan_item: Mapped[WorkplanItem | None] = relationship()
    tags: Mapped[list[PostTag]] = relationship(cascade="all, delete-orphan", order_by="PostTag.tag")
    recipient_orgs: Mapped[list[PostRecipientOrg]] = relationship(cascade="all, delete-orphan")
    recipient_users: Mapped[list[PostRecipientUser]] = relationship(cascade="all, delete-orphan")
    incident: Mapped[IncidentDetails | None] = relationship(cascade="all, delete-orphan", uselist=False)
    versions: Mapped[list[PostVersion]] = relationship(
        cascade="all, delete-orphan", order_by="PostVersion.version.desc()"
    )
    comments: Mapped[list[Comment]] = relationship(cascade="all, delete-orphan", order_by="Comment.created_at")
    #: Deleting a post must crypto-shred these first (``app.clusters.attachments``).
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="post", cascade="all, delete-orphan", order_by="Attachment.id"
    )

    @property
    def tag_names(self) -> list[str]:
        # ``tags_text`` is written with ``tags`` (``services._apply``): no query for a list of cards.
        return sorted(self.tags_text.split())


class PostTag(Base):
    __tablename__ = "post_tags"

    post_id: Mapped[int] = mapped_column(sa.ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True)
    #: Lower-case, letters, digits and hyphens.
    tag: Mapped[str] = mapped_column(sa.String(40), primary_key=True, index=True)


class PostRecipientOrg(OrgRecipient, Base):
    """A named recipient organisation of an AMBER or AMBER+STRICT post."""

    __tablename__ = "post_recipient_orgs"

    post_id: Mapped[int] = mapped_column(sa.ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True)


class PostRecipientUser(UserRecipient, Base):
    """A named individual recipient of a RED post."""

    __tablename__ = "post_recipient_users"

    post_id: Mapped[int] = mapped_column(sa.ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True)


class IncidentDetails(Base):
    """The structured part of an incident note: where and when, how, what and how much, and the
    containers and vessel involved (README, "Sharing: posts, markings, search")."""

    __tablename__ = "incident_details"

    post_id: Mapped[int] = mapped_column(sa.ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True)
    #: UN/LOCODE, e.g. BEANR.
    port_locode: Mapped[str] = mapped_column(sa.String(5), index=True)
    occurred_on: Mapped[date] = mapped_column(sa.Date)
    modus_operandi: Mapped[ModusOperandi] = mapped_column(enum_column_type(ModusOperandi, "modus_operandi"))
    substance: Mapped[Substance] = mapped_column(enum_column_type(Substance, "substance"))
    quantity_kg: Mapped[Decimal | None] = mapped_column(sa.Numeric(12, 3))
    #: Seven digits, IMO check digit verified.
    vessel_imo: Mapped[str | None] = mapped_column(sa.String(7))

    containers: Mapped[list[IncidentContainer]] = relationship(
        cascade="all, delete-orphan", order_by="IncidentContainer.position"
    )

    @property
    def container_numbers(self) -> list[str]:
        return [c.number for c in self.containers]


class IncidentContainer(Base):
    __tablename__ = "incident_containers"

    post_id: Mapped[int] = mapped_column(
        sa.ForeignKey("incident_details.post_id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(primary_key=True)
    #: ISO 6346, compact, check digit verified.
    number: Mapped[str] = mapped_column(sa.String(11))


class PostVersion(Base):
    """A post as it was before an edit; the history shown to those who may see the post."""

    __tablename__ = "post_versions"
    __table_args__ = (sa.UniqueConstraint("post_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(sa.ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column()
    title: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text)
    tlp: Mapped[Tlp] = mapped_column(enum_column_type(Tlp, "tlp"))
    law_enforcement_only: Mapped[bool] = mapped_column()
    tags_text: Mapped[str] = mapped_column(sa.String(1000), default="")
    #: Who made the version that replaced this one, and when.
    replaced_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    replaced_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: When this version was written.
    written_at: Mapped[datetime] = mapped_column()
    #: The marking in force when this was written (``app.markings.MarkingSnapshot``): it is shown
    #: only to those that marking admits and the post admits now. NULL: no marking of its own.
    marking_id: Mapped[int | None] = mapped_column(sa.ForeignKey("marking_snapshots.id"), index=True)

    replaced_by: Mapped[User | None] = relationship()


class PostRead(Base):
    """A member opened a post: it is no longer new to them (the dashboard and feeds mark the rest
    unread). Everything written before their ``read_all_before`` counts as read too."""

    __tablename__ = "post_reads"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    post_id: Mapped[int] = mapped_column(sa.ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True, index=True)
    read_at: Mapped[datetime] = mapped_column(default=utcnow)
