"""Seizure statistics over the API: ``GET /stats/seizures`` (read scope).

The same figures as the page, from ``app.stats.queries``: withheld groups appear only as a
count, and no total includes them. Bad parameters are 422 with a message per field.
"""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request

from app.api import stats_openapi  # noqa: F401  (documents these routes)
from app.api.auth import api_user, token_required
from app.api.blueprint import bp
from app.errors import ApiError
from app.stats.queries import SeizureStatistics, seizure_statistics
from app.stats.validation import parse_seizure_query
from app.validation import ValidationError

INVALID_QUERY = "The statistics parameters are not valid; see fields."


def statistics_json(stats: SeizureStatistics) -> dict[str, Any]:
    query = stats.query
    return {
        "group_by": query.group_by.value,
        "from": query.start.isoformat() if query.start else None,
        "to": query.end.isoformat() if query.end else None,
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
        raise ApiError(422, INVALID_QUERY, exc.fields) from None
    return jsonify(statistics_json(seizure_statistics(api_user(), query)))
