"""Dates and times as members read them (issue 21, item 7): Brussels time unless a member chose
another zone, the same on the page, in the pack's index, in the calendar file and in mail, in
winter and in summer; dates written '5 December 2026'."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from icalendar import Calendar

from app.extensions import db
from app.localtime import format_date, format_datetime
from app.markings import Tlp
from app.notifications.models import OutboxMessage
from app.notifications.services import notify
from tests.conftest import csrf_token_from
from tests.test_packs import open_zip, world  # noqa: F401  (the packs' meeting and its members)

BRUSSELS = ZoneInfo("Europe/Brussels")
#: 10:00 to 12:00 Brussels time: 09:00 UTC in winter (CET), 08:00 UTC in summer (CEST).
SEASONS = {
    "winter": (datetime(2026, 12, 5, 9, tzinfo=UTC), "Saturday 5 December 2026, 10:00 to 12:00", "CET"),
    "summer": (datetime(2027, 6, 5, 8, tzinfo=UTC), "Saturday 5 June 2027, 10:00 to 12:00", "CEST"),
}


def at_ten(world: Any, season: str) -> Any:  # noqa: F811
    starts, _, _ = SEASONS[season]
    meeting = world.meeting
    meeting.starts_at, meeting.ends_at = starts, starts.replace(hour=starts.hour + 2)
    db.session.commit()
    return meeting


def pack_index(client: Any, meeting: Any) -> str:
    return open_zip(client.get(f"/meetings/{meeting.id}/pack")).read("index.html").decode()


@pytest.mark.parametrize("season", SEASONS)
def test_a_meeting_at_ten_brussels_time_reads_ten_everywhere(world, new_client, season) -> None:  # noqa: F811
    meeting = at_ten(world, season)
    _, words, abbreviation = SEASONS[season]
    expected = f"{words} Brussels time ({abbreviation})"
    client = new_client(world.member)

    assert expected in client.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert expected in pack_index(client, meeting)
    event = Calendar.from_ical(client.get(f"/meetings/{meeting.id}/meeting.ics").data).walk("VEVENT")[0]
    # RFC 5545 UTC form ("...T090000Z"), which every calendar converts to the reader's clock.
    assert event["DTSTART"].to_ical().endswith(b"Z")
    assert event["DTSTART"].dt.astimezone(BRUSSELS).strftime("%H:%M") == "10:00"
    assert event["DTEND"].dt.astimezone(BRUSSELS).strftime("%H:%M") == "12:00"

    notify(world.member, "meeting.invitation", target=("meeting", meeting.id), tlp=meeting.tlp)
    mail = db.session.scalar(sa.select(OutboxMessage).where(OutboxMessage.user_id == world.member.id))
    assert f"When: {expected}" in mail.body


@pytest.mark.parametrize("season", SEASONS)
def test_a_member_in_lisbon_reads_nine_on_the_page_in_the_pack_and_in_mail(world, new_client, season) -> None:  # noqa: F811
    meeting = at_ten(world, season)
    world.member.time_zone = "Europe/Lisbon"
    db.session.commit()
    abbreviation = {"winter": "WET", "summer": "WEST"}[season]
    expected = SEASONS[season][1].replace("10:00 to 12:00", "09:00 to 11:00") + f" Lisbon time ({abbreviation})"
    client = new_client(world.member)

    assert expected in client.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert expected in pack_index(client, meeting)
    notify(world.member, "meeting.invitation", target=("meeting", meeting.id), tlp=meeting.tlp)
    mail = db.session.scalar(sa.select(OutboxMessage).where(OutboxMessage.user_id == world.member.id))
    assert expected in mail.body
    # Someone else still reads Brussels time.
    assert "10:00 to 12:00 Brussels time" in new_client(world.outsider).get(f"/meetings/{meeting.id}").get_data(
        as_text=True
    )


def test_a_red_meetings_mail_does_not_say_when(world) -> None:  # noqa: F811
    """The mail of a RED meeting says no more than its calendar event does: that it exists."""
    meeting = at_ten(world, "winter")
    meeting.tlp = Tlp.RED
    db.session.commit()
    notify(world.named, "meeting.invitation", target=("meeting", meeting.id), tlp=meeting.tlp)
    mail = db.session.scalar(sa.select(OutboxMessage).where(OutboxMessage.user_id == world.named.id))
    assert "When:" not in mail.body and "10:00" not in mail.body


def test_dates_have_no_leading_zero_and_times_are_brussels_by_default() -> None:
    winter = datetime(2026, 12, 5, 9, 5, tzinfo=UTC)
    assert format_date(winter) == "5 December 2026"
    assert format_datetime(winter) == "5 December 2026, 10:05"
    assert format_datetime(datetime(2027, 7, 1, 22, 30, tzinfo=UTC)) == "2 July 2027, 00:30"  # the Brussels day
    assert format_date(date(2026, 12, 5), ZoneInfo("Pacific/Auckland")) == "5 December 2026"  # an incident's day stays
    assert (
        format_datetime(winter, ZoneInfo("Europe/Lisbon"), with_zone=True) == "5 December 2026, 09:05 Lisbon time (WET)"
    )


def test_a_post_page_shows_its_publication_in_the_readers_zone(make, new_client) -> None:
    from tests.test_posts_pages import publish

    author = make.user(clusters={"policy": "contributor"})
    post = publish(author)
    post.created_at = datetime(2026, 12, 5, 22, 13, tzinfo=UTC)
    lisbon = make.user(clusters={"policy": "reader"})
    lisbon.time_zone = "Europe/Lisbon"
    db.session.commit()
    assert "5 December 2026, 23:13" in new_client(author).get(f"/posts/{post.id}").get_data(as_text=True)
    assert "5 December 2026, 22:13" in new_client(lisbon).get(f"/posts/{post.id}").get_data(as_text=True)
    assert "UTC" not in new_client(author).get(f"/posts/{post.id}").get_data(as_text=True)


def test_a_member_chooses_a_time_zone_and_a_wrong_one_is_refused_in_words(make, new_client) -> None:
    member = make.user()
    client = new_client(member)
    page = client.get("/account/").get_data(as_text=True)
    assert 'value="Europe/Lisbon"' in page and "Brussels time (Europe/Brussels, the default)" in page
    refused = client.post("/account/time-zone", data={"csrf_token": csrf_token_from(page), "time_zone": "Mars/Olympus"})
    assert refused.status_code == 422
    assert "Choose a time zone from the list" in refused.get_data(as_text=True)
    assert member.time_zone is None
    saved = client.post("/account/time-zone", data={"csrf_token": csrf_token_from(page), "time_zone": "Europe/Lisbon"})
    assert saved.status_code == 302
    db.session.refresh(member)
    assert member.time_zone == "Europe/Lisbon"
    client.post("/account/time-zone", data={"csrf_token": csrf_token_from(page), "time_zone": ""})
    db.session.refresh(member)
    assert member.time_zone is None


@pytest.mark.parametrize("season", SEASONS)
def test_an_agenda_items_time_reads_the_same_on_the_page_and_in_the_pack(world, new_client, season) -> None:  # noqa: F811
    """An agenda item at 10:30 Brussels time, 45 minutes, with its speakers: the pack's index
    says so as the meeting page does."""
    from datetime import timedelta

    meeting = at_ten(world, season)
    item = meeting.agenda[0]
    item.starts_at, item.duration_minutes, item.speakers = meeting.starts_at + timedelta(minutes=30), 45, "M. Borg"
    db.session.commit()
    client = new_client(world.member)
    assert "10:30" in client.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    index = pack_index(client, meeting)
    assert "10:30, 45 minutes. Speakers: M. Borg" in " ".join(index.split())
