"""Preview pages and thumbnails over HTTP, for attachments and meeting documents alike.

The caller has loaded the item through the policy (a hidden item is 404 before this runs). A
preview is a read: the page and each thumbnail are audit events naming the item, as downloads
are; a PDF's preview reads the ordinary download, audited (and stamped) as such.
"""

from __future__ import annotations

from typing import Any

from flask import Response, render_template
from flask_babel import gettext as _

from app.audit.services import record
from app.files.models import StoredFile
from app.files.previews import PreviewRefused, check_image, preview_kind, thumbnail
from app.files.services import FileUnavailable, file_meta


def preview_page(
    file: StoredFile,
    *,
    actor: Any,
    target: tuple[str, Any],
    action: str,
    target_org: Any,
    title: str,
    download_url: str | None,
    thumbnail_url: str,
    **page: Any,
) -> tuple[str, int]:
    """The preview page of ``file``: pdf.js for a PDF, a thumbnail for an image, the details and
    a download button for everything else; ``action`` is its audit event."""
    try:
        meta = file_meta(file)
    except FileUnavailable:
        meta = None
    kind = preview_kind(meta) if meta else "metadata"
    problem = None
    if kind == "image" and meta is not None:
        try:
            check_image(file, meta)
        except PreviewRefused as exc:
            problem = str(exc)
        except FileUnavailable:
            problem = _("This file cannot be opened now; the administrators can see why in the audit log.")
    record(action, actor=actor, target=target, target_org=target_org, file_id=file.id, kind=kind)
    html = render_template(
        "files/preview.html",
        file=file,
        meta=meta,
        kind=kind,
        problem=problem,
        title=title,
        download_url=None if file.waiting_for_scan else download_url,
        thumbnail_url=thumbnail_url,
        **page,
    )
    return html, 200


def send_thumbnail(file: StoredFile, *, actor: Any, target: tuple[str, Any], action: str, target_org: Any) -> Any:
    """The image's thumbnail (``app.files.previews.thumbnail``) as a PNG, audited as ``action``;
    a file that is not an image, or one refused as a preview, answers 422 in plain words."""
    meta = file_meta(file)
    if preview_kind(meta) != "image":
        return _refusal(_("This file is not an image, so it has no thumbnail."))
    try:
        png = thumbnail(file, meta)
    except PreviewRefused as exc:
        return _refusal(str(exc))
    record(action, actor=actor, target=target, target_org=target_org, file_id=file.id, kind="thumbnail")
    response = Response(png, mimetype="image/png")
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _refusal(message: str) -> Response:
    response = Response(message + "\n", status=422, mimetype="text/plain")
    response.headers["Cache-Control"] = "private, no-store"
    return response
