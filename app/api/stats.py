"""Seizure statistics over the API: ``GET /stats/seizures`` (read scope).

The same figures as the page, from ``app.stats.services.answer``: withheld groups (primary and
secondary suppression) appear only as a count, and no total includes them. Fixed reporting
periods only: ``period`` is a quarter or a year, and ``from``/``to`` are refused (422 in plain
words). Bad parameters are 422 with a message per field; a new filter combination beyond the
daily bound is 429.
"""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request
from flask_babel import lazy_gettext as _l

from app.api.auth import api_user, token_required
from app.api.blueprint import bp
from app.api.spec import error_answers, ok, operation, query_param, ref
from app.clusters.models import Substance
from app.errors import ApiError
from app.stats.queries import SeizureStatistics
from app.stats.services import answer
from app.stats.validation import NO_FREE_RANGES, GroupBy, parse_seizure_query
from app.validation import ValidationError

INVALID_QUERY = _l("The statistics parameters are not valid; see fields.")


def statistics_json(stats: SeizureStatistics) -> dict[str, Any]:
    query = stats.query
    return {
        "group_by": query.group_by.value,
        "period": query.period.key if query.period else None,
        "from": query.period.first_day.isoformat() if query.period else None,
        "to": query.period.last_day.isoformat() if query.period else None,
        "substance": query.substance.value if query.substance else None,
        "items": [
            {
                "group": g.key,
                "label": g.label,
                "notes": g.notes,
                "quantity_kg": float(g.quantity_kg),
                "organisations": g.organisations,
            }
            for g in stats.groups
        ],
        "withheld_groups": stats.withheld,
        "min_organisations": stats.min_organisations if stats.min_organisations > 1 else None,
    }


@bp.get("/stats/seizures")
@token_required("read")
def stats_seizures() -> Response:
    try:
        query = parse_seizure_query(request.args)
    except ValidationError as exc:
        message = NO_FREE_RANGES if {"from", "to"} & set(exc.fields) else INVALID_QUERY
        raise ApiError(422, message, exc.fields) from None
    return jsonify(statistics_json(answer(api_user(), query, via="api")))


# --- OpenAPI -------------------------------------------------------------------------------------

TAG = {"name": "stats", "description": "Seizure statistics aggregated from incident notes."}

_period = {"type": "string", "pattern": "^[0-9]{4}(-Q[1-4])?$", "examples": ["2025-Q3", "2025"]}
_refused = {"type": "string", "description": "Refused (422): free date ranges are not offered."}

PATHS: dict[str, Any] = {
    "/stats/seizures": {
        "get": operation(
            "stats_seizures",
            "Incident notes per port, substance, quarter or modus operandi: notes, kilograms, organisations.",
            "read",
            {
                "200": ok("The groups the caller may see.", "SeizureStatistics"),
                **error_answers(401, 422, 429),
            },
            parameters=[
                query_param(
                    "group_by", "What to group by (default port).", {"enum": GroupBy.values(), "default": "port"}
                ),
                query_param(
                    "period",
                    "The reporting period: a calendar quarter (`2025-Q3`) or year (`2025`); every period when absent.",
                    _period,
                ),
                query_param("from", "Not offered: any value is refused with 422 (use `period`).", _refused),
                query_param("to", "Not offered: any value is refused with 422 (use `period`).", _refused),
                query_param("substance", "Only incidents with this substance.", {"enum": Substance.values()}),
            ],
            description="Counts the incident notes the caller may see plus every other one that is not "
            "TLP:RED and not law-enforcement-only (law-enforcement callers: law-enforcement-only ones too). "
            "A group reported by fewer distinct organisations than `PAX_STATS_MIN_ORGANISATIONS` (3) is "
            "withheld from callers outside law enforcement, and so is any group that would let it be worked "
            "out by subtraction from a total, another group or another period (secondary suppression): "
            "it is not in `items` and only counted in `withheld_groups`. Fixed reporting periods only "
            "(`period`); free date ranges (`from`, `to`) are refused with 422. Each account may ask for "
            "`PAX_STATS_DAILY_COMBINATIONS` (50) distinct filter combinations a day (UTC); a new one beyond "
            "that is 429. Not paged: one item per group. Quarters are `YYYY-Qn` of the day the incident "
            "occurred, in time order; other groups come largest quantity first.",
        )
    }
}

SCHEMAS: dict[str, Any] = {
    "SeizureStatistics": {
        "type": "object",
        "required": ["group_by", "period", "from", "to", "substance", "items", "withheld_groups", "min_organisations"],
        "additionalProperties": False,
        "properties": {
            "group_by": {"enum": GroupBy.values()},
            "period": {
                "type": ["string", "null"],
                "pattern": "^[0-9]{4}(-Q[1-4])?$",
                "description": "The reporting period; null for every period on record.",
            },
            "from": {"type": ["string", "null"], "format": "date", "description": "The period's first day."},
            "to": {"type": ["string", "null"], "format": "date", "description": "The period's last day."},
            "substance": {"enum": [*Substance.values(), None]},
            "items": {"type": "array", "items": ref("SeizureGroup")},
            "withheld_groups": {
                "type": "integer",
                "minimum": 0,
                "description": "Groups left out because too few organisations reported them, or because "
                "they would let such a group be worked out by subtraction.",
            },
            "min_organisations": {
                "type": ["integer", "null"],
                "minimum": 2,
                "description": "Reporting organisations a group needs to be shown to the caller; null when "
                "nothing is withheld from them.",
            },
        },
    },
    "SeizureGroup": {
        "type": "object",
        "required": ["group", "label", "notes", "quantity_kg", "organisations"],
        "additionalProperties": False,
        "properties": {
            "group": {
                "type": "string",
                "description": "UN/LOCODE, substance, `YYYY-Qn` or modus operandi value.",
                "examples": ["BEANR", "cocaine", "2025-Q3", "rip_on_rip_off"],
            },
            "label": {"type": "string", "description": "The group as the page names it."},
            "notes": {"type": "integer", "minimum": 1},
            "quantity_kg": {"type": "number", "minimum": 0, "description": "Notes without a quantity add 0."},
            "organisations": {"type": "integer", "minimum": 1, "description": "Distinct reporting organisations."},
        },
    },
}
