"""Writes on meeting documents: upload (streamed and encrypted), edit, reorder, remove.

A document belongs to a meeting or one of its agenda items, carries its own marking (the
meeting's or stricter: ``policy.visible_meeting_documents`` narrows the meeting's audience by
it) and its own author. Those who prepare the meeting add documents; they and the document's
author change or remove it. Every write is an audit event; downloads are audited by
``app.files.http.send_stored_file``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from app.audit.services import record
from app.concurrency import claim, claim_swap, expect_version
from app.extensions import db
from app.files.services import FileMeta, shred_files, store_file
from app.markings import Marking, Tlp, strictest, version_marking_problem
from app.meetings.models import AgendaItem, Meeting, MeetingDocument, MeetingDocumentVersion
from app.meetings.services import _next_document_position
from app.meetings.validation import MAX_TITLE, parse_document_fields
from app.notifications.fanout import record_marking_change
from app.policy import NotAllowed, can, check_marking_change, visible_meeting_documents
from app.validation import ValidationError

log = logging.getLogger("pax.meetings")

#: Most documents one meeting carries.
MAX_PER_MEETING = 200


def _check_marking(meeting: Meeting, tlp: Tlp) -> None:
    if tlp.rank < meeting.tlp.rank:
        raise ValidationError(
            {"tlp": _("A document of a %(tlp)s meeting is marked %(tlp)s or stricter.", tlp=meeting.tlp.label)}
        )


def _agenda_item(meeting: Meeting, agenda_item_id: int | None) -> AgendaItem | None:
    if agenda_item_id is None:
        return None
    item = next((i for i in meeting.agenda if i.id == agenda_item_id), None)
    if item is None:
        raise ValidationError({"agenda_item_id": _("Choose an item of this meeting's agenda.")})
    return item


def _default_title(filename: str) -> str:
    stem = filename.rsplit(".", 1)[0].replace("_", " ").replace("-", " ").strip()
    return (stem or filename)[:MAX_TITLE]


def add_document(
    actor: Any,
    meeting: Meeting,
    agenda_item: AgendaItem | None,
    title: str,
    tlp: Tlp | None,
    law_enforcement_only: bool,
    filename: str,
    chunks: Iterable[bytes],
    max_bytes: int,
) -> tuple[MeetingDocument, FileMeta]:
    """Encrypt and store an upload as a document of ``meeting`` (or of one of its agenda items),
    last in its place; ``tlp`` None takes the meeting's marking. In the current transaction."""
    if not can(actor, "add_meeting_document", meeting):
        raise NotAllowed(
            _("Only curators, the organiser and the cluster's coordinators add documents to this meeting.")
        )
    if agenda_item is not None and agenda_item.meeting_id != meeting.id:
        raise ValidationError({"agenda_item_id": _("Choose an item of this meeting's agenda.")})
    marking = tlp or meeting.tlp
    _check_marking(meeting, marking)
    count = db.session.scalar(
        sa.select(sa.func.count()).select_from(MeetingDocument).where(MeetingDocument.meeting_id == meeting.id)
    )
    if (count or 0) >= MAX_PER_MEETING:
        raise NotAllowed(_("A meeting carries at most %(num)s documents; remove one first.", num=MAX_PER_MEETING))
    stored, meta = store_file("meeting", chunks, filename, actor, max_bytes, target=("meeting", meeting.id))
    item_id = agenda_item.id if agenda_item else None
    document = MeetingDocument(
        meeting_id=meeting.id,
        agenda_item_id=item_id,
        file=stored,
        title=title.strip()[:MAX_TITLE] or _default_title(meta.filename),
        position=_next_document_position(meeting.id, item_id),
        tlp=marking,
        law_enforcement_only=law_enforcement_only or meeting.law_enforcement_only,
        author_id=actor.id,
        author_org_id=actor.organisation_id,
    )
    document.versions.append(
        MeetingDocumentVersion(number=1, file=stored, author_id=actor.id, author_org_id=actor.organisation_id)
    )
    db.session.add(document)
    db.session.flush()
    db.session.expire(meeting, ["documents"])
    record(
        "meeting.document_upload",
        actor=actor,
        target=("meeting_document", document.id),
        meeting_id=meeting.id,
        agenda_item_id=item_id,
        tlp=marking.value,
        bytes=stored.size,
        scan=stored.scan_status,
    )
    log.info("document %s (%s bytes) added to meeting %s by user %s", document.id, stored.size, meeting.id, actor.id)
    return document, meta


def add_form_document(
    actor: Any,
    meeting: Meeting,
    fields: dict[str, str],
    filename: str,
    chunks: Iterable[bytes],
    max_bytes: int,
) -> tuple[MeetingDocument, FileMeta]:
    """``add_document`` as an upload form or the API's multipart fields describe it: ``fields``
    holds their text values (``title``, ``tlp``, ``agenda_item_id``, ``law_enforcement_only``),
    sent before the file. A refused field is a ``ValidationError`` naming it."""
    title, tlp, le_only, item_id = parse_document_fields(fields, meeting.tlp)
    item = _agenda_item(meeting, item_id)
    return add_document(actor, meeting, item, title, tlp, le_only, filename, chunks, max_bytes)


def edit_document(
    actor: Any,
    document: MeetingDocument,
    title: str,
    tlp: Tlp,
    law_enforcement_only: bool,
    expected_version: int | None = None,
) -> None:
    """Change a document's title or marking (the meeting's or stricter); ``StaleEdit`` from a stale
    copy. Only its author or their organisation's focal point loosens the marking
    (``policy.check_marking_change``); a change of marking is audited and told to them."""
    if not can(actor, "remove_meeting_document", document):
        raise NotAllowed(_("Only the document's author and those who prepare the meeting change it."))
    expect_version(document, expected_version)
    title = title.strip()
    if not title:
        raise ValidationError({"title": _("Enter the title.")})
    if len(title) > MAX_TITLE:
        raise ValidationError({"title": _("The title is too long: at most %(num)s characters.", num=MAX_TITLE)})
    _check_marking(document.meeting, tlp)
    old_marking = Marking.of(document)
    new_marking = Marking(tlp, law_enforcement_only or document.meeting.law_enforcement_only)
    check_marking_change(actor, document, old_marking, new_marking)
    claim(document, expected_version)
    document.title = title
    document.tlp = new_marking.tlp
    document.law_enforcement_only = new_marking.law_enforcement_only
    db.session.flush()
    record(
        "meeting.document_update",
        actor=actor,
        target=("meeting_document", document.id),
        meeting_id=document.meeting_id,
        tlp=tlp.value,
    )
    record_marking_change(actor, document, old_marking, new_marking, meeting_id=document.meeting_id)


def add_document_version(
    actor: Any,
    document: MeetingDocument,
    filename: str,
    chunks: Iterable[bytes],
    max_bytes: int,
    tlp: Tlp | None = None,
    law_enforcement_only: bool = False,
) -> tuple[MeetingDocumentVersion, FileMeta]:
    """Store an upload as the document's next version, which becomes what the meeting lists and
    packs hold; earlier versions stay. Those who may change the document add versions. ``tlp``
    None takes the document's marking; a version may be stricter, never looser."""
    if not can(actor, "remove_meeting_document", document):
        raise NotAllowed(_("Only the document's author and those who prepare the meeting add versions of it."))
    wanted = tlp or document.tlp
    problem = version_marking_problem(document.tlp, document.law_enforcement_only, wanted, True)
    if problem:
        raise ValidationError({"tlp": problem})
    claim(document, None)
    # The version being replaced keeps the marking it was read under (TLP 2.0: the past keeps its
    # marking), even if the document's is loosened later.
    previous = document.latest
    if previous is not None:
        previous.tlp = strictest(previous.tlp, document.tlp)
        previous.law_enforcement_only = previous.law_enforcement_only or document.law_enforcement_only
    number = max((v.number for v in document.versions), default=0) + 1
    stored, meta = store_file("meeting", chunks, filename, actor, max_bytes, target=("meeting_document", document.id))
    version = MeetingDocumentVersion(
        number=number,
        file=stored,
        # Only a stricter marking is the version's own; the document's is followed as it changes.
        tlp=wanted if wanted.rank > document.tlp.rank else None,
        law_enforcement_only=law_enforcement_only and not document.law_enforcement_only,
        author_id=actor.id,
        author_org_id=actor.organisation_id,
    )
    document.versions.append(version)
    document.file = stored
    db.session.flush()
    record(
        "meeting.document_version_upload",
        actor=actor,
        target=("meeting_document", document.id),
        target_org=document.author_org_id,
        meeting_id=document.meeting_id,
        number=number,
        tlp=wanted.value,
        bytes=stored.size,
        scan=stored.scan_status,
    )
    return version, meta


def move_document(
    actor: Any,
    document: MeetingDocument,
    direction: str,
    expected_version: int | None = None,
    neighbour: tuple[int, int] | None = None,
) -> bool:
    """Swap the document with the neighbour ``up``/``down`` that the actor sees, among the documents
    of the same agenda item (or of the meeting as a whole); False when there is none. A move from
    an older order than the one stored, or one that loses to a simultaneous move, raises
    ``StaleEdit`` (``claim_swap``)."""
    meeting = document.meeting
    if not can(actor, "edit_meeting", meeting):
        raise NotAllowed(_("Only those who prepare the meeting arrange its documents."))
    if direction not in ("up", "down"):
        raise ValidationError({"direction": _("Move a document up or down.")})
    same_place = (
        MeetingDocument.agenda_item_id.is_(None)
        if document.agenda_item_id is None
        else MeetingDocument.agenda_item_id == document.agenda_item_id
    )
    key = (document.position, document.id)
    siblings = db.session.scalars(
        sa.select(MeetingDocument)
        .join(Meeting, Meeting.id == MeetingDocument.meeting_id)
        .where(MeetingDocument.meeting_id == meeting.id, same_place, visible_meeting_documents(actor))
        .order_by(MeetingDocument.position, MeetingDocument.id)
    ).all()
    before = [d for d in siblings if (d.position, d.id) < key]
    after = [d for d in siblings if (d.position, d.id) > key]
    other = (before[-1] if before else None) if direction == "up" else (after[0] if after else None)
    if not claim_swap(document, other, expected_version, neighbour) or other is None:
        return False
    document.position, other.position = other.position, document.position
    db.session.flush()
    record(
        "meeting.agenda",
        actor=actor,
        target=("meeting", meeting.id),
        change=f"document_{direction}",
        document_id=document.id,
    )
    return True


def remove_document(actor: Any, document: MeetingDocument, expected_version: int | None = None) -> None:
    """Delete the document and crypto-shred its file."""
    if not can(actor, "remove_meeting_document", document):
        raise NotAllowed(_("Only the document's author and those who prepare the meeting remove it."))
    claim(document, expected_version)
    meeting = document.meeting
    document_id, files = document.id, document.all_files
    meeting.documents.remove(document)
    shred_files(files)
    record("meeting.document_remove", actor=actor, target=("meeting_document", document_id), meeting_id=meeting.id)
    log.info("document %s removed from meeting %s by user %s", document_id, meeting.id, actor.id)


__all__ = [
    "add_document",
    "add_document_version",
    "add_form_document",
    "edit_document",
    "move_document",
    "remove_document",
]
