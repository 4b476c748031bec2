"""Attachments over the API: upload to a post (multipart ``file``), download, delete.

Uploads stream from the request body into encryption (``app.files.uploads``); downloads stream
out with Range support and one audit event each (``app.files.http``). An attachment of a post the
caller may not see is 404, like the post.
"""

from __future__ import annotations

from flask import Response, jsonify, url_for

from app.api.auth import api_user, token_required
from app.api.blueprint import bp
from app.api.inputs import id_or_404
from app.api.serializers import attachment_json
from app.clusters.attachments import attach_upload, remove_attachment
from app.errors import ApiError
from app.files.http import send_stored_file
from app.files.uploads import UploadRefused
from app.policy import NotAllowed, attachment_or_404, post_or_404


@bp.post("/posts/<post_id>/attachments")
@token_required("write")
def upload_attachment(post_id: str) -> tuple[Response, int, dict[str, str]]:
    user = api_user()
    post = post_or_404(user, id_or_404(post_id), need="attach_file")
    try:
        attachment, meta = attach_upload(user, post)
    except UploadRefused as exc:
        fields = {} if exc.status in (403, 503, 507) else {"file": exc.message}
        raise ApiError(exc.status, exc.message, fields) from None
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
    try:
        remove_attachment(user, attachment)
    except NotAllowed as exc:
        raise ApiError(403, str(exc)) from None
    return Response(status=204)
