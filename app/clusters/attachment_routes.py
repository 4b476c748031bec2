"""Attachment pages: upload to a post, download, remove. The post's audience decides who sees them.

The upload reads the request body as a stream (``app.files.uploads.receive_upload``) and hands
the file to ``attach_file``; Flask-WTF's global CSRF check, which would parse the whole body
first, is replaced by ``check_csrf_field`` on the form's token, which the form sends before the file.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.clusters.attachments import (
    add_attachment_version,
    attach_file,
    details_of,
    download_name,
    edit_attachment_details,
    parse_attachment_details,
    remove_attachment,
)
from app.clusters.blueprint import attachments_bp as bp
from app.clusters.forms import AttachmentForm
from app.clusters.models import Attachment, AttachmentVersion, Post
from app.clusters.names import cluster_label
from app.clusters.post_pack import EMPTY_MESSAGE as POST_FILES_EMPTY
from app.clusters.post_pack import PostFilesEmpty, build_post_pack
from app.clusters.routes import POST, render_post
from app.concurrency import StaleEdit, form_version
from app.directory.audience import audience_panel
from app.extensions import csrf, db
from app.files.http import send_stored_file
from app.files.packs import pack_response
from app.files.preview_http import preview_page, send_thumbnail
from app.files.services import FileUnavailable, file_meta, human_size
from app.files.sniff import ACCEPT_EXTENSIONS
from app.files.uploads import UploadRefused, check_csrf_field, receive_upload
from app.files.versions import parse_version_fields, version_rows
from app.forms import after_refusal, refused, stale
from app.markings import Tlp
from app.policy import attachment_or_404, attachment_version_or_404, can, post_or_404, visible_attachment_versions
from app.routing import MAX_ID
from app.validation import ValidationError

ATTACHMENT = f"/attachments/<int(max={MAX_ID}):attachment_id>"


@bp.route(POST + "/attachments", methods=["POST"])
@csrf.exempt
@login_required
def upload(post_id: int) -> Any:
    post = post_or_404(current_user, post_id, "attach_file")
    try:
        attachment, meta = receive_upload(
            lambda upload: attach_file(current_user, post, upload.filename, upload.chunks, upload.max_bytes),
            check_fields=check_csrf_field,
        )
    except UploadRefused as exc:
        status, errors = exc.status, [exc.message]
        return after_refusal(
            lambda: render_post(post_or_404(current_user, post_id), status=status, upload_errors=errors)
        )
    flash(_("“%(name)s” is attached, encrypted, with the post's marking.", name=meta.filename), "success")
    return redirect(url_for("clusters.post", post_id=post.id, _anchor=f"attachment-{attachment.id}"))


@bp.route(ATTACHMENT + "/audience")
@login_required
def audience(attachment_id: int) -> str:
    """Who can see a file, and why: its post's audience now, narrowed by the marking it was added under."""
    attachment = attachment_or_404(current_user, attachment_id)
    post = attachment.post
    title = attachment.display_name or _stored_name(attachment) or _("A file")
    return render_template(
        "directory/audience.html",
        title=title,
        noun="file",
        tlp=post.tlp,
        law_enforcement_only=post.law_enforcement_only,
        note=_(
            "A file is seen by those who may see its post now and whom the post's marking admitted when it was added."
        ),
        panel=audience_panel(current_user, attachment),
        breadcrumb=[
            (cluster_label(post.cluster), url_for("clusters.show", slug=post.cluster.slug)),
            (post.title, url_for("clusters.post", post_id=post.id)),
            (_("Who can see it"), url_for("attachments.audience", attachment_id=attachment.id)),
        ],
        back_label=_("Back to the post"),
        back_url=url_for("clusters.post", post_id=post.id, _anchor=f"attachment-{attachment.id}"),
    )


@bp.route(ATTACHMENT)
@login_required
def download(attachment_id: int) -> Any:
    attachment = attachment_or_404(current_user, attachment_id)
    return send_stored_file(
        attachment.file,
        actor=current_user,
        target=("attachment", attachment.id),
        action="attachment.download",
        target_org=attachment.post.author_org_id,
        filename=download_name(attachment),
        tlp=attachment.stamp_tlp,
    )


def _stored_name(attachment: Attachment) -> str:
    """The uploaded file's own name ("file" if its key does not open: nothing to keep then)."""
    try:
        return file_meta(attachment.file).filename
    except FileUnavailable:
        return ""


def _render_details(form: AttachmentForm, attachment: Attachment, status: int = 200) -> tuple[str, int]:
    page = render_template(
        "clusters/attachment_form.html",
        form=form,
        attachment=attachment,
        post=attachment.post,
        stored_name=_stored_name(attachment),
    )
    return page, status


@bp.route(ATTACHMENT + "/edit", methods=["GET", "POST"])
@login_required
def edit(attachment_id: int) -> Any:
    """The name a file is shown and downloaded under, and its description (those who may edit the post)."""
    attachment = attachment_or_404(current_user, attachment_id, "attach_file")
    stored_name = _stored_name(attachment)
    if request.method != "POST":
        return _render_details(AttachmentForm.for_attachment(attachment, stored_name), attachment)
    form = AttachmentForm()
    if not form.validate():
        return _render_details(form, attachment, 422)
    try:
        raw = {"display_name": form.display_name.data or "", "description": form.description.data or ""}
        details = parse_attachment_details(raw, details_of(attachment), stored_name)
        edit_attachment_details(current_user, attachment, details, form_version(form.version.data))
    except StaleEdit as exc:
        return stale(
            form,
            exc,
            lambda: attachment_or_404(current_user, attachment_id, "attach_file"),
            lambda current: AttachmentForm.for_attachment(current, stored_name),
            lambda current, status: _render_details(form, current, status),
        )
    except ValidationError as exc:

        def show(exc: ValidationError) -> None:
            for name, message in exc.fields.items():
                getattr(form, name, form.display_name).errors.append(message)

        return refused(form, exc, lambda status: _render_details(form, attachment, status), show=show)
    flash(_("The file's details are saved."), "success")
    return redirect(url_for("clusters.post", post_id=attachment.post_id, _anchor=f"attachment-{attachment.id}"))


@bp.route(ATTACHMENT + "/delete", methods=["GET", "POST"])
@login_required
def delete(attachment_id: int) -> Any:
    """GET asks for confirmation; POST removes the attachment and crypto-shreds its file."""
    attachment = attachment_or_404(current_user, attachment_id, "attach_file")
    post = attachment.post
    try:
        filename: str | None = file_meta(attachment.file).filename
    except FileUnavailable:
        filename = None
    if request.method == "GET":
        name = _("“%(name)s”", name=filename) if filename is not None else _("The file")
        return render_template("clusters/attachment_delete.html", attachment=attachment, post=post, name=name)
    remove_attachment(current_user, attachment)
    if filename is not None:
        flash(_("“%(name)s” is removed and its encrypted copy destroyed.", name=filename), "success")
    else:
        flash(_("The file is removed and its encrypted copy destroyed."), "success")
    return redirect(url_for("clusters.post", post_id=post.id))


# --- versions --------------------------------------------------------------------------------------


def _render_versions(
    attachment: Attachment, status: int = 200, errors: dict[str, str] | None = None
) -> tuple[str, int]:
    post = attachment.post
    found = db.session.scalars(
        sa.select(AttachmentVersion)
        .join(Attachment, Attachment.id == AttachmentVersion.attachment_id)
        .join(Post, Post.id == Attachment.post_id)
        .where(AttachmentVersion.attachment_id == attachment.id, visible_attachment_versions(current_user))
    ).all()
    rows = version_rows(
        found,
        attachment.file_id,
        lambda v: url_for("attachments.download_version", attachment_id=attachment.id, number=v.number),
    )
    title = attachment.display_name or _stored_name(attachment) or _("A file")
    may_add = can(current_user, "attach_file", post)
    return render_template(
        "files/versions.html",
        title=title,
        noun="post",
        place="post",
        rows=rows,
        document_tlp=post.tlp,
        document_le_only=post.law_enforcement_only,
        markings=[t for t in Tlp if t.rank >= post.tlp.rank],
        upload_url=url_for("attachments.upload_version", attachment_id=attachment.id) if may_add else None,
        errors=errors or {},
        values={},
        accept_extensions=",".join(ACCEPT_EXTENSIONS),
        max_upload=human_size(current_app.config["MAX_UPLOAD_BYTES"]),
        breadcrumb=[
            (cluster_label(post.cluster), url_for("clusters.show", slug=post.cluster.slug)),
            (post.title, url_for("clusters.post", post_id=post.id)),
            ("Versions", url_for("attachments.versions", attachment_id=attachment.id)),
        ],
        back_label=_("Back to the post"),
        back_url=url_for("clusters.post", post_id=post.id, _anchor=f"attachment-{attachment.id}"),
    ), status


@bp.route(ATTACHMENT + "/versions")
@login_required
def versions(attachment_id: int) -> Any:
    """The file's versions the member may see; those who may edit the post add a new one."""
    return _render_versions(attachment_or_404(current_user, attachment_id))


@bp.route(ATTACHMENT + "/versions", methods=["POST"])
@csrf.exempt
@login_required
def upload_version(attachment_id: int) -> Any:
    """A new version of the file, which becomes what the post lists and a download sends."""
    attachment = attachment_or_404(current_user, attachment_id, "attach_file")

    def store(upload: Any) -> Any:
        tlp, le_only = parse_version_fields(upload.fields)
        return add_attachment_version(
            current_user, attachment, upload.filename, upload.chunks, upload.max_bytes, tlp, le_only
        )

    try:
        version, meta = receive_upload(store, check_fields=check_csrf_field)
    except UploadRefused as exc:
        status, fields = exc.status, exc.fields or {"file": exc.message}
        return after_refusal(lambda: _render_versions(attachment_or_404(current_user, attachment_id), status, fields))
    flash(
        _(
            "“%(name)s” is version %(number)s, marked %(marking)s.",
            name=meta.filename,
            number=version.number,
            marking=version.effective_tlp.label,
        ),
        "success",
    )
    return redirect(url_for("attachments.versions", attachment_id=attachment_id))


@bp.route(ATTACHMENT + f"/versions/<int(max={MAX_ID}):number>")
@login_required
def download_version(attachment_id: int, number: int) -> Any:
    version = attachment_version_or_404(current_user, attachment_id, number)
    attachment = version.attachment
    return send_stored_file(
        version.file,
        actor=current_user,
        target=("attachment", attachment.id),
        action="attachment.download",
        target_org=attachment.post.author_org_id,
        version=version.number,
        tlp=version.effective_tlp,
    )


# --- previews --------------------------------------------------------------------------------------


@bp.route(ATTACHMENT + "/preview")
@login_required
def preview(attachment_id: int) -> Any:
    """The file shown in the page (PDF, image) or described (anything else); audited as a read."""
    attachment = attachment_or_404(current_user, attachment_id)
    post = attachment.post
    title = attachment.display_name or _stored_name(attachment) or _("A file")
    return preview_page(
        attachment.file,
        actor=current_user,
        target=("attachment", attachment.id),
        action="attachment.preview",
        target_org=post.author_org_id,
        title=title,
        download_url=url_for("attachments.download", attachment_id=attachment.id),
        thumbnail_url=url_for("attachments.thumbnail", attachment_id=attachment.id),
        tlp=post.tlp,
        law_enforcement_only=post.law_enforcement_only,
        breadcrumb=[
            (cluster_label(post.cluster), url_for("clusters.show", slug=post.cluster.slug)),
            (post.title, url_for("clusters.post", post_id=post.id)),
            (_("Preview"), url_for("attachments.preview", attachment_id=attachment.id)),
        ],
        back_label=_("Back to the post"),
        back_url=url_for("clusters.post", post_id=post.id, _anchor=f"attachment-{attachment.id}"),
    )


@bp.route(ATTACHMENT + "/thumbnail.png")
@login_required
def thumbnail(attachment_id: int) -> Any:
    attachment = attachment_or_404(current_user, attachment_id)
    return send_thumbnail(
        attachment.file,
        actor=current_user,
        target=("attachment", attachment.id),
        action="attachment.preview",
        target_org=attachment.post.author_org_id,
    )


@bp.route(POST + "/files.zip")
@login_required
def post_files(post_id: int) -> Any:
    """The post's files the member may see as one signed zip (``app.clusters.post_pack``)."""
    post = post_or_404(current_user, post_id)
    try:
        pack = build_post_pack(current_user, post)
    except PostFilesEmpty:
        return render_template(
            "clusters/post_files_empty.html",
            post=post,
            message=str(POST_FILES_EMPTY),
            back_url=url_for("clusters.post", post_id=post.id),
        ), 404
    return pack_response(pack, current_user._get_current_object())
