"""Attachments over the API: upload to a post (multipart ``file``), download, delete.

Uploads stream from the request body into encryption (``app.files.uploads``); downloads stream
out with Range support and one audit event each (``app.files.http``). An attachment of a post the
caller may not see is 404, like the post.
"""

from __future__ import annotations

from flask import Response, jsonify, url_for

from app.api.auth import api_user, token_required
from app.api.blueprint import bp
from app.api.inputs import post_id_or_404
from app.api.serializers import attachment_json
from app.clusters.attachments import attach_file, remove_attachment
from app.clusters.services import NotAllowed
from app.errors import ApiError
from app.files.http import send_stored_file
from app.files.services import FileTooLarge
from app.files.sniff import RejectedFile
from app.files.storage import StorageError
from app.files.uploads import MultipartUpload, UploadError, allow_large_body, discard_rest, upload_limit
from app.policy import attachment_or_404, post_or_404


@bp.post("/posts/<post_id>/attachments")
@token_required("write")
def upload_attachment(post_id: str) -> tuple[Response, int, dict[str, str]]:
    user = api_user()
    post = post_or_404(user, post_id_or_404(post_id), need="attach_file")
    allow_large_body()
    try:
        form = MultipartUpload()
        filename = form.until_file()
        if not filename:
            raise UploadError("The 'file' part has no filename; send the file's name in its Content-Disposition.")
        attachment, meta = attach_file(user, post, filename, form.file_chunks(), upload_limit())
        form.rest()
    except UploadError as exc:
        discard_rest()
        raise ApiError(400, str(exc), {"file": str(exc)}) from None
    except RejectedFile as exc:
        discard_rest()
        raise ApiError(415, str(exc), {"file": str(exc)}) from None
    except FileTooLarge as exc:
        raise ApiError(413, str(exc), {"file": str(exc)}) from None
    except NotAllowed as exc:
        discard_rest()
        raise ApiError(403, str(exc)) from None
    except StorageError:
        discard_rest()
        raise ApiError(503, "The file store is unavailable, so the file was not saved; try again later.") from None
    location = url_for("api.download_attachment", attachment_id=attachment.id)
    return jsonify(attachment_json(attachment, meta)), 201, {"Location": location}


@bp.get("/attachments/<attachment_id>")
@token_required("read")
def download_attachment(attachment_id: str) -> Response:
    user = api_user()
    attachment = attachment_or_404(user, post_id_or_404(attachment_id))
    return send_stored_file(
        attachment.file, actor=user, target=("attachment", attachment.id), action="attachment.download"
    )


@bp.delete("/attachments/<attachment_id>")
@token_required("write")
def delete_attachment(attachment_id: str) -> Response:
    user = api_user()
    attachment = attachment_or_404(user, post_id_or_404(attachment_id), need="attach_file")
    try:
        remove_attachment(user, attachment)
    except NotAllowed as exc:
        raise ApiError(403, str(exc)) from None
    return Response(status=204)
