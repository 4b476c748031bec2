"""Dates and times as members read them: '5 December 2026', '5 December 2026, 10:00'.

PAX stores UTC. Everything a person reads (pages, mail, meeting packs) is in the reader's time
zone: the one they chose on *Your account*, or Brussels, where the Alliance meets. Dates follow
the Commission's style guide: day without a leading zero, month in words.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

DEFAULT_ZONE_NAME = "Europe/Brussels"
DEFAULT_ZONE = ZoneInfo(DEFAULT_ZONE_NAME)


@cache
def zone_names() -> tuple[str, ...]:
    """The zones a member may choose: named places (``Europe/Lisbon``), not aliases such as
    ``Etc/GMT+1`` or ``posixrules`` whose meaning people misread."""
    return tuple(
        sorted(n for n in available_timezones() if "/" in n and n.split("/")[0] not in ("Etc", "posix", "right"))
    )


def valid_zone_name(name: str | None) -> bool:
    return bool(name) and name in zone_names()


def zone_of(user: Any) -> ZoneInfo:
    """``user``'s chosen zone; Brussels for anyone who chose none (or an anonymous visitor).
    A name the system no longer knows falls back to Brussels rather than failing a page."""
    name = getattr(user, "time_zone", None)
    if not name:
        return DEFAULT_ZONE
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return DEFAULT_ZONE


def zone_label(zone: ZoneInfo, moment: datetime) -> str:
    """``Brussels time (CET)``, ``Lisbon time (WET)``: which clock a time was written in."""
    place = zone.key.rsplit("/", 1)[-1].replace("_", " ")
    return f"{place} time ({moment.astimezone(zone).tzname()})"


def local(value: datetime, zone: ZoneInfo) -> datetime:
    # PAX keeps every instant in UTC (``app.db.UTCDateTime``), so a naive one can only be UTC.
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo("UTC"))
    return value.astimezone(zone)


def format_date(value: date | datetime | None, zone: ZoneInfo = DEFAULT_ZONE, weekday: bool = False) -> str:
    """``5 December 2026`` (``Saturday 5 December 2026`` with ``weekday``); a plain date, such as
    an incident's, is written as it is, with no zone applied."""
    if value is None:
        return ""
    day = local(value, zone) if isinstance(value, datetime) else value
    text = f"{day.day} {day:%B %Y}"
    return f"{day:%A} {text}" if weekday else text


def format_time(value: datetime, zone: ZoneInfo = DEFAULT_ZONE, seconds: bool = False) -> str:
    return local(value, zone).strftime("%H:%M:%S" if seconds else "%H:%M")


def format_datetime(
    value: datetime | None, zone: ZoneInfo = DEFAULT_ZONE, *, seconds: bool = False, with_zone: bool = False
) -> str:
    """``5 December 2026, 10:00``; ``with_zone`` adds ``Brussels time (CET)`` where a reader
    could otherwise mistake the clock (mail, packs opened elsewhere)."""
    if value is None:
        return ""
    text = f"{format_date(value, zone)}, {format_time(value, zone, seconds)}"
    return f"{text} {zone_label(zone, value)}" if with_zone else text


def format_span(starts: datetime, ends: datetime, zone: ZoneInfo = DEFAULT_ZONE) -> str:
    """``Saturday 5 December 2026, 10:00 to 12:00 Brussels time (CET)``; the end's date when it differs."""
    start, end = local(starts, zone), local(ends, zone)
    until = (
        format_time(end, zone)
        if start.date() == end.date()
        else f"{format_date(end, zone, weekday=True)}, {format_time(end, zone)}"
    )
    return f"{format_date(start, zone, weekday=True)}, {format_time(start, zone)} to {until} {zone_label(zone, starts)}"
