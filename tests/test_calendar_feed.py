"""Personal calendar subscription feeds: a calendar client with no session reads the member's
meetings from a secret address; rotating or revoking it ends it at once; reads are audited and
rate limited; the feed is valid RFC 5545 (parsed with ``icalendar``) and follows the marking
rules of calendar files (a RED meeting's entry names nothing; AMBER video links stay out)."""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from icalendar import Calendar

from app.extensions import db
from tests.conftest import csrf_token_from
from tests.test_meetings import schedule


def _new_address(client: Any) -> str:
    page = client.get("/meetings/subscription").get_data(as_text=True)
    response = client.post("/meetings/subscription", data={"csrf_token": csrf_token_from(page), "action": "new"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    found = re.search(r'value="(http[^"]+/meetings/feed/[^"]+\.ics)"', html)
    assert found, "the new address is shown once"
    return found.group(1)


def _path(address: str) -> str:
    return address[address.index("/meetings/feed/") :]


def _check_rfc5545(calendar: Calendar) -> None:
    """The properties RFC 5545 requires (3.6, 3.6.1, 3.8.2.2): VCALENDAR has exactly one PRODID
    and VERSION 2.0; each VEVENT has exactly one UID and DTSTAMP, a DTSTART (METHOD is present),
    and not both DTEND and DURATION; DTEND is after DTSTART."""
    assert calendar.name == "VCALENDAR"
    assert str(calendar["VERSION"]) == "2.0" and str(calendar["PRODID"])
    for event in calendar.walk("VEVENT"):
        for required in ("UID", "DTSTAMP", "DTSTART"):
            assert required in event and not isinstance(event[required], list), required
        assert not ("DTEND" in event and "DURATION" in event)
        assert event.decoded("DTEND") >= event.decoded("DTSTART")
    assert not getattr(calendar, "errors", None)


def test_a_calendar_client_without_a_session_reads_the_feed(app, make, new_client):
    from app.audit.models import AuditEvent

    coordinator = make.user(clusters={"policy": "coordinator"})
    member = make.user(clusters={"policy": "reader"})
    green = schedule(coordinator, title="Green policy meeting", video_link="https://video.example.eu/j/1")
    amber = schedule(coordinator, title="Amber policy meeting", tlp="AMBER", video_link="https://video.example.eu/j/2")
    red = schedule(
        coordinator, title="Red meeting on an insider", location="Room 7, Rotterdam", tlp="RED",
        recipient_users=[member.email],
    )  # fmt: skip
    hidden = schedule(coordinator, title="Strict meeting", tlp="AMBER+STRICT")
    address = _new_address(new_client(member))

    calendar_app = app.test_client()  # Outlook, Google: no cookie, no sign-in
    response = calendar_app.get(_path(address))
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    assert "Set-Cookie" not in response.headers
    assert response.headers["Cache-Control"] == "private, no-store"
    calendar = Calendar.from_ical(response.data)
    _check_rfc5545(calendar)
    assert "REFRESH-INTERVAL" in calendar  # RFC 7986: how often a subscribed client reads again
    events = {str(e["UID"]).split("@")[0]: e for e in calendar.walk("VEVENT")}
    assert set(events) == {f"meeting-{m.id}" for m in (green, amber, red)}  # never the strict one
    assert f"meeting-{hidden.id}" not in events
    assert str(events[f"meeting-{green.id}"]["SUMMARY"]) == "Green policy meeting"
    assert "https://video.example.eu/j/1" in str(events[f"meeting-{green.id}"]["DESCRIPTION"])
    assert b"https://video.example.eu/j/2" not in response.data  # AMBER: the link stays on the portal
    red_event = events[f"meeting-{red.id}"]
    assert b"insider" not in response.data and b"Rotterdam" not in response.data
    assert "LOCATION" not in red_event and str(red_event["CLASS"]) == "PRIVATE"
    assert "TLP:RED" in str(red_event["SUMMARY"])

    # Each read is audited, with how many meetings it held and never a title.
    event = db.session.scalar(
        sa.select(AuditEvent).where(AuditEvent.action == "calendar_feed.read").order_by(AuditEvent.id.desc())
    )
    assert event is not None and event.actor_id == member.id
    assert "policy meeting" not in str(event.details)


def test_revoking_or_rotating_the_address_ends_it_at_once(app, make, new_client):
    member = make.user()
    client = new_client(member)
    first = _new_address(client)
    reader = app.test_client()
    assert reader.get(_path(first)).status_code == 200
    second = _new_address(client)
    assert second != first
    assert reader.get(_path(first)).status_code == 404
    assert reader.get(_path(second)).status_code == 200
    page = client.get("/meetings/subscription").get_data(as_text=True)
    assert "last read by a calendar" in page
    assert second not in page  # shown once, never again
    revoked = client.post("/meetings/subscription", data={"csrf_token": csrf_token_from(page), "action": "revoke"})
    assert revoked.status_code == 302
    assert reader.get(_path(second)).status_code == 404
    assert reader.get("/meetings/feed/" + "x" * 500 + ".ics").status_code == 404
    assert reader.get("/meetings/feed/%00.ics").status_code == 404


def test_the_address_is_stored_hashed_and_dies_with_the_account(app, make, new_client):
    from app.auth.models import User, UserStatus
    from app.meetings.models import CalendarFeed

    member = make.user()
    address = _new_address(new_client(member))
    secret = _path(address).removeprefix("/meetings/feed/").removesuffix(".ics")
    stored = db.session.scalar(sa.select(CalendarFeed.token_hash).where(CalendarFeed.user_id == member.id))
    assert stored and secret not in stored and len(stored) == 64
    # The member's data export says they have an address, and never holds the secret.
    from app.privacy.export import personal_data

    exported = personal_data(member)
    assert exported["calendar_subscription"]["created_at"] and secret not in str(exported)
    db.session.execute(sa.update(User).where(User.id == member.id).values(status=UserStatus.SUSPENDED))
    db.session.commit()
    assert app.test_client().get(_path(address)).status_code == 404


def test_reads_are_rate_limited_per_address(config_factory):
    from app import create_app
    from tests.conftest import Factory

    limited = create_app(config_factory(RATELIMIT_ENABLED=True, CALENDAR_FEED_LIMIT="3 per minute"))
    with limited.app_context():
        from app.meetings.feeds import issue_feed

        member = Factory().user()
        secret = issue_feed(member)
        db.session.commit()
    reader = limited.test_client()
    answers = [reader.get(f"/meetings/feed/{secret}.ics").status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]
