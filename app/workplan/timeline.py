"""The geometry of the timeline of due dates, computed here so the template only draws it.

The chart spans the workplan's year (widened to whole months around any due date outside
it). Each item is a row, grouped by cluster, with a marker at its due date; overdue items get
a different shape and the word "overdue", so colour is never the only signal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from flask_babel import format_date

from app.clusters.names import cluster_label
from app.workplan.models import WorkplanItem
from app.workplan.queries import ClusterSection

WIDTH = 960
LABEL_WIDTH = 330
RIGHT_MARGIN = 90
AXIS_HEIGHT = 44
ROW_HEIGHT = 26
GROUP_HEIGHT = 30
LABEL_CHARS = 44


@dataclass
class Row:
    item: WorkplanItem
    y: int
    x: float | None
    overdue: bool
    label: str


@dataclass
class Group:
    name: str
    y: int
    rows: list[Row] = field(default_factory=list)


@dataclass
class Timeline:
    width: int
    height: int
    left: int
    right: int
    #: (x, month abbreviation, the year when the month is January or the first shown)
    months: list[tuple[float, str, str]]
    today_x: float | None
    groups: list[Group]
    start: date
    end: date

    @property
    def chart_bottom(self) -> int:
        return self.height - 10


def _month_start(value: date) -> date:
    return value.replace(day=1)


def _next_month(value: date) -> date:
    return date(value.year + (value.month == 12), value.month % 12 + 1, 1)


def _short(text: str) -> str:
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1].rstrip() + "…"


def build(year: int, sections: list[ClusterSection], today: date) -> Timeline:
    dues = [i.due_date for s in sections for i in s.items if i.due_date is not None]
    start = min([date(year, 1, 1), *(_month_start(d) for d in dues)])
    end = max([date(year + 1, 1, 1), *(_next_month(d) for d in dues)])
    left, right = LABEL_WIDTH, WIDTH - RIGHT_MARGIN
    span = (end - start).days

    def x_of(day: date) -> float:
        return round(left + (right - left) * (day - start).days / span, 1)

    months = []
    month = start
    while month < end:
        first = month.month == 1 or month == start
        # The month's abbreviation in the reader's language ("Jan" in English).
        months.append((x_of(month), format_date(month, "LLL"), str(month.year) if first else ""))
        month = _next_month(month)
    groups: list[Group] = []
    y = AXIS_HEIGHT
    for section in sections:
        if not section.items:
            continue
        group = Group(cluster_label(section.cluster), y + GROUP_HEIGHT - 10)
        y += GROUP_HEIGHT
        for item in section.items:
            due = item.due_date
            group.rows.append(
                Row(item, y + ROW_HEIGHT // 2, x_of(due) if due else None, item.is_overdue(today), _short(item.title))
            )
            y += ROW_HEIGHT
        groups.append(group)
    today_x = x_of(today) if start <= today <= end else None
    return Timeline(WIDTH, y + 20, left, right, months, today_x, groups, start, end)
