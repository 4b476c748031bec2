"""iCalendar (RFC 5545) files of meetings, built with ``icalendar``.

Each meeting is one VEVENT with a UID that never changes (``meeting-<id>@<host of PAX_BASE_URL>``),
so a calendar that imports the file again updates the event instead of duplicating it. Times are
UTC; the marking is in the description, and AMBER and stricter meetings are CLASS:CONFIDENTIAL so
shared calendars show them as busy only. A TLP:RED meeting is for its named participants alone,
and a calendar file ends up on calendar servers and phones: its event says only that a RED
meeting takes place, with the link to the portal, never its title or place. The video-conference
link is in the events of CLEAR and GREEN meetings only (and not law-enforcement-only ones): an
AMBER or stricter meeting's link stays on the portal, where its audience is checked.

The same events make the personal subscription feed (``app.meetings.feeds``), which also tells
its clients how often to read it again (RFC 7986 ``REFRESH-INTERVAL``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import Response, current_app, url_for
from flask_babel import gettext as _

from app.clusters.names import cluster_label
from app.db import utcnow
from app.files.http import content_disposition
from app.markings import Tlp
from app.meetings.models import Meeting

PRODID = "-//European Ports Alliance//PAX meetings//EN"
#: How often a subscribed calendar client is asked to read its feed again.
REFRESH = timedelta(hours=1)


def _host() -> str:
    return urlsplit(current_app.config.get("BASE_URL") or "").hostname or "pax.invalid"


def _event(meeting: Meeting, host: str) -> Any:
    from icalendar import Event

    url = url_for("meetings.show", meeting_id=meeting.id, _external=True)
    event = Event()
    event.add("uid", f"meeting-{meeting.id}@{host}")
    event.add("dtstamp", utcnow())
    event.add("last-modified", meeting.updated_at)
    event.add("dtstart", meeting.starts_at)
    event.add("dtend", meeting.ends_at)
    marking = (
        _("%(tlp)s, law enforcement only", tlp=meeting.tlp.label) if meeting.law_enforcement_only else meeting.tlp.label
    )
    if meeting.tlp is Tlp.RED:
        event.add("summary", _("PAX meeting (%(marking)s)", marking=marking))
        event.add(
            "description",
            "\n".join([_("%(marking)s: title, place and agenda are on the portal only.", marking=marking), url]),
        )
        event.add("url", url)
        event.add("class", "PRIVATE")
        return event
    event.add("summary", meeting.title)
    place = meeting.location
    if meeting.online:
        place = _("%(place)s (and online)", place=place) if place else _("Online")
    event.add("location", place)
    kind = meeting.kind.label + (f", {cluster_label(meeting.cluster)}" if meeting.cluster else "")
    lines = [marking, kind, _("Agenda, documents and meeting pack: %(url)s", url=url)]
    if meeting.video_link and meeting.tlp.rank < Tlp.AMBER.rank and not meeting.law_enforcement_only:
        lines.append(_("Video conference: %(link)s", link=meeting.video_link))
    description = "\n".join(lines)
    event.add("description", description)
    event.add("url", url)
    event.add("class", "CONFIDENTIAL" if meeting.tlp.rank >= Tlp.AMBER.rank else "PUBLIC")
    event.add("categories", [meeting.tlp.label])
    return event


def calendar_bytes(meetings: Iterable[Meeting], name: str, *, subscription: bool = False) -> bytes:
    # icalendar costs every worker 7 MiB once imported; only calendar requests pay it.
    from icalendar import Calendar

    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    if subscription:
        from icalendar import vDuration

        calendar.add("refresh-interval", vDuration(REFRESH), parameters={"VALUE": "DURATION"})
        calendar.add("x-published-ttl", vDuration(REFRESH))
    host = _host()
    for meeting in meetings:
        calendar.add_component(_event(meeting, host))
    return bytes(calendar.to_ical())


def calendar_response(meetings: Iterable[Meeting], name: str, filename: str, *, subscription: bool = False) -> Response:
    response = Response(calendar_bytes(meetings, name, subscription=subscription), mimetype="text/calendar")
    response.headers["Content-Type"] = "text/calendar; charset=utf-8"
    response.headers["Content-Disposition"] = content_disposition(filename)
    response.headers["Cache-Control"] = "private, no-store"
    return response
