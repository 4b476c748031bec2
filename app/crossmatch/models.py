"""The match index: container and vessel IMO numbers of incident notes, as keyed hashes only.

The raw identifiers stay in the note (``incident_containers``, ``incident_details``), where
only the note's audience reads them. The index holds HMAC-SHA256 digests under the keyring's
``match_hmac`` key, so equal identifiers meet without the index revealing them.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow
from app.enums import StrEnum, enum_column_type


class IdentifierKind(StrEnum):
    CONTAINER = "container"
    VESSEL_IMO = "vessel_imo"

    @property
    def label(self) -> str:
        if self is IdentifierKind.CONTAINER:
            return gettext("Container number")
        return gettext("Vessel IMO number")


class MatchIdentifier(Base):
    __tablename__ = "match_identifiers"
    __table_args__ = (
        sa.UniqueConstraint("post_id", "kind", "digest"),
        sa.Index("ix_match_identifiers_kind_digest", "kind", "digest"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(sa.ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    #: The note's author organisation: a match is only between different organisations.
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"))
    kind: Mapped[IdentifierKind] = mapped_column(enum_column_type(IdentifierKind, "identifier_kind"))
    #: HMAC-SHA256 (hex) of the normalised identifier under the ``match_hmac`` key.
    digest: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class KeyCustody(Base):
    """Which backend's key (``file`` or ``pkcs11``) the match index's digests are under: one row,
    written by ``keys migrate --to pkcs11`` when it re-keys the index; no row means the keyring
    file's (``app.keys.backend.starting_custody``)."""

    __tablename__ = "key_custody"

    id: Mapped[int] = mapped_column(primary_key=True)
    match_index: Mapped[str] = mapped_column(sa.String(16))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
