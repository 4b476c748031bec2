"""Forms of the cluster pages: the post form, the comment form and the feed and search filters.

The post form only carries what a person typed. ``PostForm.to_raw`` turns it into the plain
data ``app.clusters.validation.parse_post`` checks (the same shape the API receives), and
``PostForm.show_errors`` puts the validator's messages back on the fields, so a page and the
API can never disagree about what a valid post is. The form itself checks nothing but CSRF.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MultiDict
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
from wtforms.validators import DataRequired

from app import parsers
from app.clusters.models import Attachment, Cluster, Comment, MembershipRole, ModusOperandi, Post, PostType, Substance
from app.clusters.queries import PostFilter
from app.clusters.search import MAX_QUERY
from app.clusters.validation import TAG_RE
from app.directory.models import Organisation
from app.extensions import db
from app.forms import ParsedForm, PaxForm
from app.markings import Tlp
from app.pagination import page_number
from app.validation import ValidationError
from app.workplan.models import Workplan, WorkplanItem

MODUS_LABELS = {
    ModusOperandi.RIP_ON_RIP_OFF: _l("Rip-on/rip-off"),
    ModusOperandi.CONTAINER_CLONING: _l("Container cloning"),
    ModusOperandi.PIN_CODE_FRAUD: _l("PIN code fraud"),
    ModusOperandi.INSIDER_CORRUPTION: _l("Insider corruption"),
    ModusOperandi.EXTRACTION_TEAM: _l("Extraction team"),
    ModusOperandi.CONCEALMENT_IN_CARGO: _l("Concealment in cargo"),
    ModusOperandi.CYBER_INTRUSION: _l("Cyber intrusion"),
    ModusOperandi.DRONE: _l("Drone"),
    ModusOperandi.OTHER: _l("Other"),
}
SUBSTANCE_LABELS = {
    Substance.COCAINE: _l("Cocaine"),
    Substance.CANNABIS: _l("Cannabis"),
    Substance.HEROIN: _l("Heroin"),
    Substance.SYNTHETIC_DRUGS: _l("Synthetic drugs"),
    Substance.PRECURSORS: _l("Precursors"),
    Substance.OTHER: _l("Other"),
    Substance.NONE: _l("None found"),
}

#: Form field names of the incident details: ``incident_<name>`` carries ``incident.<name>``.
INCIDENT_FIELDS = (
    "port_locode",
    "occurred_on",
    "modus_operandi",
    "substance",
    "quantity_kg",
    "container_numbers",
    "vessel_imo",
)

#: The largest id the database's integer columns hold; a bigger "id" is text to be refused.
MAX_ID = 2_147_483_647

_LIST_SEPARATORS = re.compile(r"[,;\n\r]+")
_ADDRESS_SEPARATORS = re.compile(r"[,;\s]+")


def _split(value: str | None, separators: re.Pattern[str] = _LIST_SEPARATORS) -> list[str]:
    return [part.strip() for part in separators.split(value or "") if part.strip()]


def _id_or_text(value: str | None) -> int | str | None:
    """A select's value as the validator expects it: an id, None, or the odd text to be refused."""
    value = (value or "").strip()
    if not value:
        return None
    return int(value) if parsers.is_number(value, 10) and int(value) <= MAX_ID else value


class PostForm(ParsedForm):
    """A post as a person fills it in; every field is checked by ``parse_post``, not here."""

    UNSHOWN_FIELDS = ("csrf_token", "version")

    type = SelectField(
        _l("Type of post"),
        choices=[SelectChoice("", _l("Choose the type of post"))]
        + [SelectChoice(t.value, t.lazy_label) for t in PostType],
        validate_choice=False,
    )
    title = StringField(_l("Title"))
    body = TextAreaField(_l("Text"))
    tlp = RadioField(_l("TLP marking"), choices=[SelectChoice(t.value, t.label) for t in Tlp], validate_choice=False)
    law_enforcement_only = BooleanField(_l("Law enforcement only"))
    recipient_orgs = SelectMultipleField(_l("Recipient organisations"), choices=[], validate_choice=False)
    recipient_users = TextAreaField(_l("Named recipients"))
    tags = StringField(_l("Tags"))
    workplan_item_id = SelectField(_l("Workplan item"), choices=[], validate_choice=False)
    incident_port_locode = StringField(_l("Port (UN/LOCODE)"))
    incident_occurred_on = StringField(_l("Date of the incident"))
    incident_modus_operandi = SelectField(
        _l("Modus operandi"),
        choices=[SelectChoice("", _l("Choose the modus operandi"))]
        + [SelectChoice(m.value, MODUS_LABELS[m]) for m in ModusOperandi],
        validate_choice=False,
    )
    incident_substance = SelectField(
        _l("Substance"),
        choices=[SelectChoice("", _l("Choose the substance"))]
        + [SelectChoice(s.value, SUBSTANCE_LABELS[s]) for s in Substance],
        validate_choice=False,
    )
    incident_quantity_kg = StringField(_l("Quantity (kg)"))
    incident_container_numbers = TextAreaField(_l("Container numbers"))
    incident_vessel_imo = StringField(_l("Vessel IMO number"))
    #: The version the person started from, so a concurrent edit is not silently overwritten.
    version = HiddenField()

    def __init__(self, cluster: Cluster, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cluster = cluster
        #: Messages about the incident details as a whole (shown on their section).
        self.incident_errors: list[str] = []
        names = organisation_names()
        chosen = [n for n in (self.recipient_orgs.data or []) if n and n not in names]
        self.recipient_orgs.choices = [(n, n) for n in [*names, *chosen]]
        self.workplan_item_id.choices = [SelectChoice("", _("Choose the workplan item"))] + [
            SelectChoice(str(item.id), f"{item.year}: {item.title}") for item in workplan_items(cluster)
        ]

    @classmethod
    def for_post(cls, post: Post) -> PostForm:
        """The form filled in with a post as it is now (the edit page)."""
        incident = post.incident
        data: dict[str, Any] = {
            "type": post.type.value,
            "title": post.title,
            "body": post.body,
            "tlp": post.tlp.value,
            "law_enforcement_only": post.law_enforcement_only,
            "recipient_orgs": [r.organisation.name for r in post.recipient_orgs],
            "recipient_users": "\n".join(r.user.email for r in post.recipient_users),
            "tags": ", ".join(post.tag_names),
            "workplan_item_id": str(post.workplan_item_id or ""),
            "version": str(post.version),
        }
        if incident is not None:
            data.update(
                incident_port_locode=incident.port_locode,
                incident_occurred_on=incident.occurred_on.isoformat(),
                incident_modus_operandi=incident.modus_operandi.value,
                incident_substance=incident.substance.value,
                incident_quantity_kg="" if incident.quantity_kg is None else f"{incident.quantity_kg.normalize():f}",
                incident_container_numbers="\n".join(incident.container_numbers),
                incident_vessel_imo=incident.vessel_imo or "",
            )
        return cls(post.cluster, formdata=None, data=data)

    def has_incident_input(self) -> bool:
        return any((getattr(self, f"incident_{name}").data or "").strip() for name in INCIDENT_FIELDS)

    def to_raw(self) -> dict[str, Any]:
        """The plain data ``parse_post`` takes: what was typed, nothing dropped or guessed.

        Incident details go with an incident note, or whenever some were filled in (so the
        person is told that only incident notes carry them, instead of losing them unseen).
        """
        raw: dict[str, Any] = {
            "type": self.type.data or None,
            "cluster": self.cluster.slug,
            "title": self.title.data or "",
            "body": self.body.data or "",
            "tlp": self.tlp.data or None,
            "law_enforcement_only": bool(self.law_enforcement_only.data),
            "recipient_orgs": [name for name in (self.recipient_orgs.data or []) if name.strip()],
            "recipient_users": _split(self.recipient_users.data, _ADDRESS_SEPARATORS),
            "tags": _split(self.tags.data),
            "workplan_item_id": _id_or_text(self.workplan_item_id.data),
        }
        if raw["type"] == PostType.INCIDENT_NOTE.value or self.has_incident_input():
            raw["incident"] = {
                "port_locode": (self.incident_port_locode.data or "").strip() or None,
                "occurred_on": (self.incident_occurred_on.data or "").strip() or None,
                "modus_operandi": self.incident_modus_operandi.data or None,
                "substance": self.incident_substance.data or None,
                "quantity_kg": (self.incident_quantity_kg.data or "").strip() or None,
                "container_numbers": _split(self.incident_container_numbers.data),
                "vessel_imo": (self.incident_vessel_imo.data or "").strip() or None,
            }
        return raw

    def show_errors(self, exc: ValidationError) -> None:
        """As every parsed form does, except that ``incident`` itself goes on the incident section."""
        if "incident" in exc.fields:
            self.incident_errors.append(exc.fields["incident"])
        super().show_errors(ValidationError({k: v for k, v in exc.fields.items() if k != "incident"}))

    def error_summary(self) -> list[tuple[str | None, str]]:
        """(field id or None, message) for the summary at the top of the page, in form order."""
        summary: list[tuple[str | None, str]] = [(None, m) for m in self.form_errors_extra]
        for f in self:
            if f.name == "incident_port_locode":
                summary.extend(("section-incident", message) for message in self.incident_errors)
            if f.name not in self.UNSHOWN_FIELDS:
                summary.extend((f.id, message) for message in f.errors)
        return summary


class CommentForm(PaxForm):
    body = TextAreaField(_l("Your comment"))


class CommentEditForm(PaxForm):
    body = TextAreaField(_l("Your comment"))
    #: The comment's version the page was drawn from (``app.concurrency``).
    version = HiddenField()

    @classmethod
    def for_comment(cls, comment: Comment) -> CommentEditForm:
        return cls(formdata=None, data={"body": comment.body, "version": str(comment.version)})


class AttachmentForm(PaxForm):
    display_name = StringField(_l("File name"))
    description = TextAreaField(_l("Description"))
    #: The attachment's version the page was drawn from (``app.concurrency``).
    version = HiddenField()

    @classmethod
    def for_attachment(cls, attachment: Attachment, stored_name: str) -> AttachmentForm:
        data = {
            "display_name": attachment.display_name or stored_name,
            "description": attachment.description or "",
            "version": str(attachment.version),
        }
        return cls(formdata=None, data=data)


def organisation_names() -> list[str]:
    """Every member organisation's name, for the recipient list (the directory is not marked)."""
    return list(db.session.scalars(sa.select(Organisation.name).order_by(Organisation.name)))


def workplan_items(cluster: Cluster) -> list[WorkplanItem]:
    """The cluster's workplan items, newest year first, that a deliverable may be posted against."""
    return list(
        db.session.scalars(
            sa.select(WorkplanItem)
            .join(Workplan, Workplan.id == WorkplanItem.workplan_id)
            .where(WorkplanItem.cluster_id == cluster.id)
            .order_by(Workplan.year.desc(), WorkplanItem.title)
        )
    )


# --- feed and search filters ----------------------------------------------------------------------


@dataclass
class FeedArgs:
    """Filters read from a page's query string: the ``PostFilter`` to query with, the values to
    keep in links and the filter form, and a note for each value that was ignored."""

    filters: PostFilter
    values: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    page: int = 1
    q: str = ""


#: Deeper than this a page number is a typo or a probe; the last page of a capped list is far less.
def feed_args(args: MultiDict[str, str], clusters: list[Cluster] | None = None) -> FeedArgs:
    """Read ``type``, ``tlp``, ``tag`` (and, with ``clusters``, ``cluster`` and ``q``) from a query string.

    A value that names nothing is ignored and noted, never an error: a stale bookmark still opens.
    """
    result = FeedArgs(filters=PostFilter(), page=page_number(args))
    type_ = (args.get("type") or "").strip()
    if type_:
        if type_ in PostType.values():
            result.filters.type = PostType(type_)
            result.values["type"] = type_
        else:
            result.notes.append(
                _("There is no type of post called %(name)s; all types are shown.", name=repr(type_[:40]))
            )
    tlp = (args.get("tlp") or "").strip().upper().removeprefix("TLP:")
    if tlp:
        if tlp in Tlp.values():
            result.filters.tlp = Tlp(tlp)
            result.values["tlp"] = tlp
        else:
            result.notes.append(
                _("There is no TLP marking called %(name)s; all markings are shown.", name=repr(tlp[:40]))
            )
    tag = (args.get("tag") or "").strip().lower().lstrip("#")
    if tag:
        if TAG_RE.fullmatch(tag):
            result.filters.tag = tag
            result.values["tag"] = tag
        else:
            result.notes.append(_("%(name)s is not a tag; posts with any tag are shown.", name=repr(tag[:40])))
    if clusters is not None:
        slug = (args.get("cluster") or "").strip()
        if slug:
            match = next((c for c in clusters if c.slug == slug), None)
            if match is None:
                result.notes.append(
                    _("There is no cluster called %(name)s; all clusters are searched.", name=repr(slug[:40]))
                )
            else:
                result.filters.cluster_id = match.id
                result.values["cluster"] = slug
        result.q = (args.get("q") or "").strip()[:MAX_QUERY]
    return result


#: The roles a member page offers, as (value, label).
MEMBER_ROLES = [
    (MembershipRole.READER.value, _l("Reader")),
    (MembershipRole.CONTRIBUTOR.value, _l("Contributor")),
    (MembershipRole.COORDINATOR.value, _l("Coordinator")),
]


class MemberGrantForm(PaxForm):
    """Grant a membership of the cluster whose member page shows it, or change a role it listed.

    ``version`` is the version of that person's membership the page showed, ``0`` when it showed
    none (``app.auth.services.grant_membership``)."""

    email = StringField(_l("E-mail address of the person"), validators=[DataRequired(_l("Enter an e-mail address."))])
    role = SelectField(
        _l("Role in the cluster"),
        choices=[SelectChoice(value, label) for value, label in MEMBER_ROLES],
        validators=[DataRequired(_l("Choose a role."))],
        validate_choice=False,
    )
    version = HiddenField(default="0")
