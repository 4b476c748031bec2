"""``GET /audit``: the audit log for administrators' and auditors' own tools (README, "API").

Anyone else gets the uniform 403 before any filter is read, so the answer tells them nothing
about the log. Filters are those of the audit page (``app.audit_log.queries.parse_filters``).
"""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request

from app.api.audit_openapi import register
from app.api.auth import api_user, token_required
from app.api.blueprint import bp
from app.api.inputs import pagination, raise_if
from app.api.serializers import timestamp
from app.audit_log.queries import LogRow, log_page, parse_filters
from app.errors import ApiError
from app.policy import can
from app.validation import ValidationError


def event_json(row: LogRow) -> dict[str, Any]:
    event = row.event
    return {
        "seq": event.seq,
        "at": timestamp(event.at),
        "action": event.action,
        "outcome": event.outcome,
        "actor_id": event.actor_id,
        "actor_email": row.actor_email,
        "actor_org_id": event.actor_org_id,
        "actor_organisation": row.actor_organisation,
        "target_type": event.target_type,
        "target_id": event.target_id,
        "target_org_id": event.target_org_id,
        "target_organisation": row.target_organisation,
        "source": event.source,
        "details": event.details or {},
        "mac": event.mac,
    }


@bp.get("/audit")
@token_required("read")
def list_audit_events() -> Response:
    """Audit events matching the filters, newest first."""
    user = api_user()
    if not can(user, "view_audit"):
        raise ApiError(403, "Only administrators and auditors may read the audit log.")
    errors: dict[str, str] = {}
    page, per_page = pagination(errors)
    found = None
    try:
        found = parse_filters(request.args)
    except ValidationError as exc:
        errors.update(exc.fields)
    raise_if(errors)
    assert found is not None
    result = log_page(user, found, page, per_page)
    return jsonify(
        {
            "items": [event_json(row) for row in result.items],
            "page": result.page,
            "per_page": result.per_page,
            "total": result.total,
        }
    )


register()
