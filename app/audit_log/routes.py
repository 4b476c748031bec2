"""Audit pages: the log for administrators and auditors (filtered, paged, exported as CSV), and
each organisation's "who accessed your organisation's items".

The policy decides who reads which events (``view_audit``, ``visible_audit_events``); bad filter
values answer the page again with a message on each field (422), never a server error.
"""

from __future__ import annotations

from typing import Any

from flask import Response, render_template, request, stream_with_context
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from app.audit.services import record
from app.audit_log import queries
from app.audit_log.blueprint import bp
from app.audit_log.exports import csv_lines
from app.pagination import page_number
from app.policy import authorize
from app.validation import ValidationError

#: How the organisation's access page words each access action.
ACCESS_LABELS = {
    "post.view": _l("Viewed"),
    "meeting.view": _l("Viewed"),
    "attachment.download": _l("Downloaded an attachment"),
    "meeting.document_download": _l("Downloaded a document"),
    "meeting.pack_download": _l("Downloaded the meeting pack"),
}
#: How an item is named when the viewer may not see it (then only its type and number show).
TARGET_NAMES = {
    "post": _l("Post %(id)s"),
    "attachment": _l("Attachment %(id)s"),
    "meeting": _l("Meeting %(id)s"),
    "meeting_document": _l("Document %(id)s"),
}


def _values() -> dict[str, str]:
    return {name: request.args.get(name, "") for name in queries.FILTER_NAMES if request.args.get(name)}


def _render_log(page: Any, values: dict[str, str], errors: dict[str, str], status: int = 200) -> tuple[str, int]:
    return render_template(
        "audit/index.html",
        page=page,
        values=values,
        errors=errors,
        organisations=queries.organisation_choices(),
        outcomes=queries.OUTCOMES,
    ), status


@bp.route("/audit/")
@login_required
def index() -> Any:
    authorize(current_user, "view_audit")
    values = _values()
    try:
        found = queries.parse_filters(request.args)
    except ValidationError as exc:
        return _render_log(None, values, exc.fields, 422)
    page = queries.log_page(current_user, found, page_number(request.args))
    return _render_log(page, values, {})


@bp.route("/audit/export.csv")
@login_required
def export_csv() -> Any:
    """The filtered log as CSV, newest first; the export is itself an audit event."""
    authorize(current_user, "view_audit")
    try:
        found = queries.parse_filters(request.args)
    except ValidationError as exc:
        return _render_log(None, _values(), exc.fields, 422)
    viewer = current_user._get_current_object()
    record("audit.export", actor=viewer, filters=found.used(), rows=queries.log_count(viewer, found))
    body = stream_with_context(line.encode("utf-8") for line in csv_lines(queries.log_rows(viewer, found)))
    response = Response(body, mimetype="text/csv")
    response.headers["Content-Disposition"] = 'attachment; filename="pax-audit.csv"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/organisation/access")
@login_required
def organisation_access() -> str:
    """Who viewed or downloaded items of the user's organisation: when, who, what."""
    page = queries.organisation_access_page(current_user, page_number(request.args))
    labels = {action: str(label) for action, label in ACCESS_LABELS.items()}
    return render_template("audit/organisation_access.html", page=page, labels=labels, target_names=TARGET_NAMES)
