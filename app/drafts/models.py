"""A draft or kept form: one sealed set of form fields, its author's only."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow
from app.enums import StrEnum, enum_column_type


class DraftKind(StrEnum):
    #: Saved by its author, kept until sent, deleted or expired.
    DRAFT = "draft"
    #: Posted by a browser whose session had ended (or whose form had aged): put back into the
    #: form once its author signs in again in that browser.
    KEPT = "kept"


class Draft(Base):
    __tablename__ = "drafts"
    __table_args__ = (sa.Index("ix_drafts_user_id_page", "user_id", "page"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[DraftKind] = mapped_column(enum_column_type(DraftKind, "draft_kind"), default=DraftKind.DRAFT)
    #: The endpoint the form posts to (``clusters.new_post``): which form the fields belong to.
    endpoint: Mapped[str] = mapped_column(sa.String(80))
    #: Where the form is filled in again: a path of this portal that answers GET.
    page: Mapped[str] = mapped_column(sa.String(500))
    #: A kept form opens only in the browser that posted it: the SHA-256 of that browser's secret.
    browser_hash: Mapped[str | None] = mapped_column(sa.String(64))
    #: Random, bound into the seal's context so a sealed value copied to another row does not open.
    seal_nonce: Mapped[str] = mapped_column(sa.String(32))
    #: The form's fields as JSON, sealed with ``app.keys.sealed``.
    fields_sealed: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)

    @property
    def seal_context(self) -> str:
        return f"draft:{self.seal_nonce}"
