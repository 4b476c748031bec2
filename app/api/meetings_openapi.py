"""The OpenAPI operations and schemas of the meetings API (``app.api.meetings``)."""

from __future__ import annotations

from typing import Any

from app.api.openapi import (
    FILE_CONTENT,
    PAGE_PARAMS,
    READ,
    WRITE_BODY,
    _content,
    _errors,
    _ok,
    _operation,
    register_paths,
)
from app.api.openapi_schemas import ref
from app.markings import Tlp
from app.meetings.models import MeetingKind
from app.meetings.validation import MAX_AGENDA, MAX_AGENDA_NOTES, MAX_LOCATION, MAX_MINUTES, MAX_TITLE
from app.routing import MAX_ID

_timestamp = {"type": "string", "format": "date-time", "description": "ISO 8601 with UTC offset."}
_strings = {"type": "array", "items": {"type": "string"}}
_id = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
_ERROR = _content(ref("Error"))


def _path_id(name: str, what: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "description": f"The {what}'s id.", "schema": _id}


def _query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


MEETING_ID = _path_id("meeting_id", "meeting")
DOCUMENT_ID = _path_id("document_id", "meeting document")
_LOCATION = {"Location": {"description": "The new resource's API URL.", "schema": {"type": "string"}}}
_INSTANT = {"type": "string", "description": "YYYY-MM-DD (a UTC day) or ISO 8601 date and time with offset."}

_SUMMARY: dict[str, Any] = {
    "id": {"type": "integer", "minimum": 1},
    "kind": {"enum": MeetingKind.values()},
    "cluster": {"type": ["string", "null"], "description": "The cluster's slug (technical meetings only)."},
    "title": {"type": "string", "maxLength": MAX_TITLE},
    "starts_at": _timestamp,
    "ends_at": _timestamp,
    "location": {"type": "string", "maxLength": MAX_LOCATION},
    "online": {"type": "boolean"},
    "tlp": {"enum": Tlp.values()},
    "law_enforcement_only": {"type": "boolean"},
    "organiser": {"anyOf": [ref("Author"), {"type": "null"}], "description": "Null when the account is gone."},
    "organisation": {"type": "string", "description": "The organiser's organisation."},
    "recipient_orgs": _strings,
    "recipient_users": _strings,
    "created_at": _timestamp,
    "updated_at": _timestamp,
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
        "required": ["id", "position", "title", "notes"],
        "additionalProperties": False,
        "properties": {
            "id": {"type": "integer"},
            "position": {"type": "integer", "minimum": 1},
            "title": {"type": "string"},
            "notes": {"type": "string"},
        },
    },
    "MeetingDocument": {
        "type": "object",
        "required": [
            "id",
            "meeting_id",
            "agenda_item_id",
            "position",
            "title",
            "tlp",
            "law_enforcement_only",
            "filename",
            "size",
            "media_type",
            "sha256",
            "created_at",
            "url",
        ],
        "additionalProperties": False,
        "description": "A document of a meeting or agenda item. The name, type and digest are stored encrypted; "
        "they are null only if the file's key cannot be opened.",
        "properties": {
            "id": {"type": "integer"},
            "meeting_id": {"type": "integer"},
            "agenda_item_id": {"type": ["integer", "null"], "description": "Null: a document of the whole meeting."},
            "position": {"type": "integer", "description": "Order within its agenda item (or the meeting)."},
            "title": {"type": "string"},
            "tlp": {"enum": Tlp.values(), "description": "The meeting's marking or a stricter one."},
            "law_enforcement_only": {"type": "boolean"},
            "filename": {"type": ["string", "null"]},
            "size": {"type": "integer", "minimum": 0},
            "media_type": {"type": ["string", "null"]},
            "sha256": {"type": ["string", "null"], "pattern": "^[0-9a-f]{64}$"},
            "created_at": _timestamp,
            "url": {"type": "string", "format": "uri", "description": "The download URL."},
        },
    },
    "MeetingCreate": {
        "type": "object",
        "required": ["title", "kind", "starts_at", "ends_at", "tlp"],
        "additionalProperties": False,
        "properties": _INPUT,
    },
    "MeetingPatch": {"type": "object", "additionalProperties": False, "properties": _INPUT},
    "MeetingDocumentUpload": {
        "type": "object",
        "required": ["file"],
        "description": "Send the text fields before the file part: they are read first, then the file streams "
        "into encryption.",
        "properties": {
            "title": {"type": "string", "maxLength": MAX_TITLE, "description": "Defaults to the file's name."},
            "tlp": {"enum": Tlp.values(), "description": "Defaults to the meeting's; may only be stricter."},
            "agenda_item_id": {"type": "string", "description": "An agenda item of this meeting; none: the meeting."},
            "law_enforcement_only": {"type": "string", "enum": ["true", "false"]},
            "file": {"type": "string", "contentMediaType": "application/octet-stream"},
        },
    },
}

_FILE_ERRORS = {
    "500": {"description": "The stored file failed its integrity check; nothing of it was sent.", "content": _ERROR},
    "503": {"description": "The file's key or the file store is unavailable.", "content": _ERROR},
}

PATHS: dict[str, Any] = {
    "/meetings": {
        "get": _operation(
            "meetings_list",
            "Visible meetings, earliest start first.",
            "read",
            {"200": _ok("A page of meetings.", "MeetingList"), **_errors(401, 422, 429)},
            parameters=[
                *PAGE_PARAMS,
                _query("cluster", "A cluster's slug; an unknown slug is 422.", {"type": "string"}),
                _query("kind", "Only meetings of this kind.", {"enum": MeetingKind.values()}),
                _query("from", "Only meetings starting at or after this.", _INSTANT),
                _query("to", "Only meetings starting at or before this (a date: that whole day).", _INSTANT),
            ],
        ),
        "post": _operation(
            "meetings_create",
            "Schedule a meeting: curators any kind; a cluster's coordinators its technical meetings.",
            "write",
            {"201": _ok("The meeting as stored.", "Meeting", headers=_LOCATION), **WRITE_BODY},
            body="MeetingCreate",
            description="`cluster` is required for technical meetings and refused for the others. `starts_at` and "
            "`ends_at` carry their UTC offset. Give `location`, `online: true`, or both.",
        ),
    },
    "/meetings/{meeting_id}": {
        "parameters": [MEETING_ID],
        "get": _operation(
            "meetings_get",
            "One visible meeting with its agenda, minutes and the documents the caller may see.",
            "read",
            {"200": _ok("The meeting.", "Meeting"), **_errors(401, 404, 429)},
        ),
        "patch": _operation(
            "meetings_update",
            "Change some fields of a meeting (curators, the organiser, the cluster's coordinators).",
            "write",
            {"200": _ok("The meeting after the change.", "Meeting"), **_errors(404), **WRITE_BODY},
            body="MeetingPatch",
            description="Documents looser than a new, stricter marking take the meeting's marking.",
        ),
        "delete": _operation(
            "meetings_delete",
            "Delete a meeting and crypto-shred its documents (curators and the organiser).",
            "write",
            {"204": {"description": "Deleted."}, **_errors(401, 403, 404, 429)},
        ),
    },
    "/meetings/{meeting_id}/documents": {
        "parameters": [MEETING_ID],
        "post": {
            **_operation(
                "meetings_documents_upload",
                "Add a document to a meeting or one of its agenda items (those who prepare the meeting).",
                "write",
                {
                    "201": _ok("The document as stored, encrypted.", "MeetingDocument", headers=_LOCATION),
                    **_errors(400, 401, 403, 404, 413, 415, 422, 429),
                    "503": {"description": "The file store is unavailable.", "content": _ERROR},
                    "507": {
                        "description": "The file store is full (code `storage_full`); nothing of the file was kept.",
                        "content": _ERROR,
                    },
                },
                description="Multipart form data: optional `title`, `tlp`, `agenda_item_id` and "
                "`law_enforcement_only`, then one part named `file`. The type is sniffed from the content "
                "(as for attachments, 415 otherwise); a marking looser than the meeting's is 422.",
            ),
            "requestBody": {
                "required": True,
                "content": {"multipart/form-data": {"schema": ref("MeetingDocumentUpload")}},
            },
        },
    },
    "/meeting-documents/{document_id}": {
        "parameters": [DOCUMENT_ID],
        "get": _operation(
            "meetings_documents_download",
            "The document's bytes, decrypted as they are streamed; supports single byte ranges.",
            "read",
            {
                "200": {
                    "description": "The whole file, with Content-Disposition naming it. Every download is audited.",
                    "content": FILE_CONTENT,
                },
                "206": {
                    "description": "The requested byte range, with Content-Range.",
                    "content": FILE_CONTENT,
                },
                "416": {"description": "The range lies outside the file."},
                **READ,
                **_errors(404),
                **_FILE_ERRORS,
            },
        ),
        "delete": _operation(
            "meetings_documents_delete",
            "Remove a document and crypto-shred it (its author and those who prepare the meeting).",
            "write",
            {"204": {"description": "Deleted."}, **_errors(401, 403, 404, 429)},
        ),
    },
}


def register() -> None:
    register_paths(
        {"name": "meetings", "description": "Meetings, their agendas, minutes and encrypted documents."},
        PATHS,
        SCHEMAS,
    )
