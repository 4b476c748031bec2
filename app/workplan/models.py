"""The Commission's yearly workplan: items per cluster, with their history.

The workplan itself carries no marking: every active member sees it (``app.policy.visible_workplan_items``).
Deliverables posted against an item keep their own marking and are read through
``app.policy.visible_posts`` like every other post.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.concurrency import versioned
from app.db import Base, utcnow
from app.enums import StrEnum, enum_column_type

if TYPE_CHECKING:
    from app.auth.models import User
    from app.clusters.models import Cluster
    from app.directory.models import Organisation
    from app.meetings.models import Meeting


_WORKPLAN_STATUS_LABELS = {"draft": _l("Draft"), "adopted": _l("Adopted")}
_ITEM_STATUS_LABELS = {
    "planned": _l("Planned"),
    "in_progress": _l("In progress"),
    "delivered": _l("Delivered"),
    "delayed": _l("Delayed"),
    "cancelled": _l("Cancelled"),
}


class WorkplanStatus(StrEnum):
    DRAFT = "draft"
    ADOPTED = "adopted"

    @property
    def label(self) -> str:
        return str(_WORKPLAN_STATUS_LABELS[self.value])


class ItemStatus(StrEnum):
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    DELIVERED = "delivered"
    DELAYED = "delayed"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        """The status in the reader's language."""
        return str(_ITEM_STATUS_LABELS[self.value])

    @property
    def lazy_label(self) -> Any:
        """The status in the language of whoever reads it later (form choices built at import)."""
        return _ITEM_STATUS_LABELS[self.value]

    @property
    def english_label(self) -> str:
        """The status as the item's history records it ("In progress"), whoever made the change."""
        return self.value.replace("_", " ").capitalize()

    @classmethod
    def from_english_label(cls, text: str | None) -> ItemStatus | None:
        return next((s for s in cls if s.english_label == text), None)

    @property
    def is_open(self) -> bool:
        """Still expected to be delivered (so it can be overdue)."""
        return self not in (ItemStatus.DELIVERED, ItemStatus.CANCELLED)


class Workplan(Base):
    """The workplan of one year: a draft until a Senior Officials' meeting adopts it."""

    __tablename__ = "workplans"

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(unique=True)
    status: Mapped[WorkplanStatus] = mapped_column(
        enum_column_type(WorkplanStatus, "workplan_status"), default=WorkplanStatus.DRAFT
    )
    #: The meeting that adopted it (usually a Senior Officials' meeting) and the date it did.
    adopted_at_meeting_id: Mapped[int | None] = mapped_column(sa.ForeignKey("meetings.id", ondelete="SET NULL"))
    adopted_on: Mapped[date | None] = mapped_column(sa.Date)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    adopted_at_meeting: Mapped[Meeting | None] = relationship(foreign_keys=[adopted_at_meeting_id])
    items: Mapped[list[WorkplanItem]] = relationship(
        back_populates="workplan", cascade="all, delete-orphan", order_by="WorkplanItem.due_date"
    )


class WorkplanItem(Base):
    """One item of a cluster's workplan for a year."""

    __tablename__ = "workplan_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    workplan_id: Mapped[int] = mapped_column(sa.ForeignKey("workplans.id", ondelete="CASCADE"), index=True)
    cluster_id: Mapped[int] = mapped_column(sa.ForeignKey("clusters.id"), index=True)
    title: Mapped[str] = mapped_column(sa.String(300))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    due_date: Mapped[date | None] = mapped_column(sa.Date)
    status: Mapped[ItemStatus] = mapped_column(enum_column_type(ItemStatus, "item_status"), default=ItemStatus.PLANNED)
    #: Per cent done, 0 to 100, as the cluster's coordinators report it.
    progress: Mapped[int] = mapped_column(default=0)
    #: The meeting whose minutes recorded this item as an action point (None: not from a meeting).
    meeting_id: Mapped[int | None] = mapped_column(sa.ForeignKey("meetings.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Moves by one with each save; a save compares and sets it (``app.concurrency``).
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    __mapper_args__ = versioned(version)

    workplan: Mapped[Workplan] = relationship(back_populates="items", lazy="joined")
    cluster: Mapped[Cluster] = relationship(lazy="joined")
    leads: Mapped[list[WorkplanItemLead]] = relationship(
        cascade="all, delete-orphan", order_by="WorkplanItemLead.organisation_id"
    )
    changes: Mapped[list[WorkplanItemChange]] = relationship(
        cascade="all, delete-orphan", order_by="WorkplanItemChange.id.desc()"
    )

    @property
    def year(self) -> int:
        return self.workplan.year

    @property
    def lead_organisations(self) -> list[Organisation]:
        return [lead.organisation for lead in self.leads]

    def is_overdue(self, today: date) -> bool:
        return self.due_date is not None and self.due_date < today and self.status.is_open


class WorkplanItemLead(Base):
    """An organisation leading a workplan item (an item may have several)."""

    __tablename__ = "workplan_item_leads"

    item_id: Mapped[int] = mapped_column(sa.ForeignKey("workplan_items.id", ondelete="CASCADE"), primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True
    )

    organisation: Mapped[Organisation] = relationship(lazy="joined")


class WorkplanItemChange(Base):
    """One changed field of a workplan item: who, when, the old and the new value as displayed."""

    __tablename__ = "workplan_item_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("workplan_items.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    #: The field's name (``status``, ``progress``, ``title``...); ``created`` for the first record.
    field: Mapped[str] = mapped_column(sa.String(32))
    old_value: Mapped[str | None] = mapped_column(sa.Text)
    new_value: Mapped[str | None] = mapped_column(sa.Text)

    actor: Mapped[User | None] = relationship(lazy="joined")
