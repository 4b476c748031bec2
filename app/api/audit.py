"""``GET /audit``: the audit log for administrators' and auditors' own tools (README, "API").

Anyone else gets the uniform 403 before any filter is read, so the answer tells them nothing
about the log. Filters are those of the audit page (``app.audit_log.queries.parse_filters``).
"""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request
from flask_babel import gettext as _

from app.api.auth import api_user, token_required
from app.api.blueprint import bp
from app.api.inputs import pagination, raise_if
from app.api.serializers import timestamp
from app.api.spec import PAGE_PARAMS, error_answers, ok, operation, query_param, ref
from app.audit.models import OUTCOMES
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
        raise ApiError(403, _("Only administrators and auditors may read the audit log."))
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


# --- OpenAPI -------------------------------------------------------------------------------------

TAG = {"name": "audit", "description": "The tamper-evident audit log."}

_DAY = {"type": "string", "format": "date", "description": "YYYY-MM-DD, a UTC day."}
_nullable_int = {"type": ["integer", "null"]}
_nullable_text = {"type": ["string", "null"]}

_EVENT: dict[str, Any] = {
    "seq": {"type": "integer", "minimum": 1, "description": "Gapless position in the chain, from 1."},
    "at": {"type": "string", "format": "date-time", "description": "ISO 8601 with UTC offset."},
    "action": {"type": "string", "description": "`area.verb`, e.g. `auth.login`, `post.view`, `keys.rotate`."},
    "outcome": {"enum": list(OUTCOMES)},
    "actor_id": {**_nullable_int, "description": "Null for the command line or an unknown account."},
    "actor_email": {**_nullable_text, "description": "Null when the account is gone or was never known."},
    "actor_org_id": {**_nullable_int, "description": "The actor's organisation at the time."},
    "actor_organisation": _nullable_text,
    "target_type": _nullable_text,
    "target_id": _nullable_text,
    "target_org_id": {**_nullable_int, "description": "The organisation whose item the target is."},
    "target_organisation": _nullable_text,
    "source": {**_nullable_text, "description": "The client's address, or `cli`."},
    "details": {
        "type": "object",
        "description": "Small facts about the event (ids, counts, reasons); never content or secrets.",
    },
    "mac": {"type": "string", "pattern": "^[0-9a-f]{64}$", "description": "HMAC-SHA256 chaining it to the previous."},
}

SCHEMAS: dict[str, Any] = {
    "AuditEvent": {"type": "object", "required": list(_EVENT), "additionalProperties": False, "properties": _EVENT},
    "AuditEventList": {
        "type": "object",
        "required": ["items", "page", "per_page", "total"],
        "additionalProperties": False,
        "properties": {
            "items": {"type": "array", "items": ref("AuditEvent")},
            "page": {"type": "integer", "minimum": 1},
            "per_page": {"type": "integer", "minimum": 1, "maximum": 100},
            "total": {"type": "integer", "minimum": 0},
        },
    },
}

PATHS: dict[str, Any] = {
    "/audit": {
        "get": operation(
            "audit_list",
            "Audit events, newest first (administrators and auditors).",
            "read",
            {"200": ok("A page of audit events.", "AuditEventList"), **error_answers(401, 403, 422, 429)},
            parameters=[
                *PAGE_PARAMS,
                query_param("action", "Actions starting with this, e.g. `auth.` or `post.view`.", {"type": "string"}),
                query_param("actor", "Part of the actor's e-mail address.", {"type": "string", "maxLength": 320}),
                query_param("organisation", "The actor's organisation (its id).", {"type": "integer", "minimum": 1}),
                query_param("target_type", "post, meeting, attachment, user, token ...", {"type": "string"}),
                query_param("target_id", "The target's id (with or without `target_type`).", {"type": "string"}),
                query_param("outcome", "Only events with this outcome.", {"enum": list(OUTCOMES)}),
                query_param("from", "From the start of this day.", _DAY),
                query_param("to", "To the end of this day.", _DAY),
            ],
            description="Every other caller gets 403, whatever the filters. A bad filter value is 422 naming it.",
        )
    }
}
