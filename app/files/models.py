"""Encrypted stored files: the key material and sizes PAX keeps about each blob.

The blob itself (ciphertext only) is in the blob store under ``blob_key``. Here are the data
key wrapped under a KEK, and the name, media type and digest encrypted under that data key:
deleting the row crypto-shreds the file, whatever copies of the blob remain in backups.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from app.db import Base, utcnow
from app.enums import enum_column_type
from app.markings import Tlp


class StoredFile(Base):
    __tablename__ = "stored_files"
    __table_args__ = (sa.CheckConstraint("scan_status IN ('clean', 'pending', 'unscanned')", name="scan_status_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Random 128-bit identifier (hex): the blob's name and the associated data of its encryption.
    uuid: Mapped[str] = mapped_column(sa.String(32), unique=True)
    #: What the file belongs to (``attachment``, ``document``): the blob key's first part.
    kind: Mapped[str] = mapped_column(sa.String(16))
    #: Blob format version (``app.files.crypto``); old versions keep decrypting.
    format: Mapped[int] = mapped_column(default=1)
    #: The KEK the data key is wrapped under, so rotation finds what it still has to rewrap.
    kek_id: Mapped[str] = mapped_column(sa.String(64), index=True)
    #: The data key, sealed with AES-256-GCM under ``kek_id`` (``app.keys.sealed``), the uuid bound.
    wrapped_dek: Mapped[str] = mapped_column(sa.String(255))
    #: Original filename, media type and SHA-256 as JSON, AES-256-GCM under the data key.
    meta_sealed: Mapped[bytes] = mapped_column(sa.LargeBinary)
    #: Plaintext size in bytes.
    size: Mapped[int] = mapped_column(sa.BigInteger)
    uploaded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: When a download or ``storage verify`` found the blob failing authentication: from then on
    #: the file is refused before any byte, until ``storage verify`` finds it whole again (restored).
    damaged_at: Mapped[datetime | None]
    #: The malware scan's verdict (``app.files.scanning``): ``clean``, ``unscanned`` (stored while
    #: no scanner was configured) or ``pending`` (the scanner gave no verdict yet). Only clean and
    #: unscanned files are served; a pending one waits for ``storage rescan``.
    scan_status: Mapped[str] = mapped_column(sa.String(16), default="unscanned", server_default="unscanned", index=True)
    #: When clamd last found the file clean.
    scanned_at: Mapped[datetime | None]

    @property
    def waiting_for_scan(self) -> bool:
        """Stored while the malware scanner gave no verdict: served to nobody until it is clean."""
        return self.scan_status == "pending"

    @property
    def blob_key(self) -> str:
        return f"{self.kind}/{self.uuid}"


class FileVersion:
    """One version of a document's file (an attachment's, a meeting document's): its number, its
    ``StoredFile`` and the marking of its own it may carry, stricter than the document's, never
    looser. The document's ``file_id`` is its latest version's file; earlier versions stay
    readable by those the document and their own marking admit
    (``app.policy.visible_attachment_versions``, ``visible_meeting_document_versions``)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    #: 1 for the first file, one more for each new version.
    number: Mapped[int] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: A marking of its own, stricter than the document's; NULL: the document's, as it changes
    #: (the latest version follows its document; an earlier one keeps what it was written under).
    tlp: Mapped[Tlp | None] = mapped_column(enum_column_type(Tlp, "tlp"))
    #: Narrows this version to law-enforcement users (and its author) whatever the document says.
    law_enforcement_only: Mapped[bool] = mapped_column(default=False)

    @declared_attr
    def author_id(cls) -> Mapped[int | None]:
        """Who added the version: always in its own audience."""
        return mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), index=True)

    @declared_attr
    def author_org_id(cls) -> Mapped[int]:
        """The organisation an AMBER or AMBER+STRICT marking of its own admits."""
        return mapped_column(sa.ForeignKey("organisations.id"))

    @declared_attr
    def file_id(cls) -> Mapped[int]:
        return mapped_column(sa.ForeignKey("stored_files.id", ondelete="CASCADE"), unique=True)

    @declared_attr
    def file(cls) -> Mapped[StoredFile]:
        return relationship(lazy="joined")
