"""Reading the parameters of the seizure statistics, the same for the page, the CSV and the API.

``parse_seizure_query`` takes the query string and returns a ``SeizureQuery`` or raises
``ValidationError`` with one message per bad parameter (``group_by``, ``period``,
``substance``). Statistics cover fixed reporting periods only, a calendar quarter (``2025-Q3``)
or a calendar year (``2025``), never a free date range: ``from`` and ``to`` are refused in
plain words, because two overlapping ranges subtracted would isolate the notes between them.
Messages never repeat more than a short, printable part of what was sent.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.clusters.models import Substance
from app.enums import StrEnum
from app.validation import ValidationError

MIN_YEAR, MAX_YEAR = 1900, 2100
_PERIOD = re.compile(r"([0-9]{4})(?:-Q([0-9]))?")
_PRINTABLE = re.compile(r"[^\x20-\x7e]")
#: Said for ``from`` and ``to``, whatever they hold.
NO_FREE_RANGES = _l(
    "Statistics are given for fixed reporting periods only, not for free date ranges: "
    "choose a period, a quarter such as 2025-Q3 or a year such as 2025."
)
_GROUP_LABELS = {
    "port": _l("Port"),
    "substance": _l("Substance"),
    "quarter": _l("Quarter"),
    "modus_operandi": _l("Modus operandi"),
}
#: The statistics' heading and the table's caption, per grouping.
_GROUP_HEADINGS = {
    "port": _l("Seizures by port"),
    "substance": _l("Seizures by substance"),
    "quarter": _l("Seizures by quarter"),
    "modus_operandi": _l("Seizures by modus operandi"),
}
#: The chart's title, per grouping.
_CHART_TITLES = {
    "port": _l("Quantity seized by port"),
    "substance": _l("Quantity seized by substance"),
    "quarter": _l("Quantity seized by quarter"),
    "modus_operandi": _l("Quantity seized by modus operandi"),
}


class GroupBy(StrEnum):
    PORT = "port"
    SUBSTANCE = "substance"
    QUARTER = "quarter"
    MODUS_OPERANDI = "modus_operandi"

    @property
    def label(self) -> str:
        return str(_GROUP_LABELS[self.value])

    @property
    def heading(self) -> str:
        """ "Seizures by port" and so on."""
        return str(_GROUP_HEADINGS[self.value])

    @property
    def chart_title(self) -> str:
        return str(_CHART_TITLES[self.value])

    def chart_description(self, count: int) -> str:
        """What the chart shows, for screen readers, with ``count`` bars."""
        if self is GroupBy.PORT:
            text = _(
                "Horizontal bars, one per port, %(count)s in all; each bar's length is the total quantity in "
                "kilograms, written after it with the number of notes and reporting organisations. "
                "The table below the chart holds the same numbers.",
                count=count,
            )
        elif self is GroupBy.SUBSTANCE:
            text = _(
                "Horizontal bars, one per substance, %(count)s in all; each bar's length is the total quantity in "
                "kilograms, written after it with the number of notes and reporting organisations. "
                "The table below the chart holds the same numbers.",
                count=count,
            )
        elif self is GroupBy.QUARTER:
            text = _(
                "Horizontal bars, one per quarter, %(count)s in all; each bar's length is the total quantity in "
                "kilograms, written after it with the number of notes and reporting organisations. "
                "The table below the chart holds the same numbers.",
                count=count,
            )
        else:
            text = _(
                "Horizontal bars, one per modus operandi, %(count)s in all; each bar's length is the total quantity "
                "in kilograms, written after it with the number of notes and reporting organisations. "
                "The table below the chart holds the same numbers.",
                count=count,
            )
        return text


@dataclass(frozen=True, order=True)
class Period:
    """A fixed reporting period: a calendar quarter, or a whole calendar year when ``quarter`` is None."""

    year: int
    quarter: int | None = None

    @property
    def key(self) -> str:
        return f"{self.year:04d}" if self.quarter is None else f"{self.year:04d}-Q{self.quarter}"

    @property
    def first_day(self) -> date:
        return date(self.year, 1 if self.quarter is None else 3 * self.quarter - 2, 1)

    @property
    def last_day(self) -> date:
        if self.quarter is None or self.quarter == 4:
            return date(self.year, 12, 31)
        return date(self.year, 3 * self.quarter + 1, 1) - timedelta(days=1)

    def quarters(self) -> Iterator[Period]:
        """The quarters this period is made of (itself when it is one)."""
        if self.quarter is not None:
            yield self
        else:
            yield from (Period(self.year, q) for q in range(1, 5))

    @classmethod
    def of(cls, day: date) -> Period:
        """The quarter ``day`` falls in."""
        return cls(day.year, (day.month + 2) // 3)


@dataclass(frozen=True)
class SeizureQuery:
    group_by: GroupBy = GroupBy.PORT
    #: The reporting period; None for every period on record.
    period: Period | None = None
    substance: Substance | None = None

    def as_args(self) -> dict[str, str]:
        """The query string that asks for these statistics again (CSV link, API)."""
        args = {"group_by": self.group_by.value}
        if self.period:
            args["period"] = self.period.key
        if self.substance:
            args["substance"] = self.substance.value
        return args

    def combination(self) -> str:
        """The filter combination as one short text: what the daily bound counts and the audit keeps."""
        return "&".join(f"{name}={value}" for name, value in sorted(self.as_args().items()))


def shown(value: str) -> str:
    """What may be echoed of a sent value: printable ASCII, at most 40 characters."""
    return _PRINTABLE.sub("", value)[:40]


def parse_period(raw: str) -> Period:
    """``2025-Q3`` (a calendar quarter) or ``2025`` (a calendar year); ``ValueError`` in plain words otherwise."""
    match = _PERIOD.fullmatch(raw.strip().upper())
    if not match:
        raise ValueError(
            _(
                "%(value)s is not a reporting period: use a quarter such as 2025-Q3 or a year such as 2025.",
                value=repr(shown(raw)),
            )
        )
    year, quarter = int(match.group(1)), match.group(2)
    if quarter is not None and not 1 <= int(quarter) <= 4:
        raise ValueError(_("A year has quarters Q1 to Q4, not Q%(quarter)s.", quarter=quarter))
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValueError(_("Give a period from %(first)s to %(last)s.", first=MIN_YEAR, last=MAX_YEAR))
    return Period(year, None if quarter is None else int(quarter))


def parse_seizure_query(args: Mapping[str, str]) -> SeizureQuery:
    """The statistics asked for; ``group_by`` defaults to port, the other parameters are optional."""
    errors: dict[str, str] = {}
    raw_group = (args.get("group_by") or "").strip()
    group_by = GroupBy.PORT
    if raw_group:
        if raw_group in GroupBy.values():
            group_by = GroupBy(raw_group)
        else:
            errors["group_by"] = _("Group by one of: %(choices)s.", choices=", ".join(GroupBy.values()))
    for name in ("from", "to"):
        if name in args:
            errors[name] = str(NO_FREE_RANGES)
    period = None
    raw_period = (args.get("period") or "").strip()
    if raw_period:
        try:
            period = parse_period(raw_period)
        except ValueError as exc:
            errors["period"] = str(exc)
    raw_substance = (args.get("substance") or "").strip()
    substance = None
    if raw_substance:
        if raw_substance in Substance.values():
            substance = Substance(raw_substance)
        else:
            errors["substance"] = _("Choose one of: %(choices)s.", choices=", ".join(Substance.values()))
    if errors:
        raise ValidationError(errors)
    return SeizureQuery(group_by, period, substance)
