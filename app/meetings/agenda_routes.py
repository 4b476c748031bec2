"""The agenda and minutes pages of a meeting: add, edit, reorder and remove items; write minutes.

Everything here needs ``edit_meeting`` on a meeting the user can see (404 otherwise, 403 when
seen but not theirs to prepare).
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app import localtime
from app.concurrency import StaleEdit, form_neighbour, form_version
from app.forms import refused, stale
from app.meetings import services
from app.meetings.blueprint import bp
from app.meetings.forms import AgendaItemForm, MinutesForm
from app.meetings.models import AgendaItem, Meeting
from app.meetings.queries import agenda_item_of
from app.meetings.validation import parse_agenda_item, parse_minutes
from app.policy import meeting_or_404
from app.validation import ValidationError

MEETING = "/<int:meeting_id>"
ITEM = MEETING + "/agenda/<int:agenda_item_id>"


def _item_or_404(meeting_id: int, agenda_item_id: int) -> tuple[Meeting, AgendaItem]:
    meeting = meeting_or_404(current_user, meeting_id, "edit_meeting")
    item = agenda_item_of(meeting, agenda_item_id)
    if item is None:
        abort(404)
    return meeting, item


def _zone() -> Any:
    return localtime.zone_of(current_user)


def _agenda_item_form(item: AgendaItem) -> AgendaItemForm:
    return AgendaItemForm.for_item(item, _zone())


def _show_errors(form: AgendaItemForm, exc: ValidationError) -> None:
    for name, message in exc.fields.items():
        field = getattr(form, {"starts_at": "start_time"}.get(name, name), None) or form.title
        field.errors = [*field.errors, message]


def _render_agenda(meeting: Meeting, form: AgendaItemForm, status: int = 200) -> tuple[str, int]:
    return render_template("meetings/agenda.html", meeting=meeting, form=form), status


@bp.route(MEETING + "/agenda", methods=["GET", "POST"])
@login_required
def agenda(meeting_id: int) -> Any:
    """The agenda in order with its controls; POST appends an item."""
    meeting = meeting_or_404(current_user, meeting_id, "edit_meeting")
    form = AgendaItemForm() if request.method == "POST" else AgendaItemForm(formdata=None)
    if request.method != "POST":
        return _render_agenda(meeting, form)
    if not form.validate():
        return _render_agenda(meeting, form, 422)
    try:
        item = services.add_agenda_item(
            current_user, meeting, parse_agenda_item(form.to_raw(meeting, _zone()), _zone())
        )
    except ValidationError as exc:
        return refused(
            form,
            exc,
            lambda status: _render_agenda(meeting_or_404(current_user, meeting_id), form, status),
            show=lambda exc: _show_errors(form, exc),
        )
    flash(_("“%(title)s” is item %(num)s of the agenda.", title=item.title, num=item.position), "success")
    return redirect(url_for("meetings.agenda", meeting_id=meeting.id, _anchor=f"item-{item.id}"))


@bp.route(ITEM + "/edit", methods=["GET", "POST"])
@login_required
def edit_agenda_item(meeting_id: int, agenda_item_id: int) -> Any:
    meeting, item = _item_or_404(meeting_id, agenda_item_id)
    if request.method != "POST":
        return render_template("meetings/agenda_item.html", meeting=meeting, item=item, form=_agenda_item_form(item))
    form = AgendaItemForm()

    def render(found: tuple[Meeting, AgendaItem], status: int) -> tuple[str, int]:
        return render_template("meetings/agenda_item.html", meeting=found[0], item=found[1], form=form), status

    if not form.validate():
        return render((meeting, item), 422)
    try:
        entry = parse_agenda_item(form.to_raw(meeting, _zone()), _zone())
        services.edit_agenda_item(current_user, item, entry, form_version(form.version.data))
    except StaleEdit as exc:
        return stale(
            form,
            exc,
            lambda: _item_or_404(meeting_id, agenda_item_id),
            lambda found: _agenda_item_form(found[1]),
            render,
        )
    except ValidationError as exc:
        return refused(
            form, exc, lambda status: render((meeting, item), status), show=lambda exc: _show_errors(form, exc)
        )
    flash(_("The agenda item is saved."), "success")
    return redirect(url_for("meetings.agenda", meeting_id=meeting.id, _anchor=f"item-{item.id}"))


@bp.route(ITEM + "/move", methods=["POST"])
@login_required
def move_agenda_item(meeting_id: int, agenda_item_id: int) -> Any:
    meeting, item = _item_or_404(meeting_id, agenda_item_id)
    direction = request.form.get("direction", "")
    if direction not in ("up", "down"):
        flash(_("Choose whether to move the item up or down."), "error")
        return redirect(url_for("meetings.agenda", meeting_id=meeting.id)), 303
    services.move_agenda_item(
        current_user,
        item,
        direction,
        form_version(request.form.get("version")),
        form_neighbour(request.form.get("neighbour")),
    )
    return redirect(url_for("meetings.agenda", meeting_id=meeting.id, _anchor=f"item-{item.id}"))


@bp.route(ITEM + "/delete", methods=["GET", "POST"])
@login_required
def remove_agenda_item(meeting_id: int, agenda_item_id: int) -> Any:
    """GET asks for confirmation; POST removes the item (its documents stay, with the meeting)."""
    meeting, item = _item_or_404(meeting_id, agenda_item_id)
    if request.method == "GET":
        return render_template("meetings/agenda_item_delete.html", meeting=meeting, item=item)
    title = item.title
    services.remove_agenda_item(current_user, item, form_version(request.form.get("version")))
    flash(_("“%(title)s” is removed from the agenda.", title=title), "success")
    return redirect(url_for("meetings.agenda", meeting_id=meeting.id))


@bp.route(MEETING + "/minutes", methods=["GET", "POST"])
@login_required
def minutes(meeting_id: int) -> Any:
    meeting = meeting_or_404(current_user, meeting_id, "edit_meeting")
    if request.method != "POST":
        return render_template("meetings/minutes.html", meeting=meeting, form=_minutes_form(meeting))
    form = MinutesForm()

    def render(shown: Meeting, status: int) -> tuple[str, int]:
        return render_template("meetings/minutes.html", meeting=shown, form=form), status

    if not form.validate():
        return render(meeting, 422)
    try:
        text = parse_minutes(form.minutes.data or "")
        services.save_minutes(current_user, meeting, text, form_version(form.version.data))
    except StaleEdit as exc:
        return stale(form, exc, lambda: meeting_or_404(current_user, meeting_id, "edit_meeting"), _minutes_form, render)
    except ValidationError as exc:
        return refused(
            form,
            exc,
            lambda status: render(meeting, status),
            show=lambda exc: form.minutes.errors.extend(exc.fields.values()),
        )
    flash(_("The minutes are saved."), "success")
    return redirect(url_for("meetings.show", meeting_id=meeting.id, _anchor="minutes"))


def _minutes_form(meeting: Meeting) -> MinutesForm:
    return MinutesForm(formdata=None, data={"minutes": meeting.minutes, "version": str(meeting.version)})
