from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.concurrency import versioned
from app.db import Base, utcnow
from app.enums import StrEnum, enum_column_type

if TYPE_CHECKING:
    from app.auth.models import User


class MembershipRole(StrEnum):
    READER = "reader"
    CONTRIBUTOR = "contributor"
    COORDINATOR = "coordinator"


class Cluster(Base):
    """One of the four clusters of the PPP workplan; rows are created by the first migration."""

    __tablename__ = "clusters"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    #: Display order, as in the PPP workplan.
    position: Mapped[int] = mapped_column(default=0)

    memberships: Mapped[list[ClusterMembership]] = relationship(back_populates="cluster")


class ClusterMembership(Base):
    __tablename__ = "cluster_memberships"
    __table_args__ = (sa.UniqueConstraint("user_id", "cluster_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    cluster_id: Mapped[int] = mapped_column(sa.ForeignKey("clusters.id", ondelete="CASCADE"), index=True)
    role: Mapped[MembershipRole] = mapped_column(enum_column_type(MembershipRole, "membership_role"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Compared and set by each role change or removal (``app.concurrency``).
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    __mapper_args__ = versioned(version)
    #: Who granted the role held now (its last grant or role change); None: the operator's command
    #: line or the demo, or an account since removed.
    granted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    #: When the role held now was granted; None for memberships older than this record.
    granted_at: Mapped[datetime | None] = mapped_column()

    user: Mapped[User] = relationship(back_populates="memberships", foreign_keys=[user_id])
    granted_by: Mapped[User | None] = relationship(foreign_keys=[granted_by_id], lazy="joined")
    cluster: Mapped[Cluster] = relationship(back_populates="memberships", lazy="joined")
