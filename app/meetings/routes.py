"""Meeting pages: list, schedule, show, edit, delete, calendar files.

Every list comes from ``app.meetings.queries`` (the policy's SQL filter inside), every meeting is
loaded with ``meeting_or_404`` and every write goes through a service. Templates receive
``can_*`` flags; they never decide who may do what. The agenda and minutes pages are in
``agenda_routes``, the documents in ``document_routes``; importing them here registers them.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from app import localtime
from app.audit.services import record_view
from app.clusters.models import Cluster
from app.clusters.services import cluster_by_slug, resolve_recipients
from app.concurrency import StaleEdit, form_version
from app.directory.audience import audience_change, audience_panel
from app.extensions import db
from app.files.services import human_size
from app.files.sniff import ACCEPT_EXTENSIONS
from app.forms import after_refusal, audience_previewed, refused, stale
from app.markings import Marking, Tlp
from app.meetings import actions, agenda_routes, document_routes, invitations, participant_routes, services  # noqa: F401  (their views register on bp)
from app.meetings.blueprint import bp
from app.meetings.calendar import calendar_response
from app.meetings.forms import MeetingForm, schedulable
from app.meetings.models import Meeting, MeetingKind
from app.meetings.queries import MeetingFilter, calendar_meetings, document_rows, meeting_page
from app.meetings.validation import BRUSSELS, parse_meeting
from app.pagination import page_number
from app.policy import NotAllowed, authorize, can, meeting_or_404
from app.validation import ValidationError

__all__ = ["bp"]

PER_PAGE = 20
MEETING = "/<int:meeting_id>"

#: The meeting page's link to the participants for an invited member, by their answer.
INVITED_PROMPTS = {
    "pending": _l("You are invited: no answer yet. Answer and see the participants"),
    "in_person": _l("You are invited: attends in person. Answer and see the participants"),
    "online": _l("You are invited: attends online. Answer and see the participants"),
    "not_attending": _l("You are invited: does not attend. Answer and see the participants"),
}


@bp.context_processor
def vocabulary() -> dict[str, Any]:
    return {
        "tlp_options": [(t.value, t.label) for t in Tlp],
        "kind_options": [(k.value, k.label) for k in MeetingKind],
    }


@bp.app_template_filter("meeting_when")
def meeting_when(meeting: Meeting) -> str:
    """``Saturday 5 December 2026, 10:00 to 12:00 Brussels time (CET)``, in the reader's zone."""
    return localtime.format_span(meeting.starts_at, meeting.ends_at, localtime.zone_of(current_user))


@bp.app_template_filter("local_time")
def local_time(value: Any) -> str:
    """``10:30``: a time of day in the reader's zone (agenda items)."""
    return localtime.format_time(value, localtime.zone_of(current_user)) if value else ""


def _list_args() -> tuple[MeetingFilter, dict[str, str], list[str], list[Cluster]]:
    """Filters from the query string; a value that names nothing is ignored and noted."""
    clusters = list(db.session.scalars(sa.select(Cluster).order_by(Cluster.position)))
    args, values, notes = request.args, {}, []
    when = (args.get("when") or "upcoming").strip()
    filters = MeetingFilter(when=when if when in ("upcoming", "past") else "upcoming")
    values["when"] = filters.when or "upcoming"
    slug = (args.get("cluster") or "").strip()
    if slug:
        match = next((c for c in clusters if c.slug == slug), None)
        if match is None:
            notes.append(
                _("There is no cluster called %(name)s; meetings of every cluster are shown.", name=repr(slug[:40]))
            )
        else:
            filters.cluster_id = match.id
            values["cluster"] = slug
    kind = (args.get("kind") or "").strip()
    if kind:
        if kind in MeetingKind.values():
            filters.kind = MeetingKind(kind)
            values["kind"] = kind
        else:
            notes.append(_("There is no kind of meeting called %(name)s; every kind is shown.", name=repr(kind[:40])))
    return filters, values, notes, clusters


@bp.route("/")
@login_required
def index() -> str:
    filters, values, notes, clusters = _list_args()
    page = meeting_page(current_user, filters, page_number(request.args), PER_PAGE)
    return render_template(
        "meetings/index.html",
        page=page,
        values=values,
        notes=notes,
        clusters=clusters,
        can_schedule=can(current_user, "open_meeting_form"),
    )


@bp.route("/calendar.ics")
@login_required
def calendar() -> Any:
    """Every meeting the user may see from 90 days ago on, as one calendar file."""
    return calendar_response(calendar_meetings(current_user), _("PAX meetings"), "pax-meetings.ics")


@bp.route(MEETING + "/meeting.ics")
@login_required
def ics(meeting_id: int) -> Any:
    meeting = meeting_or_404(current_user, meeting_id)
    name = _("PAX meeting") if meeting.tlp is Tlp.RED else meeting.title
    return calendar_response([meeting], name, f"meeting-{meeting.id}.ics")


# --- scheduling and editing ------------------------------------------------------------------------


def _render_form(
    form: MeetingForm, meeting: Meeting | None = None, status: int = 200, audience_preview: str | None = None
) -> tuple[str, int]:
    return render_template("meetings/form.html", form=form, meeting=meeting, audience_preview=audience_preview), status


def _audience_preview(meeting: Meeting, form: MeetingForm) -> str:
    """The edit form's "how would the audience change" line for what the form holds now."""
    data = parse_meeting(form.to_raw(False), local_zone=BRUSSELS)
    orgs, users = resolve_recipients(data.recipient_orgs, data.recipient_users)
    cluster = cluster_by_slug(data.cluster) if data.cluster is not None else None
    marking = Marking.proposed(data.tlp, data.law_enforcement_only, orgs, users)
    return audience_change(meeting, marking, cluster.id if cluster else None).sentence("meeting")


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new() -> Any:
    authorize(current_user, "open_meeting_form")
    kinds, clusters = schedulable(current_user)
    form = MeetingForm(kinds, clusters)
    if not form.is_submitted():
        if len(kinds) == 1:
            form.kind.data = kinds[0].value
        wanted = request.args.get("cluster", "")
        if any(c.slug == wanted for c in clusters):
            form.cluster.data = wanted
        return _render_form(form)
    if not form.validate():
        return _render_form(form, status=422)
    try:
        meeting = services.schedule_meeting(current_user, parse_meeting(form.to_raw(True), local_zone=BRUSSELS))
    except (ValidationError, NotAllowed) as exc:
        return refused(form, exc, lambda status: _render_form(form, status=status))
    flash(_("The meeting “%(title)s” is scheduled.", title=meeting.title), "success")
    return redirect(url_for("meetings.show", meeting_id=meeting.id))


@bp.route(MEETING + "/edit", methods=["GET", "POST"])
@login_required
def edit(meeting_id: int) -> Any:
    meeting = meeting_or_404(current_user, meeting_id, "edit_meeting")
    kinds, clusters = schedulable(current_user)
    # The meeting's own kind and cluster stay on offer to those who may edit but not schedule there.
    if meeting.kind not in kinds:
        kinds = [meeting.kind, *kinds]
    if meeting.cluster is not None and meeting.cluster not in clusters:
        clusters = [meeting.cluster, *clusters]
    if request.method != "POST":
        return _render_form(MeetingForm.for_meeting(meeting, kinds, clusters), meeting)
    form = MeetingForm(kinds, clusters)
    if not form.validate():
        return _render_form(form, meeting, 422)
    previewed = audience_previewed(
        form, lambda: _audience_preview(meeting, form), lambda status, **kw: _render_form(form, meeting, status, **kw)
    )
    if previewed is not None:
        return previewed
    try:
        data = parse_meeting(form.to_raw(False), local_zone=BRUSSELS)
        services.update_meeting(current_user, meeting, data, form_version(form.version.data))
    except StaleEdit as exc:
        return stale(
            form,
            exc,
            lambda: meeting_or_404(current_user, meeting_id, "edit_meeting"),
            lambda current: MeetingForm.for_meeting(current, kinds, clusters),
            lambda current, status: _render_form(form, current, status),
        )
    except (ValidationError, NotAllowed) as exc:
        return refused(form, exc, lambda status: _render_form(form, meeting, status))
    flash(_("Your changes to the meeting are saved."), "success")
    return redirect(url_for("meetings.show", meeting_id=meeting.id))


@bp.route(MEETING + "/delete", methods=["GET", "POST"])
@login_required
def delete(meeting_id: int) -> Any:
    """GET asks for confirmation; POST deletes the meeting and crypto-shreds its documents."""
    meeting = meeting_or_404(current_user, meeting_id, "delete_meeting")
    if request.method == "GET":
        return render_template("meetings/delete.html", meeting=meeting, documents=len(meeting.documents))
    title = meeting.title
    services.delete_meeting(current_user, meeting, form_version(request.form.get("version")))
    flash(_("The meeting “%(title)s” is deleted and its documents destroyed.", title=title), "success")
    return redirect(url_for("meetings.index"))


# --- the meeting page --------------------------------------------------------------------------------


def render_meeting(meeting: Meeting, status: int = 200) -> tuple[str, int]:
    """The meeting page: facts, agenda with each item's visible documents, minutes, actions."""
    rows = document_rows(current_user, meeting)
    by_item: dict[int | None, list[Any]] = {}
    for row in rows:
        by_item.setdefault(row.document.agenda_item_id, []).append(row)
    can_prepare = can(current_user, "edit_meeting", meeting)
    prompt = None
    if invitations.delegation_of(meeting, current_user) is not None:
        prompt = _("Name your organisation's delegation")
    elif (own := invitations.participation_of(meeting, current_user)) is not None:
        prompt = str(INVITED_PROMPTS[own.response.value])
    return render_template(
        "meetings/show.html",
        meeting=meeting,
        documents_by_item=by_item,
        document_count=len(rows),
        can_prepare=can_prepare,
        can_upload=can(current_user, "add_meeting_document", meeting),
        can_delete=can(current_user, "delete_meeting", meeting),
        removable={r.document.id for r in rows if can(current_user, "remove_meeting_document", r.document)},
        has_pack="packs.download" in current_app.view_functions,
        accept_extensions=",".join(ACCEPT_EXTENSIONS),
        max_upload=human_size(current_app.config["MAX_UPLOAD_BYTES"]),
        audience=audience_panel(current_user, meeting),
        participation_prompt=prompt,
        action_points=actions.action_points(meeting),
        can_record_action=can(current_user, "record_action_point", meeting),
        clusters=list(db.session.scalars(sa.select(Cluster).order_by(Cluster.position)))
        if meeting.cluster is None
        else [],
    ), status


@bp.route(MEETING)
@login_required
def show(meeting_id: int) -> Any:
    meeting = meeting_or_404(current_user, meeting_id)
    record_view(current_user, "meeting", meeting, via="page")
    return render_meeting(meeting)


@bp.route(MEETING + "/action-points", methods=["POST"])
@login_required
def action_point(meeting_id: int) -> Any:
    """Record an action point of the minutes as a workplan item linked to the meeting (curators)."""
    meeting = meeting_or_404(current_user, meeting_id, "record_action_point")
    raw = {name: (request.form.get(name) or "").strip() for name in ("title", "due_date", "cluster")}
    try:
        item = actions.record_action_point(current_user, meeting, raw)
    except ValidationError as exc:
        flash(
            _("The action point is not recorded: %(problems)s", problems=" ".join(str(v) for v in exc.fields.values())),
            "error",
        )
        return after_refusal(lambda: render_meeting(meeting_or_404(current_user, meeting_id), 422))
    flash(
        _("“%(title)s” is now an item of the %(year)s workplan.", title=item.title, year=item.workplan.year),
        "success",
    )
    return redirect(url_for("meetings.show", meeting_id=meeting.id, _anchor="action-points"))
