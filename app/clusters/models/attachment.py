"""A file attached to a post. Its audience is the post's now and the one it was added under
(``app.policy.visible_attachments``); its bytes are a ``StoredFile``."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.concurrency import versioned
from app.db import Base, utcnow
from app.files.models import FileVersion, StoredFile
from app.markings import MarkingSnapshot, Tlp, strictest

if TYPE_CHECKING:
    from app.clusters.models.post import Post


class Attachment(Base):
    __tablename__ = "post_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(sa.ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    file_id: Mapped[int] = mapped_column(sa.ForeignKey("stored_files.id", ondelete="CASCADE"), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: The marking in force when this was written (``app.markings.MarkingSnapshot``): it is shown
    #: only to those that marking admits and the post admits now. NULL: no marking of its own.
    marking_id: Mapped[int | None] = mapped_column(sa.ForeignKey("marking_snapshots.id"), index=True)
    #: The name the file is shown and downloaded under; NULL: the uploaded file's own name (kept,
    #: encrypted, in its ``StoredFile``).
    display_name: Mapped[str | None] = mapped_column(sa.String(255))
    #: A short plain-text description shown beside the file.
    description: Mapped[str | None] = mapped_column(sa.String(500))
    #: Moves by one with each save of the details; a save compares and sets it (``app.concurrency``).
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    __mapper_args__ = versioned(version)

    post: Mapped[Post] = relationship(back_populates="attachments")
    #: The latest version's file: what the post lists and a plain download sends.
    file: Mapped[StoredFile] = relationship(lazy="joined")
    versions: Mapped[list[AttachmentVersion]] = relationship(
        back_populates="attachment", order_by="AttachmentVersion.number", cascade="all, delete-orphan"
    )

    @property
    def latest(self) -> AttachmentVersion | None:
        return next((v for v in self.versions if v.file_id == self.file_id), None)

    @property
    def stamp_tlp(self) -> Tlp:
        """The marking a download of the latest version is stamped under (``effective_tlp``)."""
        latest = self.latest
        return latest.effective_tlp if latest else strictest(self.post.tlp)

    @property
    def all_files(self) -> list[StoredFile]:
        """Every version's file and the current one: what removing the attachment shreds."""
        files = {v.file_id: v.file for v in self.versions}
        files.setdefault(self.file_id, self.file)
        return list(files.values())


class AttachmentVersion(FileVersion, Base):
    """One version of an attached file. Its audience is the post's now, narrowed by the post's
    marking when the version was added (``marking_id``, as for the attachment itself) and by a
    stricter marking of its own (its cluster and named recipients are the post's)."""

    __tablename__ = "attachment_versions"
    __table_args__ = (sa.UniqueConstraint("attachment_id", "number"),)

    attachment_id: Mapped[int] = mapped_column(sa.ForeignKey("post_attachments.id", ondelete="CASCADE"), index=True)
    #: The post's marking when this version was added (``app.markings.MarkingSnapshot``).
    marking_id: Mapped[int | None] = mapped_column(sa.ForeignKey("marking_snapshots.id"), index=True)

    attachment: Mapped[Attachment] = relationship(back_populates="versions")
    marking: Mapped[MarkingSnapshot | None] = relationship()

    @property
    def effective_tlp(self) -> Tlp:
        """The strictest of the post's marking now, the one it was added under and its own."""
        return strictest(self.attachment.post.tlp, self.tlp, self.marking.tlp if self.marking else None)

    @property
    def effective_law_enforcement_only(self) -> bool:
        snapshot = bool(self.marking and self.marking.law_enforcement_only)
        return self.law_enforcement_only or snapshot or self.attachment.post.law_enforcement_only
