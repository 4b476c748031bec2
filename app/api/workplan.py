"""The workplan over the API: read the current workplan, create and update items.

Every active caller reads the workplan; deliverables are listed as the ids of the posts the
caller may see (``policy.visible_posts``). Curators create items and change anything; a
cluster's coordinators change the status and progress of its items (403 for anything else).
The order of checks is the policy's: who may act (403) before what was sent (415, 422).
"""

from __future__ import annotations

import re
from typing import Any

from flask import Response, jsonify, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.api.auth import api_user, token_required
from app.api.blueprint import bp
from app.api.inputs import id_or_404, json_object
from app.api.serializers import timestamp
from app.api.spec import WRITE_BODY, error_answers, location_header, ok, operation, path_id, query_param, ref
from app.errors import ApiError
from app.etags import check_if_match, etag, with_etag
from app.policy import can, workplan_item_or_404
from app.validation import ValidationError
from app.workplan import queries, services
from app.workplan.models import ItemStatus, Workplan, WorkplanItem, WorkplanStatus
from app.workplan.validation import ITEM_FIELDS, MAX_DESCRIPTION, MAX_TITLE, MAX_YEAR, MIN_YEAR, parse_item

INVALID_ITEM = _l("The workplan item is not valid; see fields.")
_YEAR = re.compile(r"[0-9]{4}")


def item_json(item: WorkplanItem, deliverables: list[int]) -> dict[str, Any]:
    return {
        "id": item.id,
        "year": item.workplan.year,
        "cluster": item.cluster.slug,
        "title": item.title,
        "description": item.description,
        "lead_organisations": sorted(o.name for o in item.lead_organisations),
        "due_date": item.due_date.isoformat() if item.due_date else None,
        "status": item.status.value,
        "progress": item.progress,
        "overdue": item.is_overdue(queries.today()),
        "deliverables": deliverables,
        "created_at": timestamp(item.created_at),
        "updated_at": timestamp(item.updated_at),
        "url": f"/workplan/items/{item.id}",
    }


def _item_with_history(user: Any, item: WorkplanItem) -> dict[str, Any]:
    data = item_json(item, queries.deliverable_ids(user, [item.id])[item.id])
    data["history"] = [
        {
            "at": timestamp(c.at),
            "actor": c.actor.name if c.actor else None,
            "field": c.field,
            "old_value": c.old_value,
            "new_value": c.new_value,
        }
        for c in item.changes
    ]
    return data


def _workplan_json(user: Any, workplan: Workplan) -> dict[str, Any]:
    items = queries.items_of(workplan)
    deliverables = queries.deliverable_ids(user, [i.id for i in items])
    meeting = queries.visible_meeting(user, workplan.adopted_at_meeting_id)
    return {
        "year": workplan.year,
        "status": workplan.status.value,
        "adopted_on": workplan.adopted_on.isoformat() if workplan.adopted_on else None,
        # A meeting the caller may not see is not named, not even by its id.
        "adopted_at_meeting_id": meeting.id if meeting is not None else None,
        "items": [item_json(i, deliverables[i.id]) for i in items],
    }


@bp.get("/workplan")
@token_required("read")
def workplan() -> Response:
    """The workplan of ``?year=``, or this calendar year's (else the latest)."""
    raw = request.args.get("year")
    if raw is None or raw == "":
        found = queries.current_workplan()
    elif not _YEAR.fullmatch(raw) or not MIN_YEAR <= int(raw) <= MAX_YEAR:
        raise ApiError(
            422,
            _("Give the year as four digits."),
            {"year": _("A year from %(first)s to %(last)s.", first=MIN_YEAR, last=MAX_YEAR)},
        )
    else:
        found = queries.workplan_for_year(int(raw))
    if found is None:
        raise ApiError(404, _("There is no workplan for that year."))
    return jsonify(_workplan_json(api_user(), found))


@bp.get("/workplan/items/<item_id>")
@token_required("read")
def workplan_item(item_id: str) -> Response:
    user = api_user()
    item = workplan_item_or_404(user, id_or_404(item_id))
    return with_etag(jsonify(_item_with_history(user, item)), item)


def _parsed(raw: dict[str, Any], creating: bool) -> dict[str, Any]:
    try:
        return parse_item(raw, creating=creating)
    except ValidationError as exc:
        raise ApiError(422, INVALID_ITEM, exc.fields) from None


@bp.post("/workplan/items")
@token_required("write")
def create_workplan_item() -> tuple[Response, int, dict[str, str]]:
    user = api_user()
    if not can(user, "manage_workplan"):
        raise ApiError(403, _("Only curators add items to the workplan."))
    data = _parsed(json_object(), creating=True)
    try:
        item = services.create_item(user, data)
    except ValidationError as exc:
        raise ApiError(422, INVALID_ITEM, exc.fields) from None
    location = url_for("api.workplan_item", item_id=item.id)
    return jsonify(_item_with_history(user, item)), 201, {"Location": location, "ETag": etag(item)}


@bp.patch("/workplan/items/<item_id>")
@token_required("write")
def update_workplan_item(item_id: str) -> Response:
    """Change the fields sent; coordinators may send only status and progress."""
    user = api_user()
    item = workplan_item_or_404(user, id_or_404(item_id), need="update_workplan_item")
    check_if_match(item)
    raw = json_object()
    allowed = services.allowed_fields(user, item)
    refused = sorted((set(raw) & set(ITEM_FIELDS)) - allowed) if allowed is not None else []
    if refused:
        raise ApiError(
            403,
            _("Coordinators may change only the status and progress; not: %(fields)s.", fields=", ".join(refused)),
        )
    data = _parsed(raw, creating=False)
    try:
        services.update_item(user, item, data)
    except ValidationError as exc:
        raise ApiError(422, INVALID_ITEM, exc.fields) from None
    return with_etag(jsonify(_item_with_history(user, item)), item)


# --- OpenAPI -------------------------------------------------------------------------------------

TAG = {"name": "workplan", "description": "The yearly workplan of the four clusters."}

ITEM_ID = path_id("item_id", "workplan item")
_date = {"type": ["string", "null"], "format": "date"}
_ITEM_PROPERTIES: dict[str, Any] = {
    "id": {"type": "integer", "minimum": 1},
    "year": {"type": "integer", "minimum": MIN_YEAR, "maximum": MAX_YEAR},
    "cluster": {"type": "string", "description": "The cluster's slug."},
    "title": {"type": "string", "maxLength": MAX_TITLE},
    "description": {"type": "string"},
    "lead_organisations": {"type": "array", "items": {"type": "string"}},
    "due_date": _date,
    "status": {"enum": ItemStatus.values()},
    "progress": {"type": "integer", "minimum": 0, "maximum": 100},
    "overdue": {"type": "boolean", "description": "Due date past and status planned, in progress or delayed."},
    "deliverables": {
        "type": "array",
        "items": {"type": "integer"},
        "description": "Ids of the deliverable posts against this item that the caller may see.",
    },
    "created_at": {"type": "string", "format": "date-time"},
    "updated_at": {"type": "string", "format": "date-time"},
    "url": {"type": "string", "description": "The item's page in the portal, relative to its base URL."},
}
_INPUT_PROPERTIES: dict[str, Any] = {
    "year": {"type": "integer", "minimum": MIN_YEAR, "maximum": MAX_YEAR},
    "cluster": {"type": "string", "description": "A cluster's slug."},
    "title": {"type": "string", "minLength": 1, "maxLength": MAX_TITLE},
    "description": {"type": ["string", "null"], "maxLength": MAX_DESCRIPTION},
    "lead_organisations": {
        "type": ["array", "null"],
        "items": {"type": "string"},
        "description": "Names of member organisations.",
    },
    "due_date": {**_date, "description": "YYYY-MM-DD, or null for none."},
    "status": {"enum": ItemStatus.values()},
    "progress": {"type": "integer", "minimum": 0, "maximum": 100, "description": "Per cent done."},
}
SCHEMAS: dict[str, Any] = {
    "WorkplanItem": {
        "type": "object",
        "required": list(_ITEM_PROPERTIES),
        "additionalProperties": False,
        "properties": _ITEM_PROPERTIES,
    },
    "WorkplanItemChange": {
        "type": "object",
        "required": ["at", "actor", "field", "old_value", "new_value"],
        "additionalProperties": False,
        "properties": {
            "at": {"type": "string", "format": "date-time"},
            "actor": {"type": ["string", "null"], "description": "Null when the account no longer exists."},
            "field": {"type": "string", "description": "The field changed, or `created`."},
            "old_value": {"type": ["string", "null"], "description": "As the portal displays it."},
            "new_value": {"type": ["string", "null"]},
        },
    },
    "WorkplanItemDetail": {
        "type": "object",
        "required": [*_ITEM_PROPERTIES, "history"],
        "additionalProperties": False,
        "properties": {
            **_ITEM_PROPERTIES,
            "history": {"type": "array", "items": ref("WorkplanItemChange"), "description": "Newest first."},
        },
    },
    "Workplan": {
        "type": "object",
        "required": ["year", "status", "adopted_on", "adopted_at_meeting_id", "items"],
        "additionalProperties": False,
        "properties": {
            "year": {"type": "integer"},
            "status": {"enum": WorkplanStatus.values()},
            "adopted_on": _date,
            "adopted_at_meeting_id": {
                "type": ["integer", "null"],
                "description": "The adopting meeting, if the caller may see it.",
            },
            "items": {"type": "array", "items": ref("WorkplanItem")},
        },
    },
    "WorkplanItemCreate": {
        "type": "object",
        "required": ["year", "cluster", "title"],
        "additionalProperties": False,
        "properties": _INPUT_PROPERTIES,
    },
    "WorkplanItemPatch": {
        "type": "object",
        "description": "Only the fields to change. Coordinators may send only status and progress.",
        "additionalProperties": False,
        "properties": _INPUT_PROPERTIES,
    },
}
_LOCATION = location_header("The item's API URL.")
PATHS: dict[str, Any] = {
    "/workplan": {
        "get": operation(
            "workplan_get",
            "The workplan of a year with its items (default: this year's, else the latest).",
            "read",
            {"200": ok("The workplan.", "Workplan"), **error_answers(401, 404, 422, 429)},
            parameters=[
                query_param(
                    "year",
                    "The workplan's year; 404 when there is none.",
                    {"type": "integer", "minimum": MIN_YEAR, "maximum": MAX_YEAR},
                )
            ],
        )
    },
    "/workplan/items": {
        "post": operation(
            "workplan_create_item",
            "Add an item to a year's workplan (curators).",
            "write",
            {"201": ok("The item as stored.", "WorkplanItemDetail", headers=_LOCATION), **WRITE_BODY},
            body="WorkplanItemCreate",
            description="The year's workplan is created as a draft if it does not exist. Lead organisations "
            "are named by their exact names. A caller who is not a curator gets 403.",
        )
    },
    "/workplan/items/{item_id}": {
        "parameters": [ITEM_ID],
        "get": operation(
            "workplan_get_item",
            "One workplan item with its history.",
            "read",
            {"200": ok("The item.", "WorkplanItemDetail"), **error_answers(401, 404, 429)},
        ),
        "patch": operation(
            "workplan_update_item",
            "Change an item (curators; the cluster's coordinators only status and progress).",
            "write",
            {"200": ok("The item after the change.", "WorkplanItemDetail"), **error_answers(404), **WRITE_BODY},
            body="WorkplanItemPatch",
            description="Each changed field is recorded in the history with who, when, and the old and new value.",
        ),
    },
}
