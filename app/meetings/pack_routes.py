"""The meeting pack download from the meeting page (``packs.download``); the API has its twin.

Both answer through ``pack_response``: the pack's zip streamed with its length known, one
audit event listing what was in it. A meeting the caller may not see is 404; one whose
documents the caller may see none of answers a page saying so (404), never an empty zip.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, render_template, url_for
from flask_login import current_user, login_required

from app.audit.services import record
from app.files.http import content_disposition
from app.meetings.models import Meeting
from app.meetings.pack import EMPTY_MESSAGE, Pack, PackEmpty, build_pack, pack_body
from app.policy import meeting_or_404

bp = Blueprint("packs", __name__, url_prefix="/meetings")


def pack_response(pack: Pack, actor: Any) -> Response:
    """The pack as a streamed zip download, and its one audit event (committed with the request:
    the event records that the pack was handed out, ids and counts only, never titles or names)."""
    record(
        "meeting.pack_download",
        actor=actor,
        target=("meeting", pack.meeting.id),
        target_org=pack.meeting.author_org_id,
        document_ids=[entry.document.id for entry in pack.entries],
        count=len(pack.entries),
        withheld=pack.withheld,
        bytes=pack.size,
        key_id=pack.key_id,
    )
    response = Response(pack_body(pack), mimetype="application/zip", direct_passthrough=True)
    headers = response.headers
    headers["Content-Length"] = str(pack.size)
    headers["Content-Disposition"] = content_disposition(pack.filename)
    headers["Cache-Control"] = "private, no-store"
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def meeting_url(meeting: Meeting) -> str:
    """Where to go back to: the meeting's page, or the meetings list, whichever the portal has."""
    views = current_app.view_functions
    if "meetings.show" in views:
        return url_for("meetings.show", meeting_id=meeting.id)
    if "meetings.index" in views:
        return url_for("meetings.index")
    return url_for("main.dashboard")


@bp.route("/<int:meeting_id>/pack")
@login_required
def download(meeting_id: int) -> Any:
    meeting = meeting_or_404(current_user, meeting_id)
    try:
        pack = build_pack(current_user, meeting)
    except PackEmpty:
        html = render_template(
            "meetings/pack_empty.html", meeting=meeting, message=EMPTY_MESSAGE, back_url=meeting_url(meeting)
        )
        return html, 404
    return pack_response(pack, current_user._get_current_object())
