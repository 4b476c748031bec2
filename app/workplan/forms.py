"""Forms of the workplan pages. They carry what a person typed and check only CSRF.

``to_raw`` turns a form into the plain data ``app.workplan.validation.parse_item`` checks (the
shape the API receives) and ``show_errors`` puts the validator's messages back on the fields,
so the pages and the API agree on what a valid item is.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, SelectChoice, SelectField, SelectMultipleField, StringField, TextAreaField

from app import localtime
from app.clusters.models import Cluster
from app.clusters.names import cluster_label
from app.directory.models import Organisation
from app.extensions import db
from app.forms import ParsedForm
from app.meetings.models import Meeting
from app.workplan.models import ItemStatus, WorkplanItem

STATUS_CHOICES = [SelectChoice(s.value, s.lazy_label) for s in ItemStatus]


class StatusForm(ParsedForm):
    """What a cluster's coordinators report: status and progress."""

    UNSHOWN_FIELDS = ("csrf_token", "version")

    status = SelectField(_l("Status"), choices=STATUS_CHOICES, validate_choice=False)
    progress = StringField(_l("Progress (%)"))
    #: The item's version when the form was drawn (``app.concurrency``).
    version = HiddenField()

    def to_raw(self) -> dict[str, Any]:
        return {"status": self.status.data or None, "progress": (self.progress.data or "").strip() or None}

    @classmethod
    def for_item(cls, item: WorkplanItem) -> StatusForm:
        return cls(
            formdata=None,
            data={"status": item.status.value, "progress": str(item.progress), "version": str(item.version)},
        )


class ItemForm(StatusForm):
    """Everything about an item, for curators."""

    year = StringField(_l("Year"))
    cluster = SelectField(_l("Cluster"), choices=[], validate_choice=False)
    title = StringField(_l("Title"))
    description = TextAreaField(_l("Description"))
    lead_organisations = SelectMultipleField(_l("Lead organisations"), choices=[], validate_choice=False)
    due_date = StringField(_l("Due date"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cluster.choices = [SelectChoice("", _("Choose the cluster"))] + [
            SelectChoice(row.slug, cluster_label(row))
            for row in db.session.execute(sa.select(Cluster.slug, Cluster.name).order_by(Cluster.position))
        ]
        names = list(db.session.scalars(sa.select(Organisation.name).order_by(Organisation.name)))
        chosen = [n for n in (self.lead_organisations.data or []) if n and n not in names]
        self.lead_organisations.choices = [(n, n) for n in [*names, *chosen]]

    def to_raw(self) -> dict[str, Any]:
        return {
            "year": (self.year.data or "").strip() or None,
            "cluster": self.cluster.data or None,
            "title": self.title.data or "",
            "description": self.description.data or "",
            "lead_organisations": [n for n in (self.lead_organisations.data or []) if n.strip()],
            "due_date": (self.due_date.data or "").strip() or None,
            **super().to_raw(),
        }

    @classmethod
    def for_item(cls, item: WorkplanItem) -> ItemForm:
        return cls(
            formdata=None,
            data={
                "year": str(item.workplan.year),
                "cluster": item.cluster.slug,
                "title": item.title,
                "description": item.description,
                "lead_organisations": sorted(o.name for o in item.lead_organisations),
                "due_date": item.due_date.isoformat() if item.due_date else "",
                "status": item.status.value,
                "progress": str(item.progress),
                "version": str(item.version),
            },
        )


class AdoptForm(ParsedForm):
    """The workplan's adoption: at which meeting (or none) and on which date; or back to draft."""

    meeting_id = SelectField(_l("Adopted at meeting"), choices=[], validate_choice=False)
    adopted_on = StringField(_l("Adopted on"))
    action = StringField()

    def __init__(self, meetings: list[Meeting], *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.meetings = {str(m.id): m for m in meetings}
        self.meeting_id.choices = [SelectChoice("", _("No meeting (adopted in writing)"))] + [
            SelectChoice(str(m.id), f"{localtime.format_date(m.starts_at)}: {m.title}") for m in meetings
        ]
