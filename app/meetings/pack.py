"""Meeting packs: one signed zip of exactly the meeting documents a member may see, streamed.

The pack holds ``index.html`` (the agenda, linking to the files), ``manifest.json`` (what is in
the pack, for whom, with each file's size, SHA-256 and marking, and how many documents were
withheld from this recipient), ``manifest.sig`` (base64 Ed25519 signature over the manifest's
exact bytes, see ``app.keys.signing``) and the documents, numbered in agenda order.

Every entry is stored (no compression: the documents are mostly compressed formats already),
so the zip's length is known before the first byte and is sent as Content-Length. Documents are
decrypted segment by segment while the zip is read (PDFs marked AMBER or stricter are stamped
for the recipient into temporary files first), and memory stays flat whatever the pack's size.
Before the response starts, every document is opened and checked as
far as ``app.files.services.open_file`` checks (key, metadata, blob length and header, first
segment), so a broken blob answers a clean error instead of a broken zip; a failure later in
the stream cuts the body short (the client sees fewer bytes than Content-Length) and is audited.

What every signed pack shares (entries, stamping, the manifest's signature, the streamed zip)
is ``app.files.packs``; here is what a meeting's pack holds and how its index reads.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import render_template
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import lazyload, selectinload

from app import localtime
from app.extensions import db
from app.files.packs import (
    Pack,
    PackEntry,
    assemble_pack,
    check_document,
    entry_names,
    iso_time,
    pack_response,
)
from app.meetings.models import AgendaItem, Meeting, MeetingDocument
from app.policy import visible_meeting_documents

__all__ = ["EMPTY_MESSAGE", "PackEmpty", "build_pack", "entry_names", "pack_response"]

#: Lazy: each reader gets it in their language (``str()`` it where a str is needed).
EMPTY_MESSAGE = _l("This meeting has no documents you may see, so there is no pack to download.")


class PackEmpty(Exception):
    """The caller may see the meeting but none of its documents: there is no pack to hand out."""

    def __init__(self) -> None:
        super().__init__(str(EMPTY_MESSAGE))


# --- what goes in --------------------------------------------------------------------------------


def visible_documents(user: Any, meeting: Meeting) -> list[tuple[MeetingDocument, AgendaItem | None]]:
    """The meeting's documents ``user`` may see, in pack order: the meeting's own documents first,
    then each agenda item's in agenda order, each group by the documents' positions."""
    rows = db.session.execute(
        sa.select(MeetingDocument, AgendaItem)
        .join(Meeting, Meeting.id == MeetingDocument.meeting_id)
        .outerjoin(
            AgendaItem,
            sa.and_(
                AgendaItem.id == MeetingDocument.agenda_item_id, AgendaItem.meeting_id == MeetingDocument.meeting_id
            ),
        )
        .where(MeetingDocument.meeting_id == meeting.id, visible_meeting_documents(user))
        .order_by(
            sa.case((AgendaItem.id.is_(None), 0), else_=1),
            AgendaItem.position,
            MeetingDocument.position,
            MeetingDocument.id,
        )
        # The pack never shows who uploaded a document: skip the author and their organisation.
        # Each document's versions decide its stamp (``stamp_tlp``): one query for all of them.
        .options(lazyload(MeetingDocument.author), selectinload(MeetingDocument.versions))
    ).all()
    return [(document, item) for document, item in rows]


def document_count(meeting: Meeting) -> int:
    """All of the meeting's documents, seen or not: the pack tells how many were withheld."""
    return (
        db.session.scalar(sa.select(sa.func.count(MeetingDocument.id)).where(MeetingDocument.meeting_id == meeting.id))
        or 0
    )


# --- the manifest and the index ------------------------------------------------------------------


def meeting_manifest(meeting: Meeting) -> dict[str, Any]:
    """What the manifest says of the meeting packed."""
    return {
        "meeting": {
            "id": meeting.id,
            "title": meeting.title,
            "kind": meeting.kind.value,
            "cluster": meeting.cluster.slug if meeting.cluster else None,
            "starts_at": iso_time(meeting.starts_at),
            "ends_at": iso_time(meeting.ends_at),
            "tlp": meeting.tlp.value,
        }
    }


def index_html(
    meeting: Meeting, recipient: Any, entries: list[PackEntry], withheld: int, generated_at: datetime
) -> bytes:
    """A self-contained page (no external assets) with the agenda and links to the pack's files."""
    by_item: dict[int | None, list[PackEntry]] = {}
    for entry in entries:
        by_item.setdefault(entry.agenda_item.id if entry.agenda_item else None, []).append(entry)
    # The pack is opened offline, maybe elsewhere: its times name their zone, the recipient's.
    zone = localtime.zone_of(recipient)
    html = render_template(
        "meetings/pack_index.html",
        meeting=meeting,
        when=localtime.format_span(meeting.starts_at, meeting.ends_at, zone),
        recipient=recipient,
        agenda=meeting.agenda,
        starts={i.id: localtime.format_time(i.starts_at, zone) for i in meeting.agenda if i.starts_at},
        by_item=by_item,
        withheld=withheld,
        generated_at=localtime.format_datetime(generated_at, zone, with_zone=True),
    )
    return html.encode("utf-8")


# --- building ------------------------------------------------------------------------------------


def build_pack(user: Any, meeting: Meeting) -> Pack:
    """Everything the pack holds, checked and signed, with its zip stream ready to be read.

    Raises ``PackEmpty`` when the caller may see none of the meeting's documents, and
    ``FileUnavailable`` when one of them cannot be served (already logged and audited).
    """
    rows = visible_documents(user, meeting)
    if not rows:
        raise PackEmpty()
    withheld = document_count(meeting) - len(rows)
    checked = [(document, item, check_document(document, user)) for document, item in rows]
    names = entry_names(checked)

    def index(entries: list[PackEntry], generated_at: datetime) -> bytes:
        return index_html(meeting, user, entries, withheld, generated_at)

    return assemble_pack(user, meeting, meeting_manifest(meeting), checked, names, withheld, index)
