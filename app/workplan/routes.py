"""Workplan pages: by cluster, timeline, item with history, curation forms, exports.

Every active member reads the workplan (it carries no marking); deliverables are filtered by
``app.policy.visible_posts`` in ``app.workplan.queries``. Items load through
``policy.workplan_item_or_404``, writes go through ``app.workplan.services``, and templates
get ``can_*`` flags instead of deciding anything.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from babel.dates import format_skeleton
from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import format_date, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from app.audit.services import record
from app.clusters.models import Cluster
from app.clusters.names import cluster_label
from app.concurrency import StaleEdit, form_version
from app.extensions import db
from app.forms import refused, stale
from app.i18n import DEFAULT_LANGUAGE, current_language
from app.policy import authorize, can, workplan_item_or_404
from app.validation import ValidationError
from app.workplan import exports, queries, services, timeline
from app.workplan.blueprint import bp
from app.workplan.forms import AdoptForm, ItemForm, StatusForm
from app.workplan.models import ItemStatus, Workplan, WorkplanItem
from app.workplan.validation import MAX_YEAR, MIN_YEAR, parse_date, parse_item

YEAR = "/<int:year>"
ITEM = "/items/<int:item_id>"
#: The ECL label variant of each status; the label always carries the status in words too.
STATUS_VARIANTS = {
    ItemStatus.PLANNED: "low",
    ItemStatus.IN_PROGRESS: "medium",
    ItemStatus.DELIVERED: "highlight",
    ItemStatus.DELAYED: "high",
    ItemStatus.CANCELLED: "low",
}


#: A changed field as a sentence names it ("Saved: status, progress changed.").
FIELD_NAMES = {
    "year": _l("year"),
    "cluster": _l("cluster"),
    "title": _l("title"),
    "description": _l("description"),
    "lead_organisations": _l("lead organisations"),
    "due_date": _l("due date"),
    "status": _l("status"),
    "progress": _l("progress"),
}
#: A record of the item's history as its "What" column names it.
CHANGE_LABELS = {
    "created": _l("Created"),
    "year": _l("Year"),
    "cluster": _l("Cluster"),
    "title": _l("Title"),
    "description": _l("Description"),
    "lead_organisations": _l("Lead organisations"),
    "due_date": _l("Due date"),
    "status": _l("Status"),
    "progress": _l("Progress"),
}


@bp.context_processor
def vocabulary() -> dict[str, Any]:
    return {
        "status_variants": STATUS_VARIANTS,
        "meeting_url": meeting_url,
        "change_label": change_label,
        "history_value": history_value,
        "long_date": long_date,
        "month_year": month_year,
    }


def long_date(value: date) -> str:
    """A due or adoption date: "05 March 2026" in English, the reader's language's long form otherwise."""
    if current_language() == DEFAULT_LANGUAGE:
        return format_date(value, "dd MMMM y")
    return format_date(value, "long")


def month_year(value: date) -> str:
    """ "March 2026", as the reader's language writes a month and its year."""
    return format_skeleton("yMMMM", value, locale=get_locale())


def change_label(field: str) -> str:
    label = CHANGE_LABELS.get(field)
    return str(label) if label is not None else field.replace("_", " ").capitalize()


def history_value(field: str, value: str | None) -> str | None:
    """A value of the item's history as the reader reads it: the history records a status and a
    cluster in English, shown here in the reader's language."""
    if not value:
        return value
    if field == "status":
        status = ItemStatus.from_english_label(value)
        return status.label if status is not None else value
    if field == "cluster":
        cluster = db.session.scalar(sa.select(Cluster).where(Cluster.name == value).limit(1))
        return cluster_label(cluster) if cluster is not None else value
    return value


def meeting_url(meeting_id: int) -> str | None:
    """The meeting's page, if the meetings pages exist in this build."""
    for endpoint in ("meetings.show", "meetings.meeting"):
        if endpoint in current_app.view_functions:
            return url_for(endpoint, meeting_id=meeting_id)
    return None


def _workplan_or_404(year: int) -> Workplan:
    workplan = queries.workplan_for_year(year) if MIN_YEAR <= year <= MAX_YEAR else None
    if workplan is None:
        abort(404)
    return workplan


def _year_context(workplan: Workplan) -> dict[str, Any]:
    items = queries.items_of(workplan)
    return {
        "workplan": workplan,
        "items": items,
        "sections": queries.by_cluster(items),
        "counts": queries.deliverable_counts(current_user, workplan),
        "today": queries.today(),
        "years": queries.years(),
        "adopted_at": queries.visible_meeting(current_user, workplan.adopted_at_meeting_id),
        "can_manage": can(current_user, "manage_workplan"),
    }


@bp.route("/")
@login_required
def index() -> Any:
    workplan = queries.current_workplan()
    if workplan is None:
        return render_template("workplan/empty.html", can_manage=can(current_user, "manage_workplan"))
    return render_template("workplan/year.html", **_year_context(workplan))


@bp.route(YEAR)
@login_required
def year(year: int) -> str:
    return render_template("workplan/year.html", **_year_context(_workplan_or_404(year)))


@bp.route(YEAR + "/timeline")
@login_required
def timeline_view(year: int) -> str:
    context = _year_context(_workplan_or_404(year))
    chart = timeline.build(year, context["sections"], context["today"])
    return render_template("workplan/timeline.html", chart=chart, **context)


@bp.route(YEAR + "/print")
@login_required
def print_view(year: int) -> str:
    return render_template("workplan/print.html", **_year_context(_workplan_or_404(year)))


def _table(year: int) -> tuple[Workplan, list[list[Any]]]:
    workplan = _workplan_or_404(year)
    counts = queries.deliverable_counts(current_user, workplan)
    return workplan, exports.rows(workplan, queries.items_of(workplan), counts, queries.today())


def _audit_export(workplan: Workplan, fmt: str, rows: int) -> None:
    """Every export of a workplan is a ``workplan.export`` audit event (committed with the request)."""
    target = ("workplan", workplan.id)
    record("workplan.export", actor=current_user, target=target, year=workplan.year, format=fmt, rows=rows)


def _download(body: bytes, mimetype: str, filename: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route(YEAR + "/export.csv")
@login_required
def export_csv(year: int) -> Response:
    workplan, table = _table(year)
    _audit_export(workplan, "csv", len(table))
    # The byte order mark makes spreadsheet programs read the file as UTF-8.
    body = ("\ufeff" + exports.to_csv(table)).encode("utf-8")
    return _download(body, "text/csv", f"workplan-{workplan.year}.csv")


@bp.route(YEAR + "/export.xlsx")
@login_required
def export_xlsx(year: int) -> Response:
    workplan, table = _table(year)
    _audit_export(workplan, "xlsx", len(table))
    mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return _download(exports.to_xlsx(table, workplan.year), mimetype, f"workplan-{workplan.year}.xlsx")


# --- adoption --------------------------------------------------------------------------------------


@bp.route(YEAR + "/adopt", methods=["GET", "POST"])
@login_required
def adopt(year: int) -> Any:
    authorize(current_user, "manage_workplan")
    workplan = _workplan_or_404(year)
    form = AdoptForm(queries.adoption_meetings(current_user))
    if request.method == "GET":
        form.meeting_id.data = str(workplan.adopted_at_meeting_id or "")
        form.adopted_on.data = workplan.adopted_on.isoformat() if workplan.adopted_on else ""
        return render_template("workplan/adopt.html", workplan=workplan, form=form)
    if not form.validate():
        return render_template("workplan/adopt.html", workplan=workplan, form=form), 422
    if form.action.data == "draft":
        services.reopen_draft(current_user, workplan)
        flash(_("The %(year)s workplan is a draft again.", year=year), "success")
        return redirect(url_for("workplan.year", year=year))
    try:
        adopted_on = parse_date(form.adopted_on.data, "adopted_on", required=True)
        chosen = (form.meeting_id.data or "").strip()
        if chosen and chosen not in form.meetings:
            raise ValidationError({"meeting_id": _("Choose a meeting from the list.")})
        assert adopted_on is not None
        services.adopt_workplan(current_user, workplan, form.meetings.get(chosen), adopted_on)
    except ValidationError as exc:
        return refused(
            form, exc, lambda status: (render_template("workplan/adopt.html", workplan=workplan, form=form), status)
        )
    flash(_("The %(year)s workplan is recorded as adopted.", year=year), "success")
    return redirect(url_for("workplan.year", year=year))


# --- items -----------------------------------------------------------------------------------------


@bp.route(ITEM)
@login_required
def item(item_id: int) -> str:
    found = workplan_item_or_404(current_user, item_id)
    return _render_item(found)


def _render_item(item: WorkplanItem, status_form: StatusForm | None = None, status: int = 200) -> Any:
    can_manage = can(current_user, "manage_workplan")
    can_update = can(current_user, "update_workplan_item", item)
    if status_form is None and can_update and not can_manage:
        status_form = StatusForm.for_item(item)
    adopted_at = queries.visible_meeting(current_user, item.workplan.adopted_at_meeting_id)
    return render_template(
        "workplan/item.html",
        item=item,
        today=queries.today(),
        deliverables=queries.deliverables(current_user, item),
        status_form=status_form,
        can_manage=can_manage,
        can_update=can_update,
        adopted_at=adopted_at,
        # An action point's meeting, named only to those who may see it.
        from_meeting=queries.visible_meeting(current_user, item.meeting_id),
    ), status


def _render_form(form: StatusForm, item: WorkplanItem | None, status: int = 200) -> tuple[str, int]:
    return render_template("workplan/item_form.html", form=form, item=item, full=isinstance(form, ItemForm)), status


@bp.route("/items/new", methods=["GET", "POST"])
@login_required
def new_item() -> Any:
    authorize(current_user, "manage_workplan")
    form = ItemForm()
    if not form.is_submitted():
        wanted = (request.args.get("year") or "").strip()
        valid = wanted.isascii() and wanted.isdigit() and len(wanted) == 4
        form.year.data = wanted if valid else str(queries.today().year)
        form.status.data = ItemStatus.PLANNED.value
        form.progress.data = "0"
        return _render_form(form, None)
    if not form.validate():
        return _render_form(form, None, 422)
    try:
        created = services.create_item(current_user, parse_item(form.to_raw(), creating=True))
    except ValidationError as exc:
        return refused(form, exc, lambda status: _render_form(form, None, status))
    flash(
        _("“%(title)s” is added to the %(year)s workplan.", title=created.title, year=created.workplan.year), "success"
    )
    return redirect(url_for("workplan.item", item_id=created.id))


@bp.route(ITEM + "/edit", methods=["GET", "POST"])
@login_required
def edit_item(item_id: int) -> Any:
    """Curators edit everything; the item's cluster coordinators its status and progress."""
    found = workplan_item_or_404(current_user, item_id, "update_workplan_item")
    full = can(current_user, "manage_workplan")
    if request.method != "POST":
        return _render_form(ItemForm.for_item(found) if full else StatusForm.for_item(found), found)
    form: StatusForm = ItemForm() if full else StatusForm()
    if not form.validate():
        return _render_form(form, found, 422)
    try:
        data = parse_item(form.to_raw(), creating=False)
        changes = services.update_item(current_user, found, data, form_version(form.version.data))
    except StaleEdit as exc:
        return stale(
            form,
            exc,
            lambda: workplan_item_or_404(current_user, item_id, "update_workplan_item"),
            ItemForm.for_item if full else StatusForm.for_item,
            lambda current, status: _render_form(form, current, status),
        )
    except ValidationError as exc:
        return refused(form, exc, lambda status: _render_form(form, found, status))
    if changes:
        names = ", ".join(str(FIELD_NAMES.get(c.field, c.field.replace("_", " "))) for c in changes)
        flash(_("Saved: %(fields)s changed.", fields=names), "success")
    else:
        flash(_("Nothing changed."), "success")
    return redirect(url_for("workplan.item", item_id=found.id, _anchor="history"))
