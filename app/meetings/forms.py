"""Forms of the meeting pages. Like the post form, they carry only what a person typed:
``to_raw`` gives ``parse_meeting`` the API's shape (with Brussels wall-clock times) and
``show_errors`` puts its messages back on the fields. The forms check nothing but CSRF."""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    HiddenField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)

from app.clusters.forms import organisation_names
from app.clusters.models import Cluster
from app.clusters.names import cluster_label
from app.extensions import db
from app.forms import ParsedForm, PaxForm
from app.markings import Tlp
from app.meetings.models import Meeting, MeetingKind
from app.meetings.validation import BRUSSELS
from app.policy import can

_ADDRESS_SEPARATORS = re.compile(r"[,;\s]+")


def schedulable(user: Any) -> tuple[list[MeetingKind], list[Cluster]]:
    """The kinds of meeting and the clusters the form offers ``user``, as the policy's
    ``schedule_meeting`` rule answers for each (it decides again on save)."""
    clusters = [
        c for c in db.session.scalars(sa.select(Cluster).order_by(Cluster.position)) if can(user, "schedule_meeting", c)
    ]
    kinds = [MeetingKind.TECHNICAL] if clusters else []
    if can(user, "schedule_meeting", None):
        kinds = list(MeetingKind)
    return kinds, clusters


class MeetingForm(ParsedForm):
    ERROR_FIELDS = {"starts_at": "starts_date", "ends_at": "ends_date"}
    UNSHOWN_FIELDS = ("csrf_token", "version")
    #: The meeting's version when the form was drawn (``app.concurrency``).
    version = HiddenField()
    title = StringField(_l("Title"))
    kind = SelectField(_l("Kind of meeting"), choices=[], validate_choice=False)
    cluster = SelectField(_l("Cluster"), choices=[], validate_choice=False)
    starts_date = StringField(_l("Start date"))
    starts_time = StringField(_l("Start time"))
    ends_date = StringField(_l("End date"))
    ends_time = StringField(_l("End time"))
    location = StringField(_l("Place"))
    online = BooleanField(_l("Online (also or only)"))
    tlp = RadioField(_l("TLP marking"), choices=[SelectChoice(t.value, t.label) for t in Tlp], validate_choice=False)
    law_enforcement_only = BooleanField(_l("Law enforcement only"))
    recipient_orgs = SelectMultipleField(_l("Recipient organisations"), choices=[], validate_choice=False)
    recipient_users = TextAreaField(_l("Named recipients"))
    video_link = StringField(_l("Video-conference link"))
    agenda = TextAreaField(_l("Agenda"))

    def __init__(self, kinds: list[MeetingKind], clusters: list[Cluster], *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kind.choices = [SelectChoice("", _("Choose the kind of meeting"))] + [
            SelectChoice(k.value, k.label) for k in kinds
        ]
        self.cluster.choices = [SelectChoice("", _("No cluster (Senior Officials' or ministerial)"))] + [
            SelectChoice(c.slug, cluster_label(c)) for c in clusters
        ]
        names = organisation_names()
        chosen = [n for n in (self.recipient_orgs.data or []) if n and n not in names]
        self.recipient_orgs.choices = [(n, n) for n in [*names, *chosen]]

    @classmethod
    def for_meeting(cls, meeting: Meeting, kinds: list[MeetingKind], clusters: list[Cluster]) -> MeetingForm:
        starts, ends = meeting.starts_at.astimezone(BRUSSELS), meeting.ends_at.astimezone(BRUSSELS)
        data = {
            "title": meeting.title,
            "kind": meeting.kind.value,
            "cluster": meeting.cluster.slug if meeting.cluster else "",
            "starts_date": f"{starts:%Y-%m-%d}",
            "starts_time": f"{starts:%H:%M}",
            "ends_date": f"{ends:%Y-%m-%d}",
            "ends_time": f"{ends:%H:%M}",
            "location": meeting.location,
            "online": meeting.online,
            "tlp": meeting.tlp.value,
            "law_enforcement_only": meeting.law_enforcement_only,
            "recipient_orgs": [r.organisation.name for r in meeting.recipient_orgs],
            "recipient_users": "\n".join(r.user.email for r in meeting.recipient_users),
            "video_link": meeting.video_link,
            "version": str(meeting.version),
        }
        return cls(kinds, clusters, formdata=None, data=data)

    @staticmethod
    def _when(day: str | None, time: str | None) -> str:
        day, time = (day or "").strip(), (time or "").strip()
        # Both or nothing: a date alone would silently mean midnight.
        return f"{day}T{time}" if day and time else ""

    def to_raw(self, with_agenda: bool) -> dict[str, Any]:
        raw: dict[str, Any] = {
            "title": self.title.data or "",
            "kind": self.kind.data or None,
            "cluster": self.cluster.data or None,
            "starts_at": self._when(self.starts_date.data, self.starts_time.data),
            "ends_at": self._when(self.ends_date.data, self.ends_time.data),
            "location": self.location.data or "",
            "online": bool(self.online.data),
            "tlp": self.tlp.data or None,
            "law_enforcement_only": bool(self.law_enforcement_only.data),
            "recipient_orgs": [name for name in (self.recipient_orgs.data or []) if name.strip()],
            "recipient_users": [p for p in _ADDRESS_SEPARATORS.split(self.recipient_users.data or "") if p],
            "video_link": (self.video_link.data or "").strip(),
        }
        if with_agenda:
            lines = [line.strip() for line in (self.agenda.data or "").splitlines() if line.strip()]
            raw["agenda"] = [{"title": line} for line in lines]
        return raw


class AgendaItemForm(PaxForm):
    title = StringField(_l("Title"))
    start_time = StringField(_l("Start time"))
    duration_minutes = StringField(_l("Duration in minutes"))
    speakers = StringField(_l("Speakers"))
    notes = TextAreaField(_l("Notes"))
    version = HiddenField()

    def to_raw(self, meeting: Meeting, zone: Any) -> dict[str, Any]:
        """The item as ``parse_agenda_item`` reads it: a bare ``HH:MM`` start is on the meeting's
        first day in ``zone`` (the editor's), ``YYYY-MM-DD HH:MM`` on that day."""
        start = (self.start_time.data or "").strip()
        if start and len(start) <= 5:
            start = f"{meeting.starts_at.astimezone(zone):%Y-%m-%d}T{start}"
        return {
            "title": self.title.data,
            "notes": self.notes.data,
            "starts_at": start.replace(" ", "T", 1),
            "duration_minutes": (self.duration_minutes.data or "").strip(),
            "speakers": self.speakers.data or "",
        }

    @classmethod
    def for_item(cls, item: Any, zone: Any) -> AgendaItemForm:
        start = ""
        if item.starts_at is not None:
            local = item.starts_at.astimezone(zone)
            same_day = local.date() == item.meeting.starts_at.astimezone(zone).date()
            start = f"{local:%H:%M}" if same_day else f"{local:%Y-%m-%d %H:%M}"
        data = {
            "title": item.title,
            "notes": item.notes,
            "start_time": start,
            "duration_minutes": str(item.duration_minutes or ""),
            "speakers": item.speakers,
            "version": str(item.version),
        }
        return cls(formdata=None, data=data)


class MinutesForm(PaxForm):
    minutes = TextAreaField(_l("Minutes"))
    #: The meeting's version: the minutes are part of it.
    version = HiddenField()


class DocumentForm(PaxForm):
    """Editing a document's title and marking (the file itself is replaced by uploading anew)."""

    title = StringField(_l("Title"))
    tlp = RadioField(_l("TLP marking"), choices=[SelectChoice(t.value, t.label) for t in Tlp], validate_choice=False)
    law_enforcement_only = BooleanField(_l("Law enforcement only"))
    version = HiddenField()
