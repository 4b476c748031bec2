"""Reading the parameters of the seizure statistics, the same for the page, the CSV and the API.

``parse_seizure_query`` takes the query string and returns a ``SeizureQuery`` or raises
``ValidationError`` with one message per bad parameter (``group_by``, ``from``, ``to``,
``substance``). Messages never repeat more than a short, printable part of what was sent.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from app.clusters.models import Substance
from app.enums import StrEnum
from app.validation import ValidationError

MIN_YEAR, MAX_YEAR = 1900, 2100
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_PRINTABLE = re.compile(r"[^\x20-\x7e]")


class GroupBy(StrEnum):
    PORT = "port"
    SUBSTANCE = "substance"
    QUARTER = "quarter"
    MODUS_OPERANDI = "modus_operandi"

    @property
    def label(self) -> str:
        return {
            "port": "Port",
            "substance": "Substance",
            "quarter": "Quarter",
            "modus_operandi": "Modus operandi",
        }[self.value]


@dataclass(frozen=True)
class SeizureQuery:
    group_by: GroupBy = GroupBy.PORT
    #: Incidents that occurred on or after this day...
    start: date | None = None
    #: ...and on or before this one.
    end: date | None = None
    substance: Substance | None = None

    def as_args(self) -> dict[str, str]:
        """The query string that asks for these statistics again (CSV link, API)."""
        args = {"group_by": self.group_by.value}
        if self.start:
            args["from"] = self.start.isoformat()
        if self.end:
            args["to"] = self.end.isoformat()
        if self.substance:
            args["substance"] = self.substance.value
        return args


def shown(value: str) -> str:
    """What may be echoed of a sent value: printable ASCII, at most 40 characters."""
    return _PRINTABLE.sub("", value)[:40]


def _date(raw: str, name: str, errors: dict[str, str]) -> date | None:
    raw = raw.strip()
    if not raw:
        return None
    if not _DATE.fullmatch(raw):
        errors[name] = f"{shown(raw)!r} is not a date: use YYYY-MM-DD."
        return None
    try:
        value = date.fromisoformat(raw)
    except ValueError:
        errors[name] = f"{raw} is not a day of the calendar: use YYYY-MM-DD."
        return None
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        errors[name] = f"Give a date from {MIN_YEAR} to {MAX_YEAR}."
        return None
    return value


def parse_seizure_query(args: Mapping[str, str]) -> SeizureQuery:
    """The statistics asked for; ``group_by`` defaults to port, the other parameters are optional."""
    errors: dict[str, str] = {}
    raw_group = (args.get("group_by") or "").strip()
    group_by = GroupBy.PORT
    if raw_group:
        if raw_group in GroupBy.values():
            group_by = GroupBy(raw_group)
        else:
            errors["group_by"] = f"Group by one of: {', '.join(GroupBy.values())}."
    start = _date(args.get("from") or "", "from", errors)
    end = _date(args.get("to") or "", "to", errors)
    if start and end and start > end:
        errors["to"] = "The end date comes before the start date."
    raw_substance = (args.get("substance") or "").strip()
    substance = None
    if raw_substance:
        if raw_substance in Substance.values():
            substance = Substance(raw_substance)
        else:
            errors["substance"] = f"Choose one of: {', '.join(Substance.values())}."
    if errors:
        raise ValidationError(errors)
    return SeizureQuery(group_by, start, end, substance)
