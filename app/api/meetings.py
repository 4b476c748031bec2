"""Meetings over the API: list, schedule, read (with agenda and documents), change, delete, and
their documents: upload (multipart, streamed into encryption), download, delete.

Views only translate: the policy loads and authorises (``meeting_or_404``: hidden is 404,
visible but not the caller's to change is 403), ``parse_meeting`` validates, the services write.
Any error raises, which rolls the request's transaction back.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from typing import Any

from flask import Response, jsonify, request, url_for

from app.api.auth import api_user, token_required
from app.api.blueprint import bp
from app.api.inputs import cluster_id_from_slug, id_or_404, json_object, pagination, raise_if
from app.api.meetings_openapi import register
from app.api.serializers import page_json, timestamp
from app.audit.services import record_view
from app.errors import ApiError
from app.etags import check_if_match, etag, with_etag
from app.extensions import db
from app.files.http import send_stored_file
from app.files.uploads import UploadRefused
from app.meetings import documents, services
from app.meetings.models import Meeting, MeetingDocument, MeetingKind
from app.meetings.queries import DocumentRow, MeetingFilter, document_rows, meeting_page
from app.meetings.validation import MeetingInput, parse_meeting
from app.policy import NotAllowed, can, meeting_document_or_404, meeting_or_404
from app.validation import ValidationError

INVALID_MEETING = "The meeting is not valid; see fields."
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


# --- what the API answers ----------------------------------------------------------------------------


def meeting_summary_json(meeting: Meeting) -> dict[str, Any]:
    organisation = meeting.author_org.name
    return {
        "id": meeting.id,
        "kind": meeting.kind.value,
        "cluster": meeting.cluster.slug if meeting.cluster else None,
        "title": meeting.title,
        "starts_at": timestamp(meeting.starts_at),
        "ends_at": timestamp(meeting.ends_at),
        "location": meeting.location,
        "online": meeting.online,
        "tlp": meeting.tlp.value,
        "law_enforcement_only": meeting.law_enforcement_only,
        "organiser": {"name": meeting.author.name, "organisation": organisation} if meeting.author else None,
        "organisation": organisation,
        "recipient_orgs": sorted(r.organisation.name for r in meeting.recipient_orgs),
        "recipient_users": sorted(r.user.email for r in meeting.recipient_users),
        "created_at": timestamp(meeting.created_at),
        "updated_at": timestamp(meeting.updated_at),
        "url": f"/meetings/{meeting.id}",
        "calendar_url": f"/meetings/{meeting.id}/meeting.ics",
    }


def document_json(row: DocumentRow) -> dict[str, Any]:
    """A document's description; ``filename`` and the rest are null if its key does not open."""
    document, meta = row.document, row.meta
    return {
        "id": document.id,
        "meeting_id": document.meeting_id,
        "agenda_item_id": document.agenda_item_id,
        "position": document.position,
        "title": document.title,
        "tlp": document.tlp.value,
        "law_enforcement_only": document.law_enforcement_only,
        "filename": meta.filename if meta else None,
        "size": document.file.size,
        "media_type": meta.media_type if meta else None,
        "sha256": meta.sha256 if meta else None,
        "created_at": timestamp(document.created_at),
        "url": url_for("api.download_meeting_document", document_id=document.id, _external=True),
    }


def meeting_json(user: Any, meeting: Meeting) -> dict[str, Any]:
    """A whole meeting as ``GET /meetings/{id}`` answers it: the caller's visible documents only."""
    data = meeting_summary_json(meeting)
    data.update(
        {
            "agenda": [
                {"id": item.id, "position": item.position, "title": item.title, "notes": item.notes}
                for item in meeting.agenda
            ],
            "documents": [document_json(row) for row in document_rows(user, meeting)],
            "minutes": meeting.minutes,
            "minutes_html": meeting.minutes_html,
        }
    )
    return data


def meeting_to_input(meeting: Meeting) -> MeetingInput:
    """The stored meeting as the input that would recreate it (the base of a PATCH)."""
    return MeetingInput(
        title=meeting.title,
        kind=meeting.kind,
        cluster=meeting.cluster.slug if meeting.cluster else None,
        starts_at=meeting.starts_at,
        ends_at=meeting.ends_at,
        location=meeting.location,
        online=meeting.online,
        tlp=meeting.tlp,
        law_enforcement_only=meeting.law_enforcement_only,
        recipient_orgs=sorted(r.organisation.name for r in meeting.recipient_orgs),
        recipient_users=sorted(r.user.email for r in meeting.recipient_users),
    )


# --- meetings ----------------------------------------------------------------------------------------


def _instant(name: str, errors: dict[str, str], end_of_day: bool) -> datetime | None:
    """``from``/``to``: a date (the whole UTC day) or an ISO 8601 date and time with its offset."""
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return None
    try:
        if _DATE.fullmatch(raw):
            day = datetime.combine(datetime.fromisoformat(raw).date(), time(0), UTC)
            return day + timedelta(days=1, microseconds=-1) if end_of_day else day
        value = datetime.fromisoformat(raw.replace(" ", "+")) if len(raw) <= 40 else None
    except ValueError:
        value = None
    if value is None or value.tzinfo is None or not 2000 <= value.year <= 2100:
        errors[name] = "Give a date (YYYY-MM-DD) or a date and time with its offset, e.g. 2026-12-01T09:00:00+01:00."
        return None
    return value.astimezone(UTC)


@bp.get("/meetings")
@token_required("read")
def list_meetings() -> Response:
    """Visible meetings by start, earliest first; ``from``/``to`` bound the start."""
    errors: dict[str, str] = {}
    page, per_page = pagination(errors)
    filters = MeetingFilter(starts_from=_instant("from", errors, False), starts_to=_instant("to", errors, True))
    if cluster := request.args.get("cluster"):
        filters.cluster_id = cluster_id_from_slug(cluster, errors)
    if kind := request.args.get("kind"):
        if kind in MeetingKind.values():
            filters.kind = MeetingKind(kind)
        else:
            errors["kind"] = f"Choose one of: {', '.join(MeetingKind.values())}."
    raise_if(errors)
    result = meeting_page(api_user(), filters, page, per_page)
    return jsonify(page_json(result, [meeting_summary_json(m) for m in result.items]))


def _validated(raw: dict[str, Any], partial_of: MeetingInput | None = None) -> MeetingInput:
    try:
        return parse_meeting(raw, partial_of=partial_of)
    except ValidationError as exc:
        raise ApiError(422, INVALID_MEETING, exc.fields) from None


@bp.post("/meetings")
@token_required("write")
def create_meeting() -> tuple[Response, int, dict[str, str]]:
    user = api_user()
    if not can(user, "open_meeting_form"):
        raise ApiError(403, "Only curators and cluster coordinators schedule meetings.")
    data = _validated(json_object())
    try:
        meeting = services.schedule_meeting(user, data)
    except ValidationError as exc:
        raise ApiError(422, INVALID_MEETING, exc.fields) from None
    except NotAllowed as exc:
        raise ApiError(403, str(exc)) from None
    headers = {"Location": url_for("api.get_meeting", meeting_id=meeting.id), "ETag": etag(meeting, _shown(meeting))}
    return jsonify(meeting_json(user, meeting)), 201, headers


@bp.get("/meetings/<meeting_id>")
@token_required("read")
def get_meeting(meeting_id: str) -> Response:
    user = api_user()
    meeting = meeting_or_404(user, id_or_404(meeting_id))
    record_view(user, "meeting", meeting, via="api")
    return with_etag(jsonify(meeting_json(user, meeting)), meeting, _shown(meeting))


def _shown(meeting: Meeting) -> list[tuple[int, int, int]]:
    """What a meeting's ETag covers besides the meeting: its agenda items (id, version, position)."""
    return [(item.id, item.version, item.position) for item in meeting.agenda]


@bp.patch("/meetings/<meeting_id>")
@token_required("write")
def update_meeting(meeting_id: str) -> Response:
    """Change the fields sent; the others keep their values. ``agenda`` replaces the whole agenda."""
    user = api_user()
    meeting = meeting_or_404(user, id_or_404(meeting_id), need="edit_meeting")
    check_if_match(meeting, _shown(meeting))
    data = _validated(json_object(), partial_of=meeting_to_input(meeting))
    try:
        services.update_meeting(user, meeting, data)
    except ValidationError as exc:
        raise ApiError(422, INVALID_MEETING, exc.fields) from None
    except NotAllowed as exc:
        raise ApiError(403, str(exc)) from None
    db.session.flush()
    db.session.expire(meeting, ["agenda"])
    return with_etag(jsonify(meeting_json(user, meeting)), meeting, _shown(meeting))


@bp.delete("/meetings/<meeting_id>")
@token_required("write")
def delete_meeting(meeting_id: str) -> Response:
    user = api_user()
    meeting = meeting_or_404(user, id_or_404(meeting_id), need="delete_meeting")
    check_if_match(meeting, _shown(meeting))
    try:
        services.delete_meeting(user, meeting)
    except NotAllowed as exc:
        raise ApiError(403, str(exc)) from None
    return Response(status=204)


# --- documents ---------------------------------------------------------------------------------------


@bp.post("/meetings/<meeting_id>/documents")
@token_required("write")
def upload_meeting_document(meeting_id: str) -> tuple[Response, int, dict[str, str]]:
    user = api_user()
    meeting = meeting_or_404(user, id_or_404(meeting_id), need="add_meeting_document")
    try:
        document, meta = documents.upload_document(user, meeting)
    except documents.FieldRefused as exc:
        raise ApiError(422, "The document is not valid; see fields.", exc.fields) from None
    except UploadRefused as exc:
        fields = {} if exc.status in (403, 503, 507) else {"file": exc.message}
        raise ApiError(exc.status, exc.message, fields) from None
    location = url_for("api.download_meeting_document", document_id=document.id)
    return jsonify(document_json(DocumentRow(document, meta))), 201, {"Location": location}


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
    )


@bp.delete("/meeting-documents/<document_id>")
@token_required("write")
def delete_meeting_document(document_id: str) -> Response:
    user = api_user()
    document = meeting_document_or_404(user, id_or_404(document_id), need="remove_meeting_document")
    check_if_match(document)
    try:
        documents.remove_document(user, document)
    except NotAllowed as exc:
        raise ApiError(403, str(exc)) from None
    return Response(status=204)


register()
