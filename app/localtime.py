"""Dates and times as members read them: '5 December 2026', '5 December 2026, 10:00'.

PAX stores UTC. Everything a person reads (pages, mail, meeting packs) is in the reader's time
zone: the one they chose on *Your account*, or Brussels, where the Alliance meets, and in the
reader's language (``app.i18n``): English follows the Commission's style guide (day without a
leading zero, month in words); the other languages follow their CLDR forms through Babel
("5 décembre 2026, 10:00", "5. joulukuuta 2026 10.00"), always on a 24-hour clock.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from babel import dates as babel_dates
from flask_babel import gettext as _

from app.i18n import current_language

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
    language = current_language()
    if language == "en":
        place = zone.key.rsplit("/", 1)[-1].replace("_", " ")
    else:
        place = babel_dates.get_timezone_location(zone, locale=language, return_city=True)
    return _("%(place)s time (%(abbreviation)s)", place=place, abbreviation=moment.astimezone(zone).tzname())


@cache
def _time_pattern(language: str, seconds: bool) -> str:
    """The language's short (or medium) time pattern on a 24-hour clock: ``10:00``, ``10.00``."""
    pattern = babel_dates.get_time_format("medium" if seconds else "short", locale=language).pattern
    if "h" in pattern or "K" in pattern:
        return "HH:mm:ss" if seconds else "HH:mm"
    return pattern


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
    language = current_language()
    if language != "en":
        return babel_dates.format_date(day, "full" if weekday else "long", locale=language)
    text = f"{day.day} {day:%B %Y}"
    return f"{day:%A} {text}" if weekday else text


def format_time(value: datetime, zone: ZoneInfo = DEFAULT_ZONE, seconds: bool = False) -> str:
    language = current_language()
    if language != "en":
        return babel_dates.format_time(local(value, zone), _time_pattern(language, seconds), locale=language)
    return local(value, zone).strftime("%H:%M:%S" if seconds else "%H:%M")


def _date_and_time(day: str, time: str) -> str:
    language = current_language()
    if language == "en":
        return f"{day}, {time}"
    pattern = str(babel_dates.get_datetime_format("medium", locale=language))
    return pattern.replace("'", "").replace("{1}", day).replace("{0}", time)


def format_datetime(
    value: datetime | None, zone: ZoneInfo = DEFAULT_ZONE, *, seconds: bool = False, with_zone: bool = False
) -> str:
    """``5 December 2026, 10:00``; ``with_zone`` adds ``Brussels time (CET)`` where a reader
    could otherwise mistake the clock (mail, packs opened elsewhere)."""
    if value is None:
        return ""
    text = _date_and_time(format_date(value, zone), format_time(value, zone, seconds))
    return f"{text} {zone_label(zone, value)}" if with_zone else text


def format_span(starts: datetime, ends: datetime, zone: ZoneInfo = DEFAULT_ZONE) -> str:
    """``Saturday 5 December 2026, 10:00 to 12:00 Brussels time (CET)``; the end's date when it differs."""
    start, end = local(starts, zone), local(ends, zone)
    begins = _date_and_time(format_date(start, zone, weekday=True), format_time(start, zone))
    clock = zone_label(zone, starts)
    if start.date() == end.date():
        return _("%(start)s to %(end)s %(zone)s", start=begins, end=format_time(end, zone), zone=clock)
    until = _date_and_time(format_date(end, zone, weekday=True), format_time(end, zone))
    return _("%(start)s to %(end)s %(zone)s", start=begins, end=until, zone=clock)
