"""Statistical disclosure control of the seizure statistics: every cell any view could publish,
primary suppression of small groups, and secondary (complementary) suppression.

The cells are the incident notes counted for one user, cut along the dimensions the views offer:
one port or one modus operandi or all of them, one substance or all, one quarter, one year or
every period. Any two views of the same user are cut from this one table, so one cell has one
fate wherever it appears.

- **Primary**: a cell reported by fewer distinct organisations than the user's threshold is
  withheld.
- **Secondary**: a cell is the sum of the cells of any *line* it is the margin of (a port's year
  is the sum of its four quarters; all ports of a quarter sum to the quarter's total; all
  substances sum to the all-substance figure). A line whose members (the margin and its
  non-empty parts) hold exactly one withheld cell would give that cell away by subtraction, so
  the next-smallest published part of the line (fewest notes, then least quantity) is withheld
  too, or the margin when no part is left. Every line is checked again until none has exactly
  one withheld member. A margin that no view shows is treated as if it were shown, which only
  withholds more.

Totals that a page prints under a table are sums of the cells it shows, so they add nothing
the cells have not said already.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from app.stats.validation import Period

#: How a cell is cut: ("port", "BEANR"), ("modus", "drone") or ("all", None) for every note.
Cut = tuple[str, str | None]
#: A cell: the cut, the substance (None: all) and the period (a quarter, a year, or None: every period).
CellKey = tuple[Cut, str | None, Period | None]
ALL: Cut = ("all", None)


@dataclass(frozen=True)
class CountedNote:
    """What one counted incident note brings to the statistics (never its content)."""

    port: str
    modus: str
    substance: str
    occurred_on: date
    org_id: int
    kg: Decimal | None


@dataclass
class Cell:
    notes: int = 0
    quantity_kg: Decimal = Decimal(0)
    org_ids: set[int] = field(default_factory=set)
    withheld: bool = False

    @property
    def organisations(self) -> int:
        return len(self.org_ids)


def _order(key: CellKey) -> tuple[str, str, str, str]:
    (kind, value), substance, period = key
    return (kind, value or "", substance or "", period.key if period else "")


class SeizureCube:
    """Every cell of one user's statistics, with primary and secondary suppression applied."""

    def __init__(self, notes: Iterable[CountedNote], min_organisations: int):
        self.cells: dict[CellKey, Cell] = defaultdict(Cell)
        for note in notes:
            quarter = Period.of(note.occurred_on)
            year = Period(quarter.year)
            for cut in (("port", note.port), ("modus", note.modus), ALL):
                for substance in (note.substance, None):
                    for period in (quarter, year, None):
                        cell = self.cells[(cut, substance, period)]
                        cell.notes += 1
                        cell.quantity_kg += note.kg or 0
                        cell.org_ids.add(note.org_id)
        self.cells = dict(self.cells)
        if min_organisations > 1:
            for cell in self.cells.values():
                cell.withheld = cell.organisations < min_organisations
            self._complement()

    def lines(self) -> list[tuple[CellKey, list[CellKey]]]:
        """Each margin with the non-empty cells it is the sum of, one line per way of summing."""
        parts: dict[tuple[CellKey, str], list[CellKey]] = defaultdict(list)
        for key in sorted(self.cells, key=_order):
            cut, substance, period = key
            if cut != ALL:  # the ports (or the modi) sum to all of them
                parts[((ALL, substance, period), cut[0])].append(key)
            if substance is not None:  # the substances sum to all substances
                parts[((cut, None, period), "substance")].append(key)
            if period is not None and period.quarter is not None:  # the quarters sum to their year
                parts[((cut, substance, Period(period.year)), "quarters")].append(key)
            elif period is not None:  # the years sum to every period
                parts[((cut, substance, None), "years")].append(key)
        return [(margin, members) for (margin, _how), members in parts.items()]

    @staticmethod
    def shown_somewhere(key: CellKey) -> bool:
        """Whether some view shows this cell: all of them but the grand totals of a year and of every period."""
        cut, substance, period = key
        return not (cut == ALL and substance is None and (period is None or period.quarter is None))

    def _complement(self) -> None:
        """Secondary suppression: until no withheld cell can be worked out from the known ones.

        Known are the published cells, and whatever follows from them: a line with exactly one
        unknown member gives that member (its margin minus its other parts, or the sum of its
        parts). A cell no view shows (a grand total) may become known that way; a withheld one may
        not: the smallest published member of the line that gave it away is withheld too, and the
        check starts again.
        """
        lines = self.lines()
        by_cell: dict[CellKey, list[int]] = defaultdict(list)
        for number, (margin, parts) in enumerate(lines):
            for key in (margin, *parts):
                by_cell[key].append(number)
        while True:
            known = {k for k, c in self.cells.items() if not c.withheld and self.shown_somewhere(k)}
            given_by: dict[CellKey, int] = {}
            pending = list(range(len(lines)))
            leak: tuple[CellKey, int] | None = None
            while pending and leak is None:
                number = pending.pop()
                margin, parts = lines[number]
                unknown = [k for k in (margin, *parts) if k not in known]
                if len(unknown) != 1:
                    continue
                key = unknown[0]
                known.add(key)
                given_by[key] = number
                if self.cells[key].withheld:
                    leak = (key, number)
                pending.extend(by_cell[key])
            if leak is None:
                return
            self._withhold_support(*leak, lines, given_by)

    def _withhold_support(
        self, key: CellKey, number: int, lines: list[tuple[CellKey, list[CellKey]]], given_by: dict[CellKey, int]
    ) -> None:
        """Withhold the smallest published member of the line that gave ``key`` away, looking
        through the lines that gave its derived members when it has none."""
        seen: set[int] = set()
        queue = [number]
        while queue:
            line = queue.pop(0)
            if line in seen:
                continue
            seen.add(line)
            margin, parts = lines[line]
            members = [k for k in (*parts, margin) if k != key]
            published = [k for k in members if not self.cells[k].withheld and self.shown_somewhere(k)]
            if published:
                parts_first = [k for k in published if k != margin] or published
                pick = min(parts_first, key=lambda k: (self.cells[k].notes, self.cells[k].quantity_kg, _order(k)))
                self.cells[pick].withheld = True
                return
            queue.extend(given_by[k] for k in members if k in given_by)
        raise AssertionError(f"no published cell gives {key} away")  # a withheld cell is never known by itself
