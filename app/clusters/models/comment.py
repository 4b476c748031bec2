from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.concurrency import versioned
from app.db import Base, utcnow

if TYPE_CHECKING:
    from app.auth.models import User


class Comment(Base):
    """A comment on a post; its audience is the post's now and the one it was written under, never
    wider (``app.policy.visible_comments``)."""

    __tablename__ = "comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(sa.ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(sa.Text)
    body_html: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: The marking in force when this was written (``app.markings.MarkingSnapshot``): it is shown
    #: only to those that marking admits and the post admits now. NULL: no marking of its own.
    marking_id: Mapped[int | None] = mapped_column(sa.ForeignKey("marking_snapshots.id"), index=True)
    #: Moves by one with each save; a save compares and sets it (``app.concurrency``).
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    __mapper_args__ = versioned(version)

    author: Mapped[User | None] = relationship(lazy="joined")
