from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, utcnow
from app.enums import StrEnum, enum_column_type

if TYPE_CHECKING:
    from app.clusters.models import ClusterMembership
    from app.directory.models import Organisation


class UserStatus(StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    SUSPENDED = "suspended"


class GlobalRole(StrEnum):
    MEMBER = "member"
    CURATOR = "curator"
    ADMIN = "admin"
    AUDITOR = "auditor"


class User(UserMixin, Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Stored lower-cased, so the unique constraint is case-insensitive on every backend.
    email: Mapped[str] = mapped_column(sa.String(320), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    status: Mapped[UserStatus] = mapped_column(enum_column_type(UserStatus, "user_status"), default=UserStatus.PENDING)
    role: Mapped[GlobalRole] = mapped_column(enum_column_type(GlobalRole, "global_role"), default=GlobalRole.MEMBER)
    #: The organisation's focal point approves its pending users and may edit its posts.
    is_focal_point: Mapped[bool] = mapped_column(default=False)
    #: argon2id hash; NULL for accounts that only sign in through their organisation's SSO.
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column()

    organisation: Mapped[Organisation] = relationship(back_populates="users", lazy="joined")
    memberships: Mapped[list[ClusterMembership]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )

    @property
    def is_active(self) -> bool:  # flask-login: only active accounts hold a session
        return self.status is UserStatus.ACTIVE

    @property
    def is_law_enforcement(self) -> bool:
        return self.organisation.is_law_enforcement

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role.value} {self.status.value}>"
