"""Meeting documents over the API: upload (multipart, streamed into encryption), download,
delete; what a document's JSON holds; and their OpenAPI description.

A document of a meeting the caller may not see, or one marked beyond what they may see, is 404;
adding or removing one is for those who prepare the meeting (403 otherwise).
"""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, url_for
from flask_babel import gettext as _

from app.api.auth import api_user, token_required
from app.api.blueprint import bp
from app.api.inputs import id_or_404, upload_refused
from app.api.serializers import timestamp
from app.api.spec import (
    STAMPED_PDF_NOTE,
    TIMESTAMP,
    UPLOAD_FAILURES,
    error_answers,
    file_download,
    location_header,
    multipart,
    ok,
    operation,
    path_id,
)
from app.etags import check_if_match
from app.files.http import send_stored_file
from app.files.uploads import UploadRefused, receive_upload
from app.markings import Tlp
from app.meetings import documents
from app.meetings.models import MeetingDocument
from app.meetings.queries import DocumentRow, document_row
from app.meetings.validation import MAX_TITLE
from app.policy import meeting_document_or_404, meeting_or_404


def document_json(row: DocumentRow) -> dict[str, Any]:
    """A document's description; ``filename`` and the rest are null if its key does not open."""
    document, meta = row.document, row.meta
    return {
        "id": document.id,
        "meeting_id": document.meeting_id,
        "agenda_item_id": document.agenda_item_id,
        "position": row.position,
        "title": document.title,
        "tlp": document.tlp.value,
        "law_enforcement_only": document.law_enforcement_only,
        "filename": meta.filename if meta else None,
        "size": document.file.size,
        "media_type": meta.media_type if meta else None,
        "sha256": meta.sha256 if meta else None,
        "scan_status": document.file.scan_status,
        "created_at": timestamp(document.created_at),
        "url": url_for("api.download_meeting_document", document_id=document.id, _external=True),
    }


@bp.post("/meetings/<meeting_id>/documents")
@token_required("write")
def upload_meeting_document(meeting_id: str) -> tuple[Response, int, dict[str, str]]:
    user = api_user()
    meeting = meeting_or_404(user, id_or_404(meeting_id), need="add_meeting_document")
    try:
        document, meta = receive_upload(
            lambda upload: documents.add_form_document(
                user, meeting, upload.fields, upload.filename, upload.chunks, upload.max_bytes
            )
        )
    except UploadRefused as exc:
        raise upload_refused(exc, _("The document is not valid; see fields.")) from None
    location = url_for("api.download_meeting_document", document_id=document.id)
    return jsonify(document_json(document_row(user, document, meta))), 201, {"Location": location}


@bp.get("/meeting-documents/<document_id>")
@token_required("read")
def download_meeting_document(document_id: str) -> Response:
    user = api_user()
    document: MeetingDocument = meeting_document_or_404(user, id_or_404(document_id))
    return send_stored_file(
        document.file,
        actor=user,
        target=("meeting_document", document.id),
        action="meeting.document_download",
        target_org=document.author_org_id,
        tlp=document.stamp_tlp,
    )


@bp.delete("/meeting-documents/<document_id>")
@token_required("write")
def delete_meeting_document(document_id: str) -> Response:
    user = api_user()
    document = meeting_document_or_404(user, id_or_404(document_id), need="remove_meeting_document")
    check_if_match(document)
    documents.remove_document(user, document)
    return Response(status=204)


# --- OpenAPI -------------------------------------------------------------------------------------

DOCUMENT_ID = path_id("document_id", "meeting document")
LOCATION = location_header("The new resource's API URL.")

SCHEMAS: dict[str, Any] = {
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
            "scan_status",
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
            "position": {
                "type": "integer",
                "description": "Order within its agenda item (or the meeting), counted among the documents "
                "the caller may see: 1, 2, 3...",
            },
            "title": {"type": "string"},
            "tlp": {"enum": Tlp.values(), "description": "The meeting's marking or a stricter one."},
            "law_enforcement_only": {"type": "boolean"},
            "filename": {"type": ["string", "null"]},
            "size": {"type": "integer", "minimum": 0},
            "media_type": {"type": ["string", "null"]},
            "sha256": {"type": ["string", "null"], "pattern": "^[0-9a-f]{64}$"},
            "scan_status": {
                "enum": ["clean", "unscanned", "pending"],
                "description": "The malware scan: `clean`, `unscanned` (stored while the portal had no scanner) or "
                "`pending` (waiting for the scanner; listed to its uploader only, not downloadable until clean).",
            },
            "created_at": TIMESTAMP,
            "url": {"type": "string", "format": "uri", "description": "The download URL."},
        },
    },
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

PATHS: dict[str, Any] = {
    "/meetings/{meeting_id}/documents": {
        "parameters": [path_id("meeting_id", "meeting")],
        "post": {
            **operation(
                "meetings_documents_upload",
                "Add a document to a meeting or one of its agenda items (those who prepare the meeting).",
                "write",
                {
                    "201": ok("The document as stored, encrypted.", "MeetingDocument", headers=LOCATION),
                    **error_answers(400, 401, 403, 404, 413, 415, 422, 429),
                    **UPLOAD_FAILURES,
                },
                description="Multipart form data: optional `title`, `tlp`, `agenda_item_id` and "
                "`law_enforcement_only`, then one part named `file`. The type is sniffed from the content "
                "(as for attachments, 415 otherwise); a marking looser than the meeting's is 422, and so is a file "
                "the malware scanner refuses (nothing is stored).",
            ),
            "requestBody": multipart("MeetingDocumentUpload"),
        },
    },
    "/meeting-documents/{document_id}": {
        "parameters": [DOCUMENT_ID],
        "get": operation(
            "meetings_documents_download",
            "The document's bytes, decrypted as they are streamed; supports single byte ranges.",
            "read",
            file_download("The requested byte range, with Content-Range."),
            description=STAMPED_PDF_NOTE,
        ),
        "delete": operation(
            "meetings_documents_delete",
            "Remove a document and crypto-shred it (its author and those who prepare the meeting).",
            "write",
            {"204": {"description": "Deleted."}, **error_answers(401, 403, 404, 429)},
        ),
    },
}
