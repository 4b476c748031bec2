"""Attachments over the API: upload to a post (multipart ``file``), download, delete.

Uploads stream from the request body into encryption (``app.files.uploads``); downloads stream
out with Range support and one audit event each (``app.files.http``). An attachment of a post the
caller may not see is 404, like the post.
"""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, url_for

from app.api.auth import api_user, token_required
from app.api.blueprint import bp
from app.api.inputs import id_or_404, upload_refused
from app.api.spec import (
    UPLOAD_FAILURES,
    error_answers,
    file_download,
    location_header,
    multipart,
    ok,
    operation,
    path_id,
)
from app.clusters.attachments import attach_file, remove_attachment
from app.clusters.models import Attachment
from app.files.http import send_stored_file
from app.files.services import FileMeta
from app.files.uploads import UploadRefused, receive_upload
from app.policy import attachment_or_404, post_or_404


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
    return jsonify(attachment_json(attachment, meta)), 201, {"Location": location}


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
    )


@bp.delete("/attachments/<attachment_id>")
@token_required("write")
def delete_attachment(attachment_id: str) -> Response:
    user = api_user()
    attachment = attachment_or_404(user, id_or_404(attachment_id), need="attach_file")
    remove_attachment(user, attachment)
    return Response(status=204)


def attachment_json(attachment: Attachment, meta: FileMeta | None) -> dict[str, Any]:
    """An attachment's description; ``filename`` and the rest are null if its key does not open."""
    return {
        "id": attachment.id,
        "post_id": attachment.post_id,
        "filename": meta.filename if meta else None,
        "size": attachment.file.size,
        "sha256": meta.sha256 if meta else None,
        "media_type": meta.media_type if meta else None,
        "created_at": attachment.created_at.isoformat(),
        "url": url_for("api.download_attachment", attachment_id=attachment.id, _external=True),
    }


# --- OpenAPI -------------------------------------------------------------------------------------

TAG = {"name": "attachments", "description": "Files of posts, encrypted at rest."}

ATTACHMENT_ID = path_id("attachment_id", "attachment")

SCHEMAS: dict[str, Any] = {
    "Attachment": {
        "type": "object",
        "required": ["id", "post_id", "filename", "size", "sha256", "media_type", "created_at", "url"],
        "additionalProperties": False,
        "description": "A file of a post. The name, type and digest are stored encrypted; they are null only "
        "if the file's key cannot be opened (the administrators are alerted).",
        "properties": {
            "id": {"type": "integer"},
            "post_id": {"type": "integer"},
            "filename": {"type": ["string", "null"], "description": "Sanitised: no path, no control characters."},
            "size": {"type": "integer", "minimum": 0, "description": "Bytes."},
            "sha256": {"type": ["string", "null"], "pattern": "^[0-9a-f]{64}$"},
            "media_type": {"type": ["string", "null"], "description": "Sniffed from the content, not declared."},
            "created_at": {"type": "string", "format": "date-time"},
            "url": {"type": "string", "description": "Where to download it (GET, read scope)."},
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
                    **error_answers(400, 401, 403, 404, 413, 415, 429),
                    **UPLOAD_FAILURES,
                },
                description="Multipart form data with one part named `file` (the filename is taken from it). "
                "The type is sniffed from the content: PDF, Office and OpenDocument files, PNG, JPEG, GIF, WebP "
                "and TIFF images, text, CSV and ZIP; the name's extension must match it (415 otherwise). "
                "Larger than the portal's limit is 413. The file takes the post's marking and audience.",
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
        ),
        "delete": operation(
            "attachments_delete",
            "Remove a file and crypto-shred it (its key is destroyed, then its blob).",
            "write",
            {"204": {"description": "Deleted."}, **error_answers(401, 403, 404, 429)},
        ),
    },
}
