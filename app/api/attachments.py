"""Attachments over the API: upload to a post (multipart ``file``), download, delete.

Uploads stream from the request body into encryption (``app.files.uploads``); downloads stream
out with Range support and one audit event each (``app.files.http``). An attachment of a post the
caller may not see is 404, like the post.
"""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, url_for
from flask_babel import gettext as _

from app.api.auth import api_user, token_required
from app.api.blueprint import bp
from app.api.inputs import id_or_404, json_object, upload_refused
from app.api.spec import (
    STAMPED_PDF_NOTE,
    UPLOAD_FAILURES,
    WRITE_BODY,
    error_answers,
    file_download,
    location_header,
    multipart,
    ok,
    operation,
    path_id,
)
from app.clusters.attachments import (
    MAX_DESCRIPTION,
    attach_file,
    details_of,
    download_name,
    edit_attachment_details,
    parse_attachment_details,
    remove_attachment,
)
from app.clusters.models import Attachment
from app.errors import ApiError
from app.etags import check_if_match, etag, with_etag
from app.files.http import send_stored_file
from app.files.services import FileMeta, FileUnavailable, file_meta
from app.files.sniff import MAX_NAME_BYTES
from app.files.uploads import UploadRefused, receive_upload
from app.policy import attachment_or_404, post_or_404
from app.validation import ValidationError


@bp.post("/posts/<post_id>/attachments")
@token_required("write")
def upload_attachment(post_id: str) -> tuple[Response, int, dict[str, str]]:
    user = api_user()
    post = post_or_404(user, id_or_404(post_id), need="attach_file")
    try:
        attachment, meta = receive_upload(
            lambda upload: attach_file(user, post, upload.filename, upload.chunks, upload.max_bytes)
        )
    except UploadRefused as exc:
        raise upload_refused(exc) from None
    location = url_for("api.download_attachment", attachment_id=attachment.id)
    return jsonify(attachment_json(attachment, meta)), 201, {"Location": location, "ETag": etag(attachment)}


@bp.get("/attachments/<attachment_id>")
@token_required("read")
def download_attachment(attachment_id: str) -> Response:
    user = api_user()
    attachment = attachment_or_404(user, id_or_404(attachment_id))
    return send_stored_file(
        attachment.file,
        actor=user,
        target=("attachment", attachment.id),
        action="attachment.download",
        target_org=attachment.post.author_org_id,
        filename=download_name(attachment),
        tlp=attachment.stamp_tlp,
    )


@bp.delete("/attachments/<attachment_id>")
@token_required("write")
def delete_attachment(attachment_id: str) -> Response:
    user = api_user()
    attachment = attachment_or_404(user, id_or_404(attachment_id), need="attach_file")
    check_if_match(attachment)
    remove_attachment(user, attachment)
    return Response(status=204)


@bp.patch("/attachments/<attachment_id>")
@token_required("write")
def update_attachment(attachment_id: str) -> Response:
    """Change the name a file is shown and downloaded under, or its description; ``If-Match``
    (the ``"v<version>"`` tag of the attachment) makes it conditional: 412 when it changed since."""
    user = api_user()
    attachment = attachment_or_404(user, id_or_404(attachment_id), need="attach_file")
    check_if_match(attachment)
    try:
        meta: FileMeta | None = file_meta(attachment.file)
    except FileUnavailable:
        meta = None
    try:
        details = parse_attachment_details(json_object(), details_of(attachment), meta.filename if meta else "")
    except ValidationError as exc:
        raise ApiError(422, _("The file's details are not valid; see fields."), exc.fields) from None
    if details != details_of(attachment):
        edit_attachment_details(user, attachment, details)
    return with_etag(jsonify(attachment_json(attachment, meta)), attachment)


def attachment_json(attachment: Attachment, meta: FileMeta | None) -> dict[str, Any]:
    """An attachment's description; ``filename`` and the rest are null if its key does not open."""
    return {
        "id": attachment.id,
        "post_id": attachment.post_id,
        "filename": (attachment.display_name or meta.filename) if meta else None,
        "original_filename": meta.filename if meta else None,
        "description": attachment.description,
        "version": attachment.version,
        "size": attachment.file.size,
        "sha256": meta.sha256 if meta else None,
        "media_type": meta.media_type if meta else None,
        "scan_status": attachment.file.scan_status,
        "created_at": attachment.created_at.isoformat(),
        "url": url_for("api.download_attachment", attachment_id=attachment.id, _external=True),
    }


# --- OpenAPI -------------------------------------------------------------------------------------

TAG = {"name": "attachments", "description": "Files of posts, encrypted at rest."}

ATTACHMENT_ID = path_id("attachment_id", "attachment")

SCHEMAS: dict[str, Any] = {
    "Attachment": {
        "type": "object",
        "required": [
            "id",
            "post_id",
            "filename",
            "original_filename",
            "description",
            "version",
            "size",
            "sha256",
            "media_type",
            "scan_status",
            "created_at",
            "url",
        ],
        "additionalProperties": False,
        "description": "A file of a post. The name, type and digest are stored encrypted; they are null only "
        "if the file's key cannot be opened (the administrators are alerted).",
        "properties": {
            "id": {"type": "integer"},
            "post_id": {"type": "integer"},
            "filename": {
                "type": ["string", "null"],
                "description": "The name the file is shown and downloaded under: its display name if one is set, "
                "else the uploaded name. Sanitised: no path, no control characters.",
            },
            "original_filename": {"type": ["string", "null"], "description": "The name it was uploaded under."},
            "description": {"type": ["string", "null"], "maxLength": MAX_DESCRIPTION},
            "version": {
                "type": "integer",
                "minimum": 1,
                "description": 'Moves with each change of the details; `"v<version>"` is the tag `If-Match` takes.',
            },
            "size": {"type": "integer", "minimum": 0, "description": "Bytes."},
            "sha256": {"type": ["string", "null"], "pattern": "^[0-9a-f]{64}$"},
            "media_type": {"type": ["string", "null"], "description": "Sniffed from the content, not declared."},
            "scan_status": {
                "enum": ["clean", "unscanned", "pending"],
                "description": "The malware scan: `clean`, `unscanned` (stored while the portal had no scanner) or "
                "`pending` (waiting for the scanner; listed to its uploader only, not downloadable until clean).",
            },
            "created_at": {"type": "string", "format": "date-time"},
            "url": {"type": "string", "description": "Where to download it (GET, read scope)."},
        },
    },
    "AttachmentPatch": {
        "type": "object",
        "additionalProperties": False,
        "description": "The fields sent change; the others keep their values.",
        "properties": {
            "display_name": {
                "type": ["string", "null"],
                "maxLength": MAX_NAME_BYTES,
                "description": "Plain text, no / or \\, no control characters, keeping the uploaded name's "
                "extension (at most 200 bytes); empty or null: the uploaded name.",
            },
            "description": {
                "type": ["string", "null"],
                "maxLength": MAX_DESCRIPTION,
                "description": "One line of plain text; empty or null removes it.",
            },
        },
    },
    "AttachmentUpload": {
        "type": "object",
        "required": ["file"],
        "properties": {"file": {"type": "string", "contentMediaType": "application/octet-stream"}},
    },
}


PATHS: dict[str, Any] = {
    "/posts/{post_id}/attachments": {
        "parameters": [path_id("post_id", "post")],
        "post": {
            **operation(
                "attachments_upload",
                "Attach a file to a post (its author or the author's organisation's focal point).",
                "write",
                {
                    "201": ok(
                        "The file as stored, encrypted.", "Attachment", headers=location_header("The download URL.")
                    ),
                    **error_answers(400, 401, 403, 404, 413, 415, 422, 429),
                    **UPLOAD_FAILURES,
                },
                description="Multipart form data with one part named `file` (the filename is taken from it). "
                "The type is sniffed from the content: PDF, Office and OpenDocument files, PNG, JPEG, GIF, WebP "
                "and TIFF images, text, CSV and ZIP; the name's extension must match it (415 otherwise). "
                "Larger than the portal's limit (or, with malware scanning on, the scanner's) is 413; a file the "
                "malware scanner refuses is 422 and nothing is stored. The file takes the post's marking and "
                "audience; while it waits for its scan (`scan_status` pending) only its uploader sees it listed.",
            ),
            "requestBody": multipart("AttachmentUpload"),
        },
    },
    "/attachments/{attachment_id}": {
        "parameters": [ATTACHMENT_ID],
        "get": operation(
            "attachments_download",
            "The file's bytes, decrypted as they are streamed; supports single byte ranges.",
            "read",
            file_download("The requested byte range (Range: bytes=a-b), with Content-Range."),
            description=STAMPED_PDF_NOTE,
        ),
        "patch": operation(
            "attachments_update",
            "Change a file's display name or description (the post's author or their organisation's focal point).",
            "write",
            {"200": ok("The file's description after the change.", "Attachment"), **error_answers(404), **WRITE_BODY},
            body="AttachmentPatch",
            description="The download's own `ETag` names the bytes (for `If-Range`); the details' version is "
            'the `version` field, and `If-Match` takes it as `"v<version>"` (the tag this answer sends).',
        ),
        "delete": operation(
            "attachments_delete",
            "Remove a file and crypto-shred it (its key is destroyed, then its blob).",
            "write",
            {"204": {"description": "Deleted."}, **error_answers(401, 403, 404, 429)},
        ),
    },
}
