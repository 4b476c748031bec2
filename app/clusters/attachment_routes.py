"""Attachment pages: upload to a post, download, remove. The post's audience decides who sees them.

The upload reads the request body as a stream (``app.files.uploads``), so Flask-WTF's global
CSRF check, which would parse the whole body first, is replaced here by checking the form's
token field, which the form sends before the file.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf.csrf import ValidationError as CsrfInvalid
from flask_wtf.csrf import validate_csrf

from app.clusters.attachments import attach_file, remove_attachment
from app.clusters.routes import render_post
from app.clusters.services import NotAllowed
from app.extensions import csrf, db
from app.files.http import send_stored_file
from app.files.services import FileTooLarge, FileUnavailable, file_meta
from app.files.sniff import RejectedFile
from app.files.storage import StorageError
from app.files.uploads import MultipartUpload, UploadError, allow_large_body, discard_rest, upload_limit
from app.policy import attachment_or_404, post_or_404

bp = Blueprint("attachments", __name__)

ID = "<int(max=2147483647):{}>"


@bp.route("/posts/" + ID.format("post_id") + "/attachments", methods=["POST"])
@csrf.exempt
@login_required
def upload(post_id: int) -> Any:
    post = post_or_404(current_user, post_id, "attach_file")
    allow_large_body()
    try:
        form = MultipartUpload()
        filename = form.until_file()
        try:
            validate_csrf(form.fields.get("csrf_token"))
        except CsrfInvalid:
            raise UploadError(
                "Your form expired or was not sent from this portal. Reload the page and choose the file again."
            ) from None
        if not filename:
            raise UploadError("Choose a file to upload.")
        attachment, meta = attach_file(current_user, post, filename, form.file_chunks(), upload_limit())
        form.rest()
    except (UploadError, RejectedFile, FileTooLarge, StorageError, NotAllowed) as exc:
        db.session.rollback()
        discard_rest()
        status = {FileTooLarge: 413, RejectedFile: 415, StorageError: 503, NotAllowed: 403}.get(type(exc), 400)
        message = str(exc)
        if isinstance(exc, StorageError):
            message = "The file store is unavailable, so the file was not saved. Try again in a few minutes."
        return render_post(post_or_404(current_user, post_id), status=status, upload_errors=[message])
    flash(f"“{meta.filename}” is attached, encrypted, with the post's marking.", "success")
    return redirect(url_for("clusters.post", post_id=post.id, _anchor=f"attachment-{attachment.id}"))


@bp.route("/attachments/" + ID.format("attachment_id"))
@login_required
def download(attachment_id: int) -> Any:
    attachment = attachment_or_404(current_user, attachment_id)
    return send_stored_file(
        attachment.file, actor=current_user, target=("attachment", attachment.id), action="attachment.download"
    )


@bp.route("/attachments/" + ID.format("attachment_id") + "/delete", methods=["GET", "POST"])
@login_required
def delete(attachment_id: int) -> Any:
    """GET asks for confirmation; POST removes the attachment and crypto-shreds its file."""
    attachment = attachment_or_404(current_user, attachment_id, "attach_file")
    post = attachment.post
    try:
        name = f"“{file_meta(attachment.file).filename}”"
    except FileUnavailable:
        name = "The file"
    if request.method == "GET":
        return render_template("clusters/attachment_delete.html", attachment=attachment, post=post, name=name)
    remove_attachment(current_user, attachment)
    flash(f"{name} is removed and its encrypted copy destroyed.", "success")
    return redirect(url_for("clusters.post", post_id=post.id))
