"""Where a STIX id PAX made points: TAXII clients ask for objects by id, and an id (UUIDv5) cannot
be turned back into the post it was made from."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base


class StixObjectId(Base):
    """One STIX object id of a post's objects (``app.taxii.stix.ROLES``), written when the post is
    published; the ids depend only on the post and the object's role, never on its content."""

    __tablename__ = "stix_object_ids"

    #: The UUID part of the STIX id (after ``<type>--``).
    uuid: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    post_id: Mapped[int] = mapped_column(sa.ForeignKey("posts.id", ondelete="CASCADE"), index=True)
