"""Checking what is submitted as a meeting, for the pages and the API alike.

``parse_meeting`` takes plain data (decoded JSON, or the meeting form turned into the same shape)
and returns a ``MeetingInput`` or raises ``ValidationError`` with one message per field. The API
sends ``starts_at``/``ends_at`` as ISO 8601 with an offset and is refused without one; the pages
send the date and time a person typed, read as Brussels time (``local_zone=BRUSSELS``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from babel.dates import format_date
from flask_babel import get_locale
from flask_babel import gettext as _

from app import parsers
from app.clusters.validation import MAX_RECIPIENTS
from app.markings import Tlp
from app.meetings.models import MeetingKind
from app.validation import ValidationError, text_problem, unsafe_text_errors

#: Meetings of the Alliance are scheduled, shown and exported in Brussels time.
BRUSSELS = ZoneInfo("Europe/Brussels")
MAX_TITLE = 200
MAX_LOCATION = 300
MAX_MINUTES = 100_000
MAX_AGENDA = 50
MAX_AGENDA_NOTES = 2_000
#: Longer than this is a typo in a date, not a meeting.
MAX_DURATION = timedelta(days=31)
EARLIEST_YEAR, LATEST_YEAR = 2000, 2100

MEETING_FIELDS = {
    "title", "kind", "cluster", "starts_at", "ends_at", "location", "online", "tlp", "law_enforcement_only",
    "recipient_orgs", "recipient_users", "agenda", "minutes", "video_link",
}  # fmt: skip
MAX_VIDEO_LINK = 500
MAX_SPEAKERS = 300
#: An agenda item lasts at most this many minutes (a day).
MAX_ITEM_MINUTES = 24 * 60


@dataclass
class AgendaEntry:
    title: str
    notes: str = ""
    #: UTC; None: not timed.
    starts_at: datetime | None = None
    duration_minutes: int | None = None
    speakers: str = ""


@dataclass
class MeetingInput:
    title: str
    kind: MeetingKind
    #: The cluster's slug for a technical meeting, None otherwise.
    cluster: str | None
    starts_at: datetime
    ends_at: datetime
    location: str
    online: bool
    tlp: Tlp
    law_enforcement_only: bool = False
    recipient_orgs: list[str] = field(default_factory=list)
    recipient_users: list[str] = field(default_factory=list)
    #: None when not sent (the agenda is left as it is); a list replaces it.
    agenda: list[AgendaEntry] | None = None
    #: None when not sent; Markdown otherwise.
    minutes: str | None = None
    #: The video-conference address (https), or "".
    video_link: str = ""


def parse_when(value: Any, name: str, errors: dict[str, str], local_zone: ZoneInfo | None) -> datetime | None:
    """An aware UTC datetime from ISO 8601 text.

    Without ``local_zone`` the text must carry its offset (``2026-12-01T09:30:00+01:00``); with it,
    the text is a wall-clock time in that zone (a time skipped when the clocks go forward is refused).
    """
    start = name == "starts_at"
    if value is None or value == "":
        errors[name] = _("Enter the start date and time.") if start else _("Enter the end date and time.")
        return None
    if not isinstance(value, str) or len(value) > 40:
        errors[name] = (
            _("Give the start as ISO 8601 text, e.g. 2026-12-01T09:30:00+01:00.")
            if start
            else _("Give the end as ISO 8601 text, e.g. 2026-12-01T09:30:00+01:00.")
        )
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        if local_zone is not None:
            errors[name] = (
                _("Enter the start date as YYYY-MM-DD and the time as HH:MM.")
                if start
                else _("Enter the end date as YYYY-MM-DD and the time as HH:MM.")
            )
        else:
            errors[name] = _(
                "%(value)s is not an ISO 8601 date and time, e.g. 2026-12-01T09:30:00+01:00.", value=repr(value[:40])
            )
        return None
    if parsed.tzinfo is None:
        if local_zone is None:
            errors[name] = (
                _("Give the start with its UTC offset, e.g. 2026-12-01T09:30:00+01:00 or ...Z.")
                if start
                else _("Give the end with its UTC offset, e.g. 2026-12-01T09:30:00+01:00 or ...Z.")
            )
            return None
        parsed = parsed.replace(tzinfo=local_zone)
        # A wall-clock time that does not exist (clocks go forward) does not survive the round trip.
        if parsed.astimezone(UTC).astimezone(local_zone).replace(tzinfo=None) != parsed.replace(tzinfo=None):
            locale = get_locale()
            # English keeps "28 March 2026"; other languages write the date as they write a long date.
            pattern = "d MMMM y" if locale is None or locale.language == "en" else "long"
            day = format_date(parsed.date(), pattern, locale=locale or "en")
            errors[name] = _(
                "%(time)s does not exist in Brussels on %(day)s: the clocks go forward.",
                time=parsed.strftime("%H:%M"),
                day=day,
            )
            return None
    if not EARLIEST_YEAR <= parsed.year <= LATEST_YEAR:
        errors[name] = (
            _("Give a start between %(first)s and %(last)s.", first=EARLIEST_YEAR, last=LATEST_YEAR)
            if start
            else _("Give a end between %(first)s and %(last)s.", first=EARLIEST_YEAR, last=LATEST_YEAR)
        )
        return None
    return parsed.astimezone(UTC)


def _agenda(raw: Any, errors: dict[str, str]) -> list[AgendaEntry] | None:
    if raw is None:
        return None
    if not isinstance(raw, list):
        errors["agenda"] = _("Give the agenda as a list of items, each with a title and optional notes.")
        return None
    if len(raw) > MAX_AGENDA:
        errors["agenda"] = _("An agenda has at most %(num)s items.", num=MAX_AGENDA)
        return None
    entries: list[AgendaEntry] = []
    for n, item in enumerate(raw, start=1):
        if not isinstance(item, dict) or set(item) - {"title", "notes", "starts_at", "duration_minutes", "speakers"}:
            errors["agenda"] = _(
                "Agenda item %(num)s: give an object with a title and optional notes, starts_at, "
                "duration_minutes and speakers.",
                num=n,
            )
            return None
        try:
            entries.append(parse_agenda_item(item))
        except ValidationError as exc:
            errors["agenda"] = _(
                "Agenda item %(num)s: %(problems)s", num=n, problems=" ".join(str(v) for v in exc.fields.values())
            )
            return None
    return entries


def parse_agenda_item(raw: Any, local_zone: ZoneInfo | None = None) -> AgendaEntry:
    """One agenda item from the agenda form: a title (1-200), notes, and optionally its start
    (ISO 8601; with ``local_zone``, a wall-clock time there), duration in minutes and speakers."""
    if not isinstance(raw, dict):
        raise ValidationError({"title": _("Give the item as an object with a title and optional notes.")})
    errors: dict[str, str] = unsafe_text_errors({"title": raw.get("title")})
    if errors:
        raise ValidationError(errors)
    title = parsers.text(raw.get("title"), "title", errors, "title", MAX_TITLE)
    notes = raw.get("notes") or ""
    if not isinstance(notes, str) or len(notes) > MAX_AGENDA_NOTES:
        errors["notes"] = _("The notes are text of at most %(num)s characters.", num=format(MAX_AGENDA_NOTES, ","))
    elif (problem := text_problem(notes, multiline=True)) is not None:
        errors["notes"] = problem
    starts_at = None
    if raw.get("starts_at"):
        starts_at = parse_when(raw.get("starts_at"), "starts_at", errors, local_zone)
    duration = raw.get("duration_minutes")
    if duration in (None, ""):
        duration = None
    elif isinstance(duration, str) and duration.strip().isdigit():
        duration = int(duration.strip())
    if duration is not None and (
        not isinstance(duration, int) or isinstance(duration, bool) or not 1 <= duration <= MAX_ITEM_MINUTES
    ):
        errors["duration_minutes"] = _("Give the duration in whole minutes, from 1 to %(num)s.", num=MAX_ITEM_MINUTES)
        duration = None
    speakers = raw.get("speakers") or ""
    if not isinstance(speakers, str) or len(speakers) > MAX_SPEAKERS:
        errors["speakers"] = _("Name the speakers in at most %(num)s characters.", num=MAX_SPEAKERS)
    elif (problem := text_problem(speakers, multiline=False)) is not None:
        errors["speakers"] = problem
    if errors:
        raise ValidationError(errors)
    return AgendaEntry(title, notes.strip(), starts_at, duration, speakers.strip())


def parse_minutes(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValidationError({"minutes": _("Give the minutes as Markdown text.")})
    if len(value) > MAX_MINUTES:
        raise ValidationError(
            {"minutes": _("The minutes have at most %(num)s characters.", num=format(MAX_MINUTES, ","))}
        )
    if (problem := text_problem(value, multiline=True)) is not None:
        raise ValidationError({"minutes": problem})
    return value


def parse_meeting(raw: Any, partial_of: MeetingInput | None = None, local_zone: ZoneInfo | None = None) -> MeetingInput:
    """Validate a whole meeting; with ``partial_of``, fields absent from ``raw`` keep their values."""
    if not isinstance(raw, dict):
        raise ValidationError({"_": _("Send the meeting as a JSON object.")})
    if partial_of is not None:
        raw = {**as_raw(partial_of), **raw}
    errors: dict[str, str] = unsafe_text_errors({k: v for k, v in raw.items() if k not in ("minutes", "agenda")})
    if errors:
        raise ValidationError(errors)
    unknown = set(raw) - MEETING_FIELDS
    if unknown:
        errors["_"] = _("Unknown fields: %(fields)s.", fields=", ".join(sorted(str(u)[:40] for u in unknown)))
    title = parsers.text(raw.get("title"), "title", errors, "title", MAX_TITLE)
    kind = parsers.choice(raw.get("kind"), MeetingKind, "kind", errors, "kind of meeting")
    cluster = raw.get("cluster")
    if cluster is not None and cluster != "" and not isinstance(cluster, str):
        errors["cluster"] = _("Give the cluster's slug as text.")
        cluster = None
    cluster = cluster or None
    if kind is MeetingKind.TECHNICAL and cluster is None and "cluster" not in errors:
        errors["cluster"] = _("A technical meeting belongs to a cluster: choose it.")
    elif kind in (MeetingKind.SENIOR_OFFICIALS, MeetingKind.MINISTERIAL) and cluster is not None:
        errors["cluster"] = (
            _("A senior Officials' meeting belongs to no cluster: leave the cluster empty.")
            if kind is MeetingKind.SENIOR_OFFICIALS
            else _("A ministerial meeting belongs to no cluster: leave the cluster empty.")
        )
    starts_at = parse_when(raw.get("starts_at"), "starts_at", errors, local_zone)
    ends_at = parse_when(raw.get("ends_at"), "ends_at", errors, local_zone)
    if starts_at and ends_at:
        if ends_at < starts_at:
            errors["ends_at"] = _("The meeting ends before it starts.")
        elif ends_at - starts_at > MAX_DURATION:
            errors["ends_at"] = _("A meeting lasts at most 31 days; check the dates.")
    location = raw.get("location") or ""
    if not isinstance(location, str):
        errors["location"] = _("Give the place as text.")
        location = ""
    elif len(location) > MAX_LOCATION:
        errors["location"] = _("The place is too long: at most %(num)s characters.", num=MAX_LOCATION)
    location = location.strip()
    online = parsers.boolean(raw.get("online"), "online", errors)
    if not location and not online and "location" not in errors and "online" not in errors:
        errors["location"] = _("Give the place, or say the meeting is online (or both).")
    tlp = parsers.choice(raw.get("tlp"), Tlp, "tlp", errors, "TLP marking")
    le_only = parsers.boolean(raw.get("law_enforcement_only"), "law_enforcement_only", errors)
    orgs = parsers.string_list(raw.get("recipient_orgs"), "recipient_orgs", errors, MAX_RECIPIENTS)
    users = [
        u.lower() for u in parsers.string_list(raw.get("recipient_users"), "recipient_users", errors, MAX_RECIPIENTS)
    ]
    agenda = _agenda(raw.get("agenda"), errors)
    video_link = parse_video_link(raw.get("video_link"), errors)
    minutes = None
    if raw.get("minutes") is not None:
        try:
            minutes = parse_minutes(raw.get("minutes"))
        except ValidationError as exc:
            errors.update(exc.fields)
    if errors:
        raise ValidationError(errors)
    assert kind is not None and tlp is not None and starts_at is not None and ends_at is not None
    return MeetingInput(
        title, kind, cluster, starts_at, ends_at, location, online, tlp, le_only, orgs, users, agenda, minutes,
        video_link,
    )  # fmt: skip


def parse_video_link(value: Any, errors: dict[str, str]) -> str:
    """An https address of at most ``MAX_VIDEO_LINK`` characters, or "" for none."""
    if value is None or value == "":
        return ""
    if not isinstance(value, str):
        errors["video_link"] = _("Give the video-conference link as text.")
        return ""
    value = value.strip()
    parts = urlsplit(value)
    if len(value) > MAX_VIDEO_LINK or parts.scheme != "https" or not parts.hostname or any(c.isspace() for c in value):
        errors["video_link"] = _(
            "Give the video-conference link as an https:// address of at most %(num)s characters.", num=MAX_VIDEO_LINK
        )
        return ""
    return value


def as_raw(data: MeetingInput) -> dict[str, Any]:
    """The input as the plain data that would recreate it (the base of a PATCH)."""
    raw: dict[str, Any] = {
        "title": data.title,
        "kind": data.kind.value,
        "cluster": data.cluster,
        "starts_at": data.starts_at.isoformat(),
        "ends_at": data.ends_at.isoformat(),
        "location": data.location,
        "online": data.online,
        "tlp": data.tlp.value,
        "law_enforcement_only": data.law_enforcement_only,
        "recipient_orgs": data.recipient_orgs,
        "recipient_users": data.recipient_users,
        "video_link": data.video_link,
    }
    return raw


def parse_document_fields(raw: dict[str, Any], meeting_tlp: Tlp) -> tuple[str, Tlp, bool, int | None]:
    """Title, marking (the meeting's or stricter), law-enforcement flag and agenda item id of a
    document, from an upload form or the API's multipart fields (all text)."""
    errors: dict[str, str] = unsafe_text_errors(raw)
    if errors:
        raise ValidationError(errors)
    title = (raw.get("title") or "").strip()
    if len(title) > MAX_TITLE:
        errors["title"] = _("The title is too long: at most %(num)s characters.", num=MAX_TITLE)
    tlp_text = (raw.get("tlp") or "").strip().upper().removeprefix("TLP:").replace(" ", "+")
    tlp = meeting_tlp
    if tlp_text:
        if tlp_text not in Tlp.values():
            errors["tlp"] = _("Choose one of: %(values)s.", values=", ".join(Tlp.values()))
        else:
            tlp = Tlp(tlp_text)
            if tlp.rank < meeting_tlp.rank:
                errors["tlp"] = _(
                    "A document of a %(meeting)s meeting is marked %(meeting)s or stricter, not %(tlp)s.",
                    meeting=meeting_tlp.label,
                    tlp=tlp.label,
                )
    le_text = (raw.get("law_enforcement_only") or "").strip().lower()
    if le_text not in ("", "y", "yes", "on", "true", "1", "false", "no", "0", "off"):
        errors["law_enforcement_only"] = _("Give true or false.")
    le_only = le_text in ("y", "yes", "on", "true", "1")
    item_text = (raw.get("agenda_item_id") or "").strip()
    agenda_item_id = None
    if item_text:
        if not (item_text.isascii() and item_text.isdigit() and len(item_text) <= 10 and int(item_text) < 2**31):
            errors["agenda_item_id"] = _("Choose an item of this meeting's agenda.")
        else:
            agenda_item_id = int(item_text)
    if errors:
        raise ValidationError(errors)
    return title, tlp, le_only, agenda_item_id
