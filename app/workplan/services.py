"""Writes to the workplan: every change goes through here so its history is recorded.

Curators (``manage_workplan``) create items and change everything; a cluster's coordinators
(``update_workplan_item``) report the status and progress of their cluster's items and nothing
else. Each changed field becomes a ``WorkplanItemChange`` holding the old and new value as the
pages display them, and each action an audit event. Services never commit.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from app.audit.services import record
from app.auth.models import User
from app.clusters.services import cluster_by_slug
from app.concurrency import claim
from app.db import utcnow
from app.directory.models import Organisation
from app.extensions import db
from app.meetings.models import Meeting
from app.policy import NotAllowed, can, visible_meetings
from app.validation import ValidationError
from app.workplan.models import ItemStatus, Workplan, WorkplanItem, WorkplanItemChange, WorkplanItemLead, WorkplanStatus
from app.workplan.validation import COORDINATOR_FIELDS, MISSING, REQUIRED_ON_CREATE

log = logging.getLogger("pax.workplan")


def workplan_of(year: int) -> Workplan:
    """The workplan of ``year``, created as a draft the first time an item is planned for it."""
    workplan = db.session.scalar(sa.select(Workplan).where(Workplan.year == year))
    if workplan is None:
        workplan = Workplan(year=year)
        db.session.add(workplan)
        db.session.flush()
    return workplan


# --- values as displayed (the history keeps these, so it reads the same forever) ------------------


def show_progress(progress: int) -> str:
    return f"{progress} %"


def show_leads(organisations: list[Organisation]) -> str:
    return "; ".join(sorted(o.name for o in organisations))


def show_date(value: date | None) -> str:
    return value.isoformat() if value else ""


def _displayed(item: WorkplanItem) -> dict[str, str]:
    return {
        "year": str(item.workplan.year),
        "cluster": item.cluster.name,
        "title": item.title,
        "description": item.description,
        "lead_organisations": show_leads(item.lead_organisations),
        "due_date": show_date(item.due_date),
        "status": item.status.english_label,
        "progress": show_progress(item.progress),
    }


# --- resolving names ----------------------------------------------------------------------------


def _organisations(names: list[str]) -> list[Organisation]:
    found: list[Organisation] = []
    for name in names:
        org = db.session.scalar(sa.select(Organisation).where(sa.func.lower(Organisation.name) == name.lower()))
        if org is None:
            raise ValidationError(
                {"lead_organisations": _("No member organisation is named %(name)s.", name=repr(name[:80]))}
            )
        if org not in found:
            found.append(org)
    return found


def _apply(item: WorkplanItem, data: dict[str, Any]) -> None:
    """Set the sent fields on ``item``, resolving names first so a bad one changes nothing."""
    cluster = cluster_by_slug(data["cluster"]) if "cluster" in data else None
    leads = _organisations(data["lead_organisations"]) if "lead_organisations" in data else None
    if "year" in data:
        item.workplan = workplan_of(data["year"])
    if cluster is not None:
        item.cluster = cluster
    for name in ("title", "description", "due_date", "status", "progress"):
        if name in data:
            setattr(item, name, data[name])
    if leads is not None:
        kept = {lead.organisation_id: lead for lead in item.leads}
        item.leads = [kept.get(o.id) or WorkplanItemLead(organisation=o) for o in leads]


# --- items -----------------------------------------------------------------------------------------


def create_item(actor: User, data: dict[str, Any]) -> WorkplanItem:
    """A new workplan item (curators), with a "created" history record and an audit event.

    ``data`` comes from ``parse_item(..., creating=True)``.
    """
    if not can(actor, "manage_workplan"):
        raise NotAllowed(_("Only curators add items to the workplan."))
    missing = [name for name in REQUIRED_ON_CREATE if name not in data]
    if missing:
        raise ValidationError({name: str(MISSING[name]) for name in missing})
    item = WorkplanItem(description="", status=ItemStatus.PLANNED, progress=0)
    _apply(item, data)
    db.session.add(item)
    db.session.flush()
    db.session.add(
        WorkplanItemChange(item_id=item.id, actor_id=actor.id, field="created", old_value=None, new_value=item.title)
    )
    record(
        "workplan.item_create",
        actor=actor,
        target=("workplan_item", item.id),
        year=item.workplan.year,
        cluster=item.cluster.slug,
    )
    log.info("workplan item %s created by user %s", item.id, actor.id)
    return item


def allowed_fields(actor: User, item: WorkplanItem) -> frozenset[str] | None:
    """The fields ``actor`` may change on ``item``: None for all of them (curators)."""
    if can(actor, "manage_workplan"):
        return None
    if can(actor, "update_workplan_item", item):
        return COORDINATOR_FIELDS
    return frozenset()


def update_item(
    actor: User, item: WorkplanItem, data: dict[str, Any], expected_version: int | None = None
) -> list[WorkplanItemChange]:
    """Change the sent fields of ``item``; one history record per field whose value changed.

    Coordinators of the item's cluster may send only status and progress; anything else
    from them, or anything at all from others, raises ``NotAllowed``. Returns the records.
    A save from a copy other than ``expected_version``, or one that loses to a simultaneous
    save, raises ``StaleEdit`` and changes nothing.
    """
    allowed = allowed_fields(actor, item)
    if allowed is not None:
        if not allowed:
            raise NotAllowed(_("Only curators and this cluster's coordinators update this item."))
        refused = sorted(set(data) - allowed)
        if refused:
            raise NotAllowed(
                _("Coordinators may change only the status and progress; not: %(fields)s.", fields=", ".join(refused))
            )
    claim(item, expected_version)
    before = _displayed(item)
    _apply(item, data)
    db.session.flush()
    after = _displayed(item)
    changes = [
        WorkplanItemChange(
            item_id=item.id, actor_id=actor.id, field=name, old_value=before[name], new_value=after[name]
        )
        for name in before
        if before[name] != after[name]
    ]
    if changes:
        item.updated_at = utcnow()
        db.session.add_all(changes)
        db.session.flush()
        record(
            "workplan.item_update",
            actor=actor,
            target=("workplan_item", item.id),
            fields=[c.field for c in changes],
        )
        log.info("workplan item %s updated by user %s: %s", item.id, actor.id, [c.field for c in changes])
    return changes


# --- adoption --------------------------------------------------------------------------------------


def adopt_workplan(actor: User, workplan: Workplan, meeting: Meeting | None, adopted_on: date) -> Workplan:
    """Mark the year's workplan adopted on ``adopted_on``, at ``meeting`` if given (curators).

    The meeting must be one the curator may see, so nobody links a meeting they cannot name.
    """
    if not can(actor, "manage_workplan"):
        raise NotAllowed(_("Only curators record the adoption of the workplan."))
    if meeting is not None:
        visible = db.session.scalar(sa.select(Meeting.id).where(Meeting.id == meeting.id, visible_meetings(actor)))
        if visible is None:
            raise ValidationError({"meeting_id": _("Choose a meeting from the list.")})
    workplan.status = WorkplanStatus.ADOPTED
    workplan.adopted_on = adopted_on
    workplan.adopted_at_meeting_id = meeting.id if meeting is not None else None
    db.session.flush()
    record(
        "workplan.adopt",
        actor=actor,
        target=("workplan", workplan.id),
        year=workplan.year,
        status="adopted",
        meeting_id=workplan.adopted_at_meeting_id,
        adopted_on=adopted_on.isoformat(),
    )
    return workplan


def reopen_draft(actor: User, workplan: Workplan) -> Workplan:
    """Put an adopted workplan back to draft (curators), forgetting its adoption."""
    if not can(actor, "manage_workplan"):
        raise NotAllowed(_("Only curators change the adoption of the workplan."))
    workplan.status = WorkplanStatus.DRAFT
    workplan.adopted_on = None
    workplan.adopted_at_meeting_id = None
    db.session.flush()
    record("workplan.adopt", actor=actor, target=("workplan", workplan.id), year=workplan.year, status="draft")
    return workplan
