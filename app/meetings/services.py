"""Writes on meetings, their agenda and minutes, shared by the pages, the API, the demo and tests.

Curators schedule any meeting; a cluster's coordinators schedule its technical meetings
(``schedule_meeting``). Curators, the organiser and the technical meeting's cluster coordinators
prepare it (``edit_meeting``); curators and the organiser delete it. Every write is one audit
event in the caller's transaction; services never commit. Documents are in
``app.meetings.documents``.
"""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from app.audit.services import record
from app.auth.models import User
from app.clusters.markdown import render
from app.clusters.models import Cluster
from app.clusters.names import cluster_label
from app.clusters.services import cluster_by_slug, refuse_self_added_recipients, resolve_recipients
from app.concurrency import claim, claim_swap
from app.db import utcnow
from app.directory.models import Organisation
from app.extensions import db
from app.files.services import shred_files
from app.markings import Marking
from app.meetings.models import (
    AgendaItem,
    Meeting,
    MeetingDocument,
    MeetingKind,
    MeetingRecipientOrg,
    MeetingRecipientUser,
)
from app.meetings.validation import MAX_AGENDA, AgendaEntry, MeetingInput
from app.notifications.fanout import announce_meeting, meeting_facts, record_marking_change
from app.policy import NotAllowed, can, check_marking_change
from app.validation import ValidationError

log = logging.getLogger("pax.meetings")


def _may_schedule(actor: Any, kind: MeetingKind, cluster: Cluster | None) -> None:
    if not can(actor, "schedule_meeting", cluster if kind is MeetingKind.TECHNICAL else None):
        if kind is MeetingKind.TECHNICAL and cluster is not None:
            raise NotAllowed(
                _(
                    "Only curators and the coordinators of %(cluster)s schedule its technical meetings.",
                    cluster=cluster_label(cluster),
                )
            )
        raise NotAllowed(
            {
                MeetingKind.TECHNICAL: _("Only curators schedule a technical cluster meeting."),
                MeetingKind.SENIOR_OFFICIALS: _("Only curators schedule a senior Officials' meeting."),
                MeetingKind.MINISTERIAL: _("Only curators schedule a ministerial meeting."),
            }[kind]
        )


def _apply(
    meeting: Meeting, data: MeetingInput, cluster: Cluster | None, recipients: tuple[list[Organisation], list[User]]
) -> None:
    orgs, users = recipients
    meeting.kind = data.kind
    meeting.cluster = cluster
    meeting.cluster_id = cluster.id if cluster else None
    meeting.title = data.title
    meeting.starts_at = data.starts_at
    meeting.ends_at = data.ends_at
    meeting.location = data.location
    meeting.online = data.online
    meeting.video_link = data.video_link
    meeting.tlp = data.tlp
    meeting.law_enforcement_only = data.law_enforcement_only
    kept_orgs = {r.organisation_id: r for r in meeting.recipient_orgs}
    meeting.recipient_orgs = [kept_orgs.get(o.id) or MeetingRecipientOrg(organisation_id=o.id) for o in orgs]
    kept_users = {r.user_id: r for r in meeting.recipient_users}
    meeting.recipient_users = [kept_users.get(u.id) or MeetingRecipientUser(user_id=u.id) for u in users]


def schedule_meeting(actor: Any, data: MeetingInput) -> Meeting:
    """Create a meeting organised by ``actor`` (and their organisation), with its agenda if given."""
    cluster = cluster_by_slug(data.cluster) if data.cluster is not None else None
    _may_schedule(actor, data.kind, cluster)
    meeting = Meeting(author_id=actor.id, author_org_id=actor.organisation_id, minutes="", minutes_html="")
    _apply(meeting, data, cluster, resolve_recipients(data.recipient_orgs, data.recipient_users))
    db.session.add(meeting)
    db.session.flush()
    if data.agenda:
        _replace_agenda(meeting, data.agenda)
    if data.minutes:
        meeting.minutes, meeting.minutes_html = data.minutes, render(data.minutes)
    db.session.flush()
    record(
        "meeting.schedule",
        actor=actor,
        target=("meeting", meeting.id),
        kind=meeting.kind.value,
        cluster=cluster.slug if cluster else None,
        tlp=meeting.tlp.value,
    )
    announce_meeting(meeting)
    log.info("meeting %s (%s) scheduled by user %s", meeting.id, meeting.kind.value, actor.id)
    return meeting


def update_meeting(actor: Any, meeting: Meeting, data: MeetingInput, expected_version: int | None = None) -> Meeting:
    """Change a meeting. Its documents keep a marking at least as strict as the meeting's.

    Only the organiser or their organisation's focal point loosens its marking
    (``policy.check_marking_change``); every change of the meeting's or a document's marking is
    audited and told to the item's originators.

    ``StaleEdit`` when the editor's copy is not ``expected_version`` or a simultaneous save won.
    """
    if not can(actor, "edit_meeting", meeting):
        raise NotAllowed(_("Only curators, the organiser and the cluster's coordinators edit this meeting."))
    cluster = cluster_by_slug(data.cluster) if data.cluster is not None else None
    if (data.kind, data.cluster) != (meeting.kind, meeting.cluster.slug if meeting.cluster else None):
        # Moving a meeting to another kind or cluster is scheduling it there.
        _may_schedule(actor, data.kind, cluster)
    recipients = resolve_recipients(data.recipient_orgs, data.recipient_users)
    # The more specific refusal first: naming oneself is refused whatever the marking does.
    refuse_self_added_recipients(actor, meeting, "meeting", *recipients)
    old_marking = Marking.of(meeting)
    new_marking = Marking.proposed(data.tlp, data.law_enforcement_only, *recipients)
    check_marking_change(actor, meeting, old_marking, new_marking)
    claim(meeting, expected_version)
    facts_before = meeting_facts(meeting)
    _apply(meeting, data, cluster, recipients)
    tightened_documents = []
    for document in meeting.documents:
        before = Marking.of(document)
        if document.tlp.rank < meeting.tlp.rank:
            document.tlp = meeting.tlp
        if meeting.law_enforcement_only and not document.law_enforcement_only:
            document.law_enforcement_only = True
        if Marking.of(document) != before:
            # A document form drawn before this must not put the looser marking back.
            document.version += 1
            tightened_documents.append((document, before))
    if data.agenda is not None:
        _replace_agenda(meeting, data.agenda)
    if data.minutes is not None and data.minutes != meeting.minutes:
        meeting.minutes, meeting.minutes_html = data.minutes, render(data.minutes)
    meeting.updated_at = utcnow()
    db.session.flush()
    record("meeting.update", actor=actor, target=("meeting", meeting.id), tlp=meeting.tlp.value)
    record_marking_change(actor, meeting, old_marking, new_marking)
    for document, before in tightened_documents:
        record_marking_change(actor, document, before, Marking.of(document), meeting_id=meeting.id)
    announce_meeting(meeting, changed=meeting_facts(meeting) != facts_before)
    log.info("meeting %s updated by user %s", meeting.id, actor.id)
    return meeting


def delete_meeting(actor: Any, meeting: Meeting, expected_version: int | None = None) -> None:
    """Delete a meeting with its agenda, crypto-shredding its documents' files first."""
    if not can(actor, "delete_meeting", meeting):
        raise NotAllowed(_("Only curators and the organiser delete this meeting."))
    claim(meeting, expected_version)
    meeting_id = meeting.id
    files = [f for d in meeting.documents for f in d.all_files]
    # The documents go as orphans in the same flush as their files' rows (their wrapped keys).
    meeting.documents.clear()
    shredded = shred_files(files)
    db.session.delete(meeting)
    db.session.flush()
    record("meeting.delete", actor=actor, target=("meeting", meeting_id), documents=shredded)
    log.info("meeting %s deleted by user %s (%s files shredded)", meeting_id, actor.id, shredded)


def save_minutes(actor: Any, meeting: Meeting, minutes: str, expected_version: int | None = None) -> Meeting:
    """Replace the minutes (Markdown, rendered and sanitised like a post's text)."""
    if not can(actor, "edit_meeting", meeting):
        raise NotAllowed(_("Only curators, the organiser and the cluster's coordinators write the minutes."))
    claim(meeting, expected_version)
    meeting.minutes = minutes
    meeting.minutes_html = render(minutes)
    meeting.updated_at = utcnow()
    db.session.flush()
    record("meeting.minutes", actor=actor, target=("meeting", meeting.id), characters=len(minutes))
    return meeting


# --- the agenda: positions stay 1..n, and (meeting_id, position) is unique ---------------------------


def _may_prepare(actor: Any, meeting: Meeting) -> None:
    if not can(actor, "edit_meeting", meeting):
        raise NotAllowed(_("Only curators, the organiser and the cluster's coordinators change this agenda."))


def _replace_agenda(meeting: Meeting, entries: list[AgendaEntry]) -> None:
    """The agenda becomes ``entries``, matched by position: documents stay with the item at their
    position; those of items beyond the new end move to the meeting as a whole."""
    items = list(meeting.agenda)
    for n, entry in enumerate(entries, start=1):
        if n <= len(items):
            _set_entry(items[n - 1], entry)
        else:
            item = AgendaItem(position=n)
            _set_entry(item, entry)
            meeting.agenda.append(item)
            db.session.flush()
    for item in items[len(entries) :]:
        _detach_documents(meeting, item)
        meeting.agenda.remove(item)
        db.session.flush()


def _set_entry(item: AgendaItem, entry: AgendaEntry) -> None:
    item.title, item.notes, item.speakers = entry.title, entry.notes, entry.speakers
    item.starts_at, item.duration_minutes = entry.starts_at, entry.duration_minutes


def _next_document_position(meeting_id: int, agenda_item_id: int | None) -> int:
    current = db.session.scalar(
        sa.select(sa.func.max(MeetingDocument.position)).where(
            MeetingDocument.meeting_id == meeting_id,
            MeetingDocument.agenda_item_id.is_(None)
            if agenda_item_id is None
            else MeetingDocument.agenda_item_id == agenda_item_id,
        )
    )
    return (current or 0) + 1


def _detach_documents(meeting: Meeting, item: AgendaItem) -> None:
    """Documents of a removed item become documents of the meeting as a whole, after the others."""
    documents = list(db.session.scalars(sa.select(MeetingDocument).where(MeetingDocument.agenda_item_id == item.id)))
    position = _next_document_position(meeting.id, None)
    for document in sorted(documents, key=lambda d: (d.position, d.id)):
        document.agenda_item_id = None
        document.agenda_item = None
        document.position = position
        position += 1
    db.session.flush()


def add_agenda_item(actor: Any, meeting: Meeting, entry: AgendaEntry) -> AgendaItem:
    """Append an item to the agenda."""
    _may_prepare(actor, meeting)
    if len(meeting.agenda) >= MAX_AGENDA:
        raise ValidationError({"title": _("An agenda has at most %(num)s items.", num=MAX_AGENDA)})
    item = AgendaItem(position=len(meeting.agenda) + 1)
    _set_entry(item, entry)
    meeting.agenda.append(item)
    db.session.flush()
    record("meeting.agenda", actor=actor, target=("meeting", meeting.id), change="add", item_id=item.id)
    return item


def edit_agenda_item(
    actor: Any, item: AgendaItem, entry: AgendaEntry, expected_version: int | None = None
) -> AgendaItem:
    """Change an item's title, notes, start, duration and speakers (``StaleEdit`` from a stale
    copy or a lost race)."""
    _may_prepare(actor, item.meeting)
    claim(item, expected_version)
    _set_entry(item, entry)
    db.session.flush()
    record("meeting.agenda", actor=actor, target=("meeting", item.meeting_id), change="edit", item_id=item.id)
    return item


def move_agenda_item(
    actor: Any,
    item: AgendaItem,
    direction: str,
    expected_version: int | None = None,
    neighbour: tuple[int, int] | None = None,
) -> bool:
    """Swap the item with its neighbour ``up`` or ``down``; False when it is already at that end.

    ``expected_version`` and ``neighbour`` are what the member's page showed (``claim_swap``): a
    move from an older order, or one that loses to a simultaneous move, raises ``StaleEdit``.
    """
    meeting = item.meeting
    _may_prepare(actor, meeting)
    if direction not in ("up", "down"):
        raise ValidationError({"direction": _("Move an item up or down.")})
    items = list(meeting.agenda)
    index = items.index(item)
    other_index = index - 1 if direction == "up" else index + 1
    other = items[other_index] if 0 <= other_index < len(items) else None
    if not claim_swap(item, other, expected_version, neighbour) or other is None:
        return False
    mine, theirs = item.position, other.position
    # Three flushes, so the unique (meeting_id, position) holds after each statement.
    item.position = 0
    db.session.flush()
    other.position = mine
    db.session.flush()
    item.position = theirs
    db.session.flush()
    db.session.expire(meeting, ["agenda"])
    record("meeting.agenda", actor=actor, target=("meeting", meeting.id), change=f"move_{direction}", item_id=item.id)
    return True


def remove_agenda_item(actor: Any, item: AgendaItem, expected_version: int | None = None) -> None:
    """Remove an item; its documents move to the meeting as a whole and later items move up."""
    meeting = item.meeting
    _may_prepare(actor, meeting)
    claim(item, expected_version)
    item_id = item.id
    _detach_documents(meeting, item)
    later = [i for i in meeting.agenda if i.position > item.position]
    meeting.agenda.remove(item)
    db.session.flush()
    for other in sorted(later, key=lambda i: i.position):
        other.position -= 1
        db.session.flush()
    db.session.expire(meeting, ["agenda"])
    record("meeting.agenda", actor=actor, target=("meeting", meeting.id), change="remove", item_id=item_id)
