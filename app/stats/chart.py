"""The geometry of the seizure bar chart, computed here so the template only draws it.

One horizontal bar per group shown, its length the group's total quantity on a scale with
round gridlines; each bar carries its figures as text, so no value depends on reading a length
or a colour. Withheld groups are not in the chart at all.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from app.stats.queries import SeizureGroup

WIDTH = 960
LABEL_WIDTH = 230
VALUE_WIDTH = 190
AXIS_HEIGHT = 30
ROW_HEIGHT = 30
BAR_HEIGHT = 18
LABEL_CHARS = 30
TICKS = 5


@dataclass(frozen=True)
class Bar:
    group: SeizureGroup
    label: str
    y: int
    width: float
    #: Where the figures are written: just after the bar.
    text_x: float


@dataclass(frozen=True)
class Tick:
    x: float
    label: str


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    left: int
    right: int
    bar_height: int
    ticks: list[Tick]
    bars: list[Bar]

    @property
    def bottom(self) -> int:
        return self.height - 6


def kg_text(value: Decimal) -> str:
    """A quantity as the page, the table and the CSV write it: no trailing zeros, no separators."""
    text = f"{value.normalize():f}"
    return text if "." not in text else text.rstrip("0").rstrip(".")


def _step(top: float) -> float:
    """A round gridline step (1, 2 or 5 times a power of ten) giving about ``TICKS`` lines up to ``top``."""
    raw = top / TICKS
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if raw <= factor * power:
            return factor * power
    return 10 * power


def _short(text: str) -> str:
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1].rstrip() + "…"


def build(groups: list[SeizureGroup]) -> BarChart:
    left, right = LABEL_WIDTH, WIDTH - VALUE_WIDTH
    largest = float(max((g.quantity_kg for g in groups), default=Decimal(0)))
    step = _step(largest) if largest > 0 else 1.0
    top = step * math.ceil(largest / step) if largest > 0 else step * TICKS

    def x_of(value: float) -> float:
        return round(left + (right - left) * value / top, 1)

    ticks = []
    n = 0
    while n * step <= top + step / 1000:
        ticks.append(Tick(x_of(n * step), kg_text(Decimal(str(round(n * step, 6))))))
        n += 1
    bars = []
    y = AXIS_HEIGHT
    for group in groups:
        width = x_of(float(group.quantity_kg)) - left
        bars.append(Bar(group, _short(group.label), y, width, left + width + 6))
        y += ROW_HEIGHT
    return BarChart(WIDTH, y + 10, left, right, BAR_HEIGHT, ticks, bars)
