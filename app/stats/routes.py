"""The seizure statistics page and its CSV export (``/stats/seizures``).

Every active member may open them; what they count and what they withhold is decided by the
policy inside ``app.stats.queries``. Bad parameters (a free date range among them) answer the
page with the form's errors (422), the values sent kept in the form; a new filter combination
beyond the daily bound is a 429 (``app.stats.services.answer``).
"""

from __future__ import annotations

from typing import Any

from flask import Response, render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.clusters.forms import SUBSTANCE_LABELS
from app.stats import chart, services
from app.stats.blueprint import bp
from app.stats.validation import NO_FREE_RANGES, GroupBy, parse_seizure_query, shown
from app.validation import ValidationError

FORM_FIELDS = ("group_by", "period", "substance")


def _form_context(errors: dict[str, str] | None = None) -> dict[str, Any]:
    errors = dict(errors or {})
    if {"from", "to"} & set(errors):  # a free range: say why beside the field that replaced it
        errors.setdefault("period", str(NO_FREE_RANGES))
    return {
        "values": {name: shown(request.args.get(name) or "") for name in FORM_FIELDS},
        "errors": errors,
        "group_options": [(g.value, g.label) for g in GroupBy],
        "substance_options": [("", _("All substances"))]
        + [(s.value, str(label)) for s, label in SUBSTANCE_LABELS.items()],
    }


@bp.route("/seizures")
@login_required
def seizures() -> Any:
    try:
        query = parse_seizure_query(request.args)
    except ValidationError as exc:
        return render_template("stats/seizures.html", stats=None, **_form_context(exc.fields)), 422
    stats = services.answer(current_user, query)
    return render_template(
        "stats/seizures.html",
        stats=stats,
        chart=chart.build(stats.groups),
        header=services.table_header(stats),
        rows=services.table_rows(stats),
        kg_text=chart.kg_text,
        **_form_context(),
    )


@bp.route("/seizures.csv")
@login_required
def seizures_csv() -> Any:
    try:
        query = parse_seizure_query(request.args)
    except ValidationError as exc:
        return render_template("stats/seizures.html", stats=None, **_form_context(exc.fields)), 422
    body, _stats = services.export_csv(current_user, query)
    response = Response(("\ufeff" + body).encode("utf-8"), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="seizures-by-{query.group_by.value}.csv"'
    response.headers["Cache-Control"] = "no-store"
    return response
