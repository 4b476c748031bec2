"""The OpenAPI operation and schemas of the audit API (``app.api.audit``)."""

from __future__ import annotations

from typing import Any

from app.api.openapi import PAGE_PARAMS, _errors, _ok, _operation, register_paths
from app.api.openapi_schemas import ref
from app.audit.models import OUTCOMES


def _query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


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
        "get": _operation(
            "audit_list",
            "Audit events, newest first (administrators and auditors).",
            "read",
            {"200": _ok("A page of audit events.", "AuditEventList"), **_errors(401, 403, 422, 429)},
            parameters=[
                *PAGE_PARAMS,
                _query("action", "Actions starting with this, e.g. `auth.` or `post.view`.", {"type": "string"}),
                _query("actor", "Part of the actor's e-mail address.", {"type": "string", "maxLength": 320}),
                _query("organisation", "The actor's organisation (its id).", {"type": "integer", "minimum": 1}),
                _query("target_type", "post, meeting, attachment, user, token ...", {"type": "string"}),
                _query("target_id", "The target's id (with or without `target_type`).", {"type": "string"}),
                _query("outcome", "Only events with this outcome.", {"enum": list(OUTCOMES)}),
                _query("from", "From the start of this day.", _DAY),
                _query("to", "To the end of this day.", _DAY),
            ],
            description="Every other caller gets 403, whatever the filters. A bad filter value is 422 naming it.",
        )
    }
}


def register() -> None:
    register_paths({"name": "audit", "description": "The tamper-evident audit log."}, PATHS, SCHEMAS)
