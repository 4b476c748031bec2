from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, utcnow
from app.enums import StrEnum, enum_column_type

if TYPE_CHECKING:
    from app.clusters.models import Cluster


class ItemStatus(StrEnum):
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    DELIVERED = "delivered"
    DELAYED = "delayed"
    CANCELLED = "cancelled"


class WorkplanItem(Base):
    """One item of a cluster's workplan for a year."""

    __tablename__ = "workplan_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    cluster_id: Mapped[int] = mapped_column(sa.ForeignKey("clusters.id"), index=True)
    year: Mapped[int] = mapped_column()
    title: Mapped[str] = mapped_column(sa.String(300))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    due_date: Mapped[date | None] = mapped_column(sa.Date)
    status: Mapped[ItemStatus] = mapped_column(enum_column_type(ItemStatus, "item_status"), default=ItemStatus.PLANNED)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    cluster: Mapped[Cluster] = relationship(lazy="joined")
