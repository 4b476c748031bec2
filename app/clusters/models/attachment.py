"""A file attached to a post. It has the post's audience; its bytes are a ``StoredFile``."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, utcnow
from app.files.models import StoredFile

if TYPE_CHECKING:
    from app.clusters.models.post import Post


class Attachment(Base):
    __tablename__ = "post_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(sa.ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    file_id: Mapped[int] = mapped_column(sa.ForeignKey("stored_files.id", ondelete="CASCADE"), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    post: Mapped[Post] = relationship(back_populates="attachments")
    file: Mapped[StoredFile] = relationship(lazy="joined")
