"""Meeting document pages: upload, download, edit the title and marking, reorder, remove.

The upload reads the request body as a stream (``app.files.uploads.receive_upload``) and hands
the form's fields and the file to ``add_form_document``; Flask-WTF's global CSRF check, which
would parse the whole body first, is replaced by ``check_csrf_field`` on the form's token, which
the form sends before the file.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.concurrency import StaleEdit, form_neighbour, form_version
from app.directory.audience import audience_panel
from app.extensions import csrf, db
from app.files.http import send_stored_file
from app.files.preview_http import preview_page, send_thumbnail
from app.files.services import FileUnavailable, file_meta, human_size
from app.files.sniff import ACCEPT_EXTENSIONS
from app.files.uploads import UploadRefused, check_csrf_field, receive_upload
from app.files.versions import parse_version_fields, version_rows
from app.forms import after_refusal, refused, stale
from app.markings import Tlp
from app.meetings import documents
from app.meetings.blueprint import bp
from app.meetings.forms import DocumentForm
from app.meetings.models import Meeting, MeetingDocument, MeetingDocumentVersion
from app.policy import (
    NotAllowed,
    authorize,
    can,
    meeting_document_or_404,
    meeting_document_version_or_404,
    meeting_or_404,
    visible_meeting_document_versions,
)
from app.validation import ValidationError

DOCUMENT = "/documents/<int:document_id>"


def _render_upload(
    meeting: Meeting, status: int = 200, errors: dict[str, str] | None = None, values: dict[str, str] | None = None
) -> tuple[str, int]:
    return render_template(
        "meetings/upload.html",
        meeting=meeting,
        errors=errors or {},
        values=values or {"agenda_item_id": request.args.get("agenda_item_id", "")},
        markings=[t for t in Tlp if t.rank >= meeting.tlp.rank],
        accept_extensions=",".join(ACCEPT_EXTENSIONS),
        max_upload=human_size(current_app.config["MAX_UPLOAD_BYTES"]),
    ), status


@bp.route("/<int:meeting_id>/documents/new", methods=["GET", "POST"])
@csrf.exempt
@login_required
def upload_document(meeting_id: int) -> Any:
    meeting = meeting_or_404(current_user, meeting_id, "add_meeting_document")
    if request.method != "POST":
        return _render_upload(meeting)
    try:
        document, meta = receive_upload(
            lambda upload: documents.add_form_document(
                current_user, meeting, upload.fields, upload.filename, upload.chunks, upload.max_bytes
            ),
            check_fields=check_csrf_field,
        )
    except UploadRefused as exc:
        status, fields = exc.status, exc.fields or {"file": exc.message}
        return after_refusal(lambda: _render_upload(meeting_or_404(current_user, meeting_id), status, fields))
    flash(
        _(
            "“%(filename)s” is added as “%(title)s”, encrypted, marked %(tlp)s.",
            filename=meta.filename,
            title=document.title,
            tlp=document.tlp.label,
        ),
        "success",
    )
    return redirect(url_for("meetings.show", meeting_id=meeting_id, _anchor=f"document-{document.id}"))


@bp.route(DOCUMENT + "/audience")
@login_required
def document_audience(document_id: int) -> str:
    """Who can see a meeting document, and why: its meeting's audience narrowed by its own marking."""
    doc = meeting_document_or_404(current_user, document_id)
    meeting = doc.meeting
    return render_template(
        "directory/audience.html",
        title=doc.title,
        noun="document",
        tlp=doc.tlp,
        law_enforcement_only=doc.law_enforcement_only,
        note=_("A document is seen by those who may see its meeting and whom its own marking admits."),
        panel=audience_panel(current_user, doc),
        breadcrumb=[
            (_("Meetings"), url_for("meetings.index")),
            (meeting.title, url_for("meetings.show", meeting_id=meeting.id)),
            (_("Who can see it"), url_for("meetings.document_audience", document_id=doc.id)),
        ],
        back_label=_("Back to the meeting"),
        back_url=url_for("meetings.show", meeting_id=meeting.id, _anchor=f"document-{doc.id}"),
    )


@bp.route(DOCUMENT)
@login_required
def document(document_id: int) -> Any:
    doc = meeting_document_or_404(current_user, document_id)
    return send_stored_file(
        doc.file,
        actor=current_user,
        target=("meeting_document", doc.id),
        action="meeting.document_download",
        target_org=doc.author_org_id,
        tlp=doc.stamp_tlp,
    )


def _name(doc: MeetingDocument) -> str:
    try:
        return _("“%(filename)s”", filename=file_meta(doc.file).filename)
    except FileUnavailable:
        return _("The file")


@bp.route(DOCUMENT + "/edit", methods=["GET", "POST"])
@login_required
def edit_document(document_id: int) -> Any:
    doc = meeting_document_or_404(current_user, document_id, "remove_meeting_document")
    meeting = doc.meeting
    markings = [t for t in Tlp if t.rank >= meeting.tlp.rank]
    if request.method != "POST":
        form = _document_form(doc)
        return render_template("meetings/document_edit.html", doc=doc, meeting=meeting, form=form, markings=markings)
    form = DocumentForm()

    def render(_found: Any, status: int) -> tuple[str, int]:
        shown = meeting_document_or_404(current_user, document_id, "remove_meeting_document")
        return render_template(
            "meetings/document_edit.html", doc=shown, meeting=shown.meeting, form=form, markings=markings
        ), status

    if not form.validate():
        return render(doc, 422)
    tlp_value = form.tlp.data or ""
    try:
        if tlp_value not in Tlp.values():
            raise ValidationError({"tlp": _("Choose the marking.")})
        documents.edit_document(
            current_user,
            doc,
            form.title.data or "",
            Tlp(tlp_value),
            bool(form.law_enforcement_only.data),
            form_version(form.version.data),
        )
    except StaleEdit as exc:
        return stale(
            form,
            exc,
            lambda: meeting_document_or_404(current_user, document_id, "remove_meeting_document"),
            _document_form,
            render,
        )
    except ValidationError as exc:
        return refused(form, exc, lambda status: render(doc, status), show=lambda exc: _on_fields(form, exc))
    except NotAllowed as exc:
        # The document form has no place above its fields: the reason goes on the marking.
        form.tlp.errors = [*form.tlp.errors, str(exc)]
        return after_refusal(lambda: render(doc, 403))
    flash(_("The document is saved."), "success")
    return redirect(url_for("meetings.show", meeting_id=meeting.id, _anchor=f"document-{doc.id}"))


def _on_fields(form: DocumentForm, exc: ValidationError) -> None:
    """Each message on its field; one for no field of the form on the title."""
    for name, message in exc.fields.items():
        field = getattr(form, name, form.title)
        field.errors = [*field.errors, message]


def _document_form(doc: MeetingDocument) -> DocumentForm:
    data = {
        "title": doc.title,
        "tlp": doc.tlp.value,
        "law_enforcement_only": doc.law_enforcement_only,
        "version": str(doc.version),
    }
    return DocumentForm(formdata=None, data=data)


@bp.route(DOCUMENT + "/move", methods=["POST"])
@login_required
def move_document(document_id: int) -> Any:
    doc = meeting_document_or_404(current_user, document_id)
    authorize(current_user, "edit_meeting", doc.meeting)
    direction = request.form.get("direction", "")
    if direction not in ("up", "down"):
        flash(_("Choose whether to move the document up or down."), "error")
        return redirect(url_for("meetings.show", meeting_id=doc.meeting_id)), 303
    documents.move_document(
        current_user,
        doc,
        direction,
        form_version(request.form.get("version")),
        form_neighbour(request.form.get("neighbour")),
    )
    return redirect(url_for("meetings.show", meeting_id=doc.meeting_id, _anchor=f"document-{doc.id}"))


@bp.route(DOCUMENT + "/delete", methods=["GET", "POST"])
@login_required
def delete_document(document_id: int) -> Any:
    """GET asks for confirmation; POST removes the document and crypto-shreds its file."""
    doc = meeting_document_or_404(current_user, document_id, "remove_meeting_document")
    meeting, name = doc.meeting, _name(doc)
    if request.method == "GET":
        return render_template("meetings/document_delete.html", doc=doc, meeting=meeting, name=name)
    meeting_id = meeting.id
    documents.remove_document(current_user, doc, form_version(request.form.get("version")))
    flash(_("%(name)s is removed and its encrypted copy destroyed.", name=name), "success")
    return redirect(url_for("meetings.show", meeting_id=meeting_id))


# --- versions --------------------------------------------------------------------------------------


def _render_versions(doc: MeetingDocument, status: int = 200, errors: dict[str, str] | None = None) -> tuple[str, int]:
    meeting = doc.meeting
    found = db.session.scalars(
        sa.select(MeetingDocumentVersion)
        .join(MeetingDocument, MeetingDocument.id == MeetingDocumentVersion.document_id)
        .join(Meeting, Meeting.id == MeetingDocument.meeting_id)
        .where(MeetingDocumentVersion.document_id == doc.id, visible_meeting_document_versions(current_user))
    ).all()
    rows = version_rows(
        found, doc.file_id, lambda v: url_for("meetings.download_version", document_id=doc.id, number=v.number)
    )
    may_add = can(current_user, "remove_meeting_document", doc)
    return render_template(
        "files/versions.html",
        title=doc.title,
        noun="document",
        place="meeting and its pack",
        rows=rows,
        document_tlp=doc.tlp,
        document_le_only=doc.law_enforcement_only,
        markings=[t for t in Tlp if t.rank >= doc.tlp.rank],
        upload_url=url_for("meetings.upload_document_version", document_id=doc.id) if may_add else None,
        errors=errors or {},
        values={},
        accept_extensions=",".join(ACCEPT_EXTENSIONS),
        max_upload=human_size(current_app.config["MAX_UPLOAD_BYTES"]),
        breadcrumb=[
            (_("Meetings"), url_for("meetings.index")),
            (meeting.title, url_for("meetings.show", meeting_id=meeting.id)),
            (_("Versions"), url_for("meetings.document_versions", document_id=doc.id)),
        ],
        back_label=_("Back to the meeting"),
        back_url=url_for("meetings.show", meeting_id=meeting.id, _anchor=f"document-{doc.id}"),
    ), status


@bp.route(DOCUMENT + "/versions")
@login_required
def document_versions(document_id: int) -> Any:
    """The document's versions the member may see; those who may change it add a new one."""
    return _render_versions(meeting_document_or_404(current_user, document_id))


@bp.route(DOCUMENT + "/versions", methods=["POST"])
@csrf.exempt
@login_required
def upload_document_version(document_id: int) -> Any:
    """A new version of the document, which becomes what the meeting lists and its pack holds."""
    doc = meeting_document_or_404(current_user, document_id, "remove_meeting_document")

    def store(upload: Any) -> Any:
        tlp, le_only = parse_version_fields(upload.fields)
        return documents.add_document_version(
            current_user, doc, upload.filename, upload.chunks, upload.max_bytes, tlp, le_only
        )

    try:
        version, meta = receive_upload(store, check_fields=check_csrf_field)
    except UploadRefused as exc:
        status, fields = exc.status, exc.fields or {"file": exc.message}
        return after_refusal(
            lambda: _render_versions(meeting_document_or_404(current_user, document_id), status, fields)
        )
    flash(
        _(
            "“%(filename)s” is version %(num)s, marked %(tlp)s.",
            filename=meta.filename,
            num=version.number,
            tlp=version.effective_tlp.label,
        ),
        "success",
    )
    return redirect(url_for("meetings.document_versions", document_id=document_id))


@bp.route(DOCUMENT + "/versions/<int:number>")
@login_required
def download_version(document_id: int, number: int) -> Any:
    version = meeting_document_version_or_404(current_user, document_id, number)
    return send_stored_file(
        version.file,
        actor=current_user,
        target=("meeting_document", document_id),
        action="meeting.document_download",
        target_org=version.document.author_org_id,
        version=version.number,
        tlp=version.effective_tlp,
    )


# --- previews --------------------------------------------------------------------------------------


@bp.route(DOCUMENT + "/preview")
@login_required
def document_preview(document_id: int) -> Any:
    """The document shown in the page (PDF, image) or described (anything else); audited as a read."""
    doc = meeting_document_or_404(current_user, document_id)
    meeting = doc.meeting
    return preview_page(
        doc.file,
        actor=current_user,
        target=("meeting_document", doc.id),
        action="meeting.document_preview",
        target_org=doc.author_org_id,
        title=doc.title,
        download_url=url_for("meetings.document", document_id=doc.id),
        thumbnail_url=url_for("meetings.document_thumbnail", document_id=doc.id),
        tlp=doc.tlp,
        law_enforcement_only=doc.law_enforcement_only,
        breadcrumb=[
            (_("Meetings"), url_for("meetings.index")),
            (meeting.title, url_for("meetings.show", meeting_id=meeting.id)),
            (_("Preview"), url_for("meetings.document_preview", document_id=doc.id)),
        ],
        back_label=_("Back to the meeting"),
        back_url=url_for("meetings.show", meeting_id=meeting.id, _anchor=f"document-{doc.id}"),
    )


@bp.route(DOCUMENT + "/thumbnail.png")
@login_required
def document_thumbnail(document_id: int) -> Any:
    doc = meeting_document_or_404(current_user, document_id)
    return send_thumbnail(
        doc.file,
        actor=current_user,
        target=("meeting_document", doc.id),
        action="meeting.document_preview",
        target_org=doc.author_org_id,
    )
