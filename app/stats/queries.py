"""Seizure statistics: incident notes aggregated by port, substance, quarter or modus operandi,
for one fixed reporting period (a quarter or a year) or every period.

Which notes count is ``policy.statistics_sources`` (applied in SQL); how many reporting
organisations a group needs before the user sees it is ``policy.statistics_min_organisations``.
The counted notes' dimensions (never their content) are read once and cut into every cell any
view could show (``app.stats.suppression``), so a cell withheld in one view is withheld in all,
and secondary suppression keeps it from being worked out from totals, margins or neighbouring
periods. A withheld cell's figures never leave this module: the user learns only how many
groups were withheld.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from app.clusters.forms import MODUS_LABELS, SUBSTANCE_LABELS
from app.clusters.models import IncidentDetails, ModusOperandi, Post, PostType, Substance
from app.extensions import db
from app.policy import statistics_min_organisations, statistics_sources
from app.stats.suppression import ALL, CellKey, CountedNote, SeizureCube
from app.stats.validation import GroupBy, SeizureQuery


@dataclass(frozen=True)
class SeizureGroup:
    #: The group's value as the API names it: "BEANR", "cocaine", "2025-Q3", "rip_on_rip_off".
    key: str
    label: str
    notes: int
    quantity_kg: Decimal
    organisations: int


@dataclass(frozen=True)
class SeizureStatistics:
    query: SeizureQuery
    groups: list[SeizureGroup]
    #: Groups left out, too few organisations reported them or they would give such a group away.
    withheld: int
    #: The threshold applied to this user; 1 when nothing is withheld from them.
    min_organisations: int

    @property
    def total_notes(self) -> int:
        """Notes in the groups shown (never including withheld ones)."""
        return sum(g.notes for g in self.groups)

    @property
    def total_quantity_kg(self) -> Decimal:
        return sum((g.quantity_kg for g in self.groups), Decimal(0))


def counted_notes(user: Any) -> list[CountedNote]:
    """The dimensions of every incident note counted for ``user``: port, modus, substance, day, organisation, kg."""
    stmt = (
        sa.select(
            IncidentDetails.port_locode,
            IncidentDetails.modus_operandi,
            IncidentDetails.substance,
            IncidentDetails.occurred_on,
            Post.author_org_id,
            IncidentDetails.quantity_kg,
        )
        .join(IncidentDetails, IncidentDetails.post_id == Post.id)
        .where(Post.type == PostType.INCIDENT_NOTE, statistics_sources(user))
    )
    return [
        CountedNote(
            port=row[0],
            modus=ModusOperandi(row[1]).value,
            substance=Substance(row[2]).value,
            occurred_on=row[3],
            org_id=row[4],
            kg=None if row[5] is None else Decimal(str(row[5])),
        )
        for row in db.session.execute(stmt)
    ]


def _view_keys(cube: SeizureCube, query: SeizureQuery) -> list[tuple[CellKey, str, str]]:
    """The cells ``query`` shows, each with its group's key and label."""
    substance = query.substance.value if query.substance else None
    period = query.period
    quarters = set(period.quarters()) if period else set()
    wanted: list[tuple[CellKey, str, str]] = []
    for key in cube.cells:
        cut, cell_substance, cell_period = key
        if query.group_by is GroupBy.QUARTER:
            if cut != ALL or cell_substance != substance:
                continue
            if cell_period is None or cell_period.quarter is None:
                continue
            if period is not None and cell_period not in quarters:
                continue
            wanted.append((key, cell_period.key, cell_period.key))
            continue
        if cell_period != period:
            continue
        if query.group_by is GroupBy.SUBSTANCE:
            if cut == ALL and cell_substance is not None and substance in (None, cell_substance):
                value = Substance(cell_substance)
                wanted.append((key, value.value, str(SUBSTANCE_LABELS[value])))
            continue
        kind = "port" if query.group_by is GroupBy.PORT else "modus"
        if cut[0] == kind and cell_substance == substance:
            value_text = str(cut[1])
            label = value_text if kind == "port" else str(MODUS_LABELS[ModusOperandi(value_text)])
            wanted.append((key, value_text, label))
    return wanted


def statistics_from(cube: SeizureCube, query: SeizureQuery, min_organisations: int) -> SeizureStatistics:
    """The view ``query`` asks for, cut from ``cube``: the cells shown and how many are withheld."""
    groups = []
    withheld = 0
    for key, group_key, label in _view_keys(cube, query):
        cell = cube.cells[key]
        if cell.withheld:
            withheld += 1
            continue
        kg = cell.quantity_kg.quantize(Decimal("0.001"))
        groups.append(SeizureGroup(group_key, label, cell.notes, kg, cell.organisations))
    if query.group_by is GroupBy.QUARTER:
        groups.sort(key=lambda g: g.key)
    else:
        groups.sort(key=lambda g: (-g.quantity_kg, -g.notes, g.key))
    return SeizureStatistics(query, groups, withheld, min_organisations)


def seizure_statistics(user: Any, query: SeizureQuery) -> SeizureStatistics:
    """Per group: the number of incident notes, their total quantity (kg; notes without one add
    nothing) and the number of distinct reporting organisations; withheld groups (primary and
    secondary suppression, ``app.stats.suppression``) are only counted. Quarters are in time
    order, other groups by quantity, largest first."""
    minimum = statistics_min_organisations(user)
    cube = SeizureCube(counted_notes(user), minimum)
    return statistics_from(cube, query, minimum)
