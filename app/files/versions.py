"""What the versions pages of attachments and meeting documents share: reading the marking a new
version asks for from its upload form's fields, and the rows a versions page lists.

The versions themselves live with their documents (``AttachmentVersion``,
``MeetingDocumentVersion``); who sees which is ``app.policy``'s ``visible_*_versions``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _

from app.files.models import FileVersion
from app.files.services import FileMeta, FileUnavailable, file_meta
from app.markings import Tlp
from app.validation import ValidationError


def parse_version_fields(fields: dict[str, str]) -> tuple[Tlp | None, bool]:
    """The marking a new version's form asks for: ``tlp`` (empty: the document's) and
    ``law_enforcement_only``; a ``ValidationError`` on ``tlp`` for an unknown marking."""
    value = (fields.get("tlp") or "").strip()
    if value and value not in Tlp.values():
        raise ValidationError({"tlp": _("Choose one of the TLP markings.")})
    return (Tlp(value) if value else None), fields.get("law_enforcement_only", "") in ("y", "on", "true", "1")


@dataclass(frozen=True)
class VersionRow:
    """One version as a versions page lists it; ``meta`` None when its key does not open."""

    version: FileVersion
    meta: FileMeta | None
    url: str | None
    latest: bool


def version_rows(versions: Iterable[Any], latest_file_id: int, url: Callable[[Any], str]) -> list[VersionRow]:
    """The rows for ``versions`` (already filtered by the policy), newest first."""
    rows = []
    for version in sorted(versions, key=lambda v: v.number, reverse=True):
        try:
            meta: FileMeta | None = file_meta(version.file)
        except FileUnavailable:
            meta = None
        waiting = version.file.waiting_for_scan
        rows.append(VersionRow(version, meta, None if waiting else url(version), version.file_id == latest_file_id))
    return rows
