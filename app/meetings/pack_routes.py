"""The meeting pack download from the meeting page (``packs.download``); the API has its twin.

Both answer through ``app.meetings.pack.pack_response``: the pack's zip streamed with its length
known, one audit event listing what was in it. A meeting the caller may not see is 404; one whose
documents the caller may see none of answers a page saying so (404), never an empty zip.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, render_template, url_for
from flask_login import current_user, login_required

from app.meetings.blueprint import packs_bp as bp
from app.meetings.models import Meeting
from app.meetings.pack import EMPTY_MESSAGE, PackEmpty, build_pack, pack_response
from app.policy import meeting_or_404


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
