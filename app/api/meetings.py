"""Meetings over the API: list, schedule, read (with agenda and the caller's documents), change,
delete; what a meeting's JSON holds; and their OpenAPI description. The documents themselves
are ``app.api.meeting_documents``.

Views only translate: the policy loads and authorises (``meeting_or_404``: hidden is 404,
visible but not the caller's to change is 403, as is a service's ``NotAllowed``),
``parse_meeting`` validates, the services write. Any error raises, which rolls the request's
transaction back.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from typing import Any

from flask import Response, jsonify, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.api.auth import api_user, token_required
from app.api.blueprint import bp
from app.api.inputs import cluster_id_from_slug, id_or_404, json_object, pagination, raise_if
from app.api.meeting_documents import document_json
from app.api.serializers import page_json, timestamp
from app.api.spec import (
    PAGE_PARAMS,
    STRINGS,
    TIMESTAMP,
    WRITE_BODY,
    error_answers,
    location_header,
    ok,
    operation,
    path_id,
    query_param,
    ref,
)
from app.audit.services import record_view
from app.errors import ApiError
from app.etags import check_if_match, etag, with_etag
from app.extensions import db
from app.markings import Tlp
from app.meetings import services
from app.meetings.models import Meeting, MeetingKind
from app.meetings.queries import MeetingFilter, document_rows, meeting_page
from app.meetings.validation import (
    MAX_AGENDA,
    MAX_AGENDA_NOTES,
    MAX_LOCATION,
    MAX_MINUTES,
    MAX_TITLE,
    MeetingInput,
    parse_meeting,
)
from app.policy import can, meeting_or_404
from app.validation import ValidationError

INVALID_MEETING = _l("The meeting is not valid; see fields.")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


# --- what the API answers ----------------------------------------------------------------------------


def meeting_summary_json(meeting: Meeting) -> dict[str, Any]:
    organisation = meeting.author_org.name
    return {
        "id": meeting.id,
        "kind": meeting.kind.value,
        "cluster": meeting.cluster.slug if meeting.cluster else None,
        "title": meeting.title,
        "starts_at": timestamp(meeting.starts_at),
        "ends_at": timestamp(meeting.ends_at),
        "location": meeting.location,
        "online": meeting.online,
        "video_link": meeting.video_link,
        "tlp": meeting.tlp.value,
        "law_enforcement_only": meeting.law_enforcement_only,
        "organiser": {"name": meeting.author.name, "organisation": organisation} if meeting.author else None,
        "organisation": organisation,
        "recipient_orgs": sorted(r.organisation.name for r in meeting.recipient_orgs),
        "recipient_users": sorted(r.user.email for r in meeting.recipient_users),
        "created_at": timestamp(meeting.created_at),
        "updated_at": timestamp(meeting.updated_at),
        "url": f"/meetings/{meeting.id}",
        "calendar_url": f"/meetings/{meeting.id}/meeting.ics",
    }


def meeting_json(user: Any, meeting: Meeting) -> dict[str, Any]:
    """A whole meeting as ``GET /meetings/{id}`` answers it: the caller's visible documents only."""
    data = meeting_summary_json(meeting)
    data.update(
        {
            "agenda": [
                {
                    "id": item.id,
                    "position": item.position,
                    "title": item.title,
                    "notes": item.notes,
                    "starts_at": timestamp(item.starts_at) if item.starts_at else None,
                    "duration_minutes": item.duration_minutes,
                    "speakers": item.speakers,
                }
                for item in meeting.agenda
            ],
            "documents": [document_json(row) for row in document_rows(user, meeting)],
            "minutes": meeting.minutes,
            "minutes_html": meeting.minutes_html,
        }
    )
    return data


def meeting_to_input(meeting: Meeting) -> MeetingInput:
    """The stored meeting as the input that would recreate it (the base of a PATCH)."""
    return MeetingInput(
        title=meeting.title,
        kind=meeting.kind,
        cluster=meeting.cluster.slug if meeting.cluster else None,
        starts_at=meeting.starts_at,
        ends_at=meeting.ends_at,
        location=meeting.location,
        online=meeting.online,
        video_link=meeting.video_link,
        tlp=meeting.tlp,
        law_enforcement_only=meeting.law_enforcement_only,
        recipient_orgs=sorted(r.organisation.name for r in meeting.recipient_orgs),
        recipient_users=sorted(r.user.email for r in meeting.recipient_users),
    )


# --- meetings ----------------------------------------------------------------------------------------


def _instant(name: str, errors: dict[str, str], end_of_day: bool) -> datetime | None:
    """``from``/``to``: a date (the whole UTC day) or an ISO 8601 date and time with its offset."""
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return None
    try:
        if _DATE.fullmatch(raw):
            day = datetime.combine(datetime.fromisoformat(raw).date(), time(0), UTC)
            return day + timedelta(days=1, microseconds=-1) if end_of_day else day
        value = datetime.fromisoformat(raw.replace(" ", "+")) if len(raw) <= 40 else None
    except ValueError:
        value = None
    if value is None or value.tzinfo is None or not 2000 <= value.year <= 2100:
        errors[name] = _("Give a date (YYYY-MM-DD) or a date and time with its offset, e.g. 2026-12-01T09:00:00+01:00.")
        return None
    return value.astimezone(UTC)


@bp.get("/meetings")
@token_required("read")
def list_meetings() -> Response:
    """Visible meetings by start, earliest first; ``from``/``to`` bound the start."""
    errors: dict[str, str] = {}
    page, per_page = pagination(errors)
    filters = MeetingFilter(starts_from=_instant("from", errors, False), starts_to=_instant("to", errors, True))
    if cluster := request.args.get("cluster"):
        filters.cluster_id = cluster_id_from_slug(cluster, errors)
    if kind := request.args.get("kind"):
        if kind in MeetingKind.values():
            filters.kind = MeetingKind(kind)
        else:
            errors["kind"] = _("Choose one of: %(values)s.", values=", ".join(MeetingKind.values()))
    raise_if(errors)
    result = meeting_page(api_user(), filters, page, per_page)
    return jsonify(page_json(result, [meeting_summary_json(m) for m in result.items]))


def _validated(raw: dict[str, Any], partial_of: MeetingInput | None = None) -> MeetingInput:
    try:
        return parse_meeting(raw, partial_of=partial_of)
    except ValidationError as exc:
        raise ApiError(422, INVALID_MEETING, exc.fields) from None


@bp.post("/meetings")
@token_required("write")
def create_meeting() -> tuple[Response, int, dict[str, str]]:
    user = api_user()
    if not can(user, "open_meeting_form"):
        raise ApiError(403, _("Only curators and cluster coordinators schedule meetings."))
    data = _validated(json_object())
    try:
        meeting = services.schedule_meeting(user, data)
    except ValidationError as exc:
        raise ApiError(422, INVALID_MEETING, exc.fields) from None
    headers = {"Location": url_for("api.get_meeting", meeting_id=meeting.id), "ETag": etag(meeting, _shown(meeting))}
    return jsonify(meeting_json(user, meeting)), 201, headers


@bp.get("/meetings/<meeting_id>")
@token_required("read")
def get_meeting(meeting_id: str) -> Response:
    user = api_user()
    meeting = meeting_or_404(user, id_or_404(meeting_id))
    record_view(user, "meeting", meeting, via="api")
    return with_etag(jsonify(meeting_json(user, meeting)), meeting, _shown(meeting))


def _shown(meeting: Meeting) -> list[tuple[int, int, int]]:
    """What a meeting's ETag covers besides the meeting: its agenda items (id, version, position)."""
    return [(item.id, item.version, item.position) for item in meeting.agenda]


@bp.patch("/meetings/<meeting_id>")
@token_required("write")
def update_meeting(meeting_id: str) -> Response:
    """Change the fields sent; the others keep their values. ``agenda`` replaces the whole agenda."""
    user = api_user()
    meeting = meeting_or_404(user, id_or_404(meeting_id), need="edit_meeting")
    check_if_match(meeting, _shown(meeting))
    data = _validated(json_object(), partial_of=meeting_to_input(meeting))
    try:
        services.update_meeting(user, meeting, data)
    except ValidationError as exc:
        raise ApiError(422, INVALID_MEETING, exc.fields) from None
    db.session.flush()
    db.session.expire(meeting, ["agenda"])
    return with_etag(jsonify(meeting_json(user, meeting)), meeting, _shown(meeting))


@bp.delete("/meetings/<meeting_id>")
@token_required("write")
def delete_meeting(meeting_id: str) -> Response:
    user = api_user()
    meeting = meeting_or_404(user, id_or_404(meeting_id), need="delete_meeting")
    check_if_match(meeting, _shown(meeting))
    services.delete_meeting(user, meeting)
    return Response(status=204)


# --- OpenAPI -------------------------------------------------------------------------------------

TAG = {"name": "meetings", "description": "Meetings, their agendas, minutes and encrypted documents."}

MEETING_ID = path_id("meeting_id", "meeting")
LOCATION = location_header("The new resource's API URL.")
_INSTANT = {"type": "string", "description": "YYYY-MM-DD (a UTC day) or ISO 8601 date and time with offset."}

_SUMMARY: dict[str, Any] = {
    "id": {"type": "integer", "minimum": 1},
    "kind": {"enum": MeetingKind.values()},
    "cluster": {"type": ["string", "null"], "description": "The cluster's slug (technical meetings only)."},
    "title": {"type": "string", "maxLength": MAX_TITLE},
    "starts_at": TIMESTAMP,
    "ends_at": TIMESTAMP,
    "location": {"type": "string", "maxLength": MAX_LOCATION},
    "online": {"type": "boolean"},
    "video_link": {"type": "string", "description": "The video-conference address (https), or empty."},
    "tlp": {"enum": Tlp.values()},
    "law_enforcement_only": {"type": "boolean"},
    "organiser": {"anyOf": [ref("Author"), {"type": "null"}], "description": "Null when the account is gone."},
    "organisation": {"type": "string", "description": "The organiser's organisation."},
    "recipient_orgs": STRINGS,
    "recipient_users": STRINGS,
    "created_at": TIMESTAMP,
    "updated_at": TIMESTAMP,
    "url": {"type": "string", "description": "The meeting's page in the portal, relative to its base URL."},
    "calendar_url": {"type": "string", "description": "The meeting as an iCalendar file, relative to the base URL."},
}
_FULL: dict[str, Any] = {
    **_SUMMARY,
    "agenda": {"type": "array", "items": ref("AgendaItem"), "description": "In order."},
    "documents": {
        "type": "array",
        "items": ref("MeetingDocument"),
        "description": "The documents the caller may see: the meeting's own first, then by agenda item.",
    },
    "minutes": {"type": "string", "description": "Markdown, as written."},
    "minutes_html": {"type": "string", "description": "The minutes rendered and sanitised: safe to show as is."},
}
_INPUT: dict[str, Any] = {
    "title": {"type": "string", "minLength": 1, "maxLength": MAX_TITLE},
    "kind": {"enum": MeetingKind.values()},
    "cluster": {
        "type": ["string", "null"],
        "description": "A cluster's slug: required for technical, refused otherwise.",
    },
    "starts_at": {"type": "string", "format": "date-time", "description": "ISO 8601 with its offset (required)."},
    "ends_at": {"type": "string", "format": "date-time", "description": "ISO 8601 with its offset; not before start."},
    "location": {"type": ["string", "null"], "maxLength": MAX_LOCATION, "description": "Place; or online, or both."},
    "online": {"type": ["boolean", "null"]},
    "video_link": {"type": ["string", "null"], "maxLength": 500, "description": "An https:// address, or empty."},
    "tlp": {"enum": Tlp.values()},
    "law_enforcement_only": {"type": ["boolean", "null"]},
    "recipient_orgs": {"type": ["array", "null"], "items": {"type": "string"}, "description": "Organisation names."},
    "recipient_users": {"type": ["array", "null"], "items": {"type": "string"}, "description": "E-mail addresses."},
    "agenda": {
        "type": ["array", "null"],
        "maxItems": MAX_AGENDA,
        "items": {
            "type": "object",
            "required": ["title"],
            "additionalProperties": False,
            "properties": {
                "title": {"type": "string", "minLength": 1, "maxLength": MAX_TITLE},
                "notes": {"type": ["string", "null"], "maxLength": MAX_AGENDA_NOTES},
                "starts_at": {"type": ["string", "null"], "format": "date-time", "description": "With its offset."},
                "duration_minutes": {"type": ["integer", "null"], "minimum": 1, "maximum": 1440},
                "speakers": {"type": ["string", "null"], "maxLength": 300},
            },
        },
        "description": "The whole agenda in order. In a PATCH it replaces the agenda, matched by position: "
        "documents stay with the item at their position; those of items beyond the end move to the meeting.",
    },
    "minutes": {"type": ["string", "null"], "maxLength": MAX_MINUTES, "description": "Markdown."},
}

SCHEMAS: dict[str, Any] = {
    "MeetingSummary": {
        "type": "object",
        "required": list(_SUMMARY),
        "additionalProperties": False,
        "properties": _SUMMARY,
    },
    "Meeting": {"type": "object", "required": list(_FULL), "additionalProperties": False, "properties": _FULL},
    "MeetingList": {
        "type": "object",
        "required": ["items", "page", "per_page", "total", "total_capped"],
        "additionalProperties": False,
        "properties": {
            "items": {"type": "array", "items": ref("MeetingSummary")},
            "page": {"type": "integer", "minimum": 1},
            "per_page": {"type": "integer", "minimum": 1, "maximum": 100},
            "total": {"type": "integer", "minimum": 0, "description": "Counted up to 1,000."},
            "total_capped": {"type": "boolean"},
        },
    },
    "AgendaItem": {
        "type": "object",
        "required": ["id", "position", "title", "notes", "starts_at", "duration_minutes", "speakers"],
        "additionalProperties": False,
        "properties": {
            "id": {"type": "integer"},
            "position": {"type": "integer", "minimum": 1},
            "title": {"type": "string"},
            "notes": {"type": "string"},
            "starts_at": {"anyOf": [TIMESTAMP, {"type": "null"}]},
            "duration_minutes": {"type": ["integer", "null"]},
            "speakers": {"type": "string"},
        },
    },
    "MeetingCreate": {
        "type": "object",
        "required": ["title", "kind", "starts_at", "ends_at", "tlp"],
        "additionalProperties": False,
        "properties": _INPUT,
    },
    "MeetingPatch": {"type": "object", "additionalProperties": False, "properties": _INPUT},
}

PATHS: dict[str, Any] = {
    "/meetings": {
        "get": operation(
            "meetings_list",
            "Visible meetings, earliest start first.",
            "read",
            {"200": ok("A page of meetings.", "MeetingList"), **error_answers(401, 422, 429)},
            parameters=[
                *PAGE_PARAMS,
                query_param("cluster", "A cluster's slug; an unknown slug is 422.", {"type": "string"}),
                query_param("kind", "Only meetings of this kind.", {"enum": MeetingKind.values()}),
                query_param("from", "Only meetings starting at or after this.", _INSTANT),
                query_param("to", "Only meetings starting at or before this (a date: that whole day).", _INSTANT),
            ],
        ),
        "post": operation(
            "meetings_create",
            "Schedule a meeting: curators any kind; a cluster's coordinators its technical meetings.",
            "write",
            {"201": ok("The meeting as stored.", "Meeting", headers=LOCATION), **WRITE_BODY},
            body="MeetingCreate",
            description="`cluster` is required for technical meetings and refused for the others. `starts_at` and "
            "`ends_at` carry their UTC offset. Give `location`, `online: true`, or both.",
        ),
    },
    "/meetings/{meeting_id}": {
        "parameters": [MEETING_ID],
        "get": operation(
            "meetings_get",
            "One visible meeting with its agenda, minutes and the documents the caller may see.",
            "read",
            {"200": ok("The meeting.", "Meeting"), **error_answers(401, 404, 429)},
        ),
        "patch": operation(
            "meetings_update",
            "Change some fields of a meeting (curators, the organiser, the cluster's coordinators).",
            "write",
            {"200": ok("The meeting after the change.", "Meeting"), **error_answers(404), **WRITE_BODY},
            body="MeetingPatch",
            description="Documents looser than a new, stricter marking take the meeting's marking.",
        ),
        "delete": operation(
            "meetings_delete",
            "Delete a meeting and crypto-shred its documents (curators and the organiser).",
            "write",
            {"204": {"description": "Deleted."}, **error_answers(401, 403, 404, 429)},
        ),
    },
}
