"""Seizure statistics: incident notes aggregated by port, substance, quarter or modus operandi.

Which notes count is ``policy.statistics_sources``; how many reporting organisations a group
needs before the user sees it is ``policy.statistics_min_organisations``. Both are applied in
SQL (WHERE and HAVING), so a withheld group's figures never leave the database: the user learns
only how many groups were withheld.
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
    #: Groups left out because too few organisations reported them (their figures are not loaded).
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


def _notes(user: Any, query: SeizureQuery) -> sa.Subquery:
    """One row per counted note: its group key column(s) ``k1`` (and ``k2``), organisation, quantity.

    The keys are plain columns of a subquery so that the outer GROUP BY names columns, never
    expressions with bound parameters (which PostgreSQL would not recognise as the same).
    """
    keys: list[sa.ColumnElement[Any]]
    if query.group_by is GroupBy.PORT:
        keys = [IncidentDetails.port_locode.label("k1")]
    elif query.group_by is GroupBy.SUBSTANCE:
        keys = [IncidentDetails.substance.label("k1")]
    elif query.group_by is GroupBy.MODUS_OPERANDI:
        keys = [IncidentDetails.modus_operandi.label("k1")]
    else:
        month = sa.cast(sa.extract("month", IncidentDetails.occurred_on), sa.Integer)
        keys = [
            sa.cast(sa.extract("year", IncidentDetails.occurred_on), sa.Integer).label("k1"),
            ((month + 2) // 3).label("k2"),
        ]
    stmt = (
        sa.select(*keys, Post.author_org_id.label("org_id"), IncidentDetails.quantity_kg.label("kg"))
        .join(IncidentDetails, IncidentDetails.post_id == Post.id)
        .where(Post.type == PostType.INCIDENT_NOTE, statistics_sources(user))
    )
    if query.start is not None:
        stmt = stmt.where(IncidentDetails.occurred_on >= query.start)
    if query.end is not None:
        stmt = stmt.where(IncidentDetails.occurred_on <= query.end)
    if query.substance is not None:
        stmt = stmt.where(IncidentDetails.substance == query.substance)
    return stmt.subquery("counted")


def _key_and_label(group_by: GroupBy, row: Any) -> tuple[str, str]:
    if group_by is GroupBy.QUARTER:
        text = f"{row.k1:04d}-Q{row.k2}"
        return text, text
    if group_by is GroupBy.SUBSTANCE:
        value = Substance(row.k1)
        return value.value, SUBSTANCE_LABELS[value]
    if group_by is GroupBy.MODUS_OPERANDI:
        modus = ModusOperandi(row.k1)
        return modus.value, MODUS_LABELS[modus]
    return row.k1, row.k1


def seizure_statistics(user: Any, query: SeizureQuery) -> SeizureStatistics:
    """Per group: the number of incident notes, their total quantity (kg; notes without one add
    nothing) and the number of distinct reporting organisations; groups below the user's
    threshold are counted as withheld instead. Quarters are in time order, other groups by
    quantity, largest first."""
    notes = _notes(user, query)
    keys = [c for c in notes.c if c.name in ("k1", "k2")]
    organisations = sa.func.count(sa.distinct(notes.c.org_id))
    minimum = statistics_min_organisations(user)
    stmt = (
        sa.select(
            *keys,
            sa.func.count().label("notes"),
            sa.func.coalesce(sa.func.sum(notes.c.kg), 0).label("kg"),
            organisations.label("organisations"),
        )
        .group_by(*keys)
        .having(organisations >= minimum)
    )
    if query.group_by is GroupBy.QUARTER:
        stmt = stmt.order_by(*keys)
    else:
        stmt = stmt.order_by(sa.desc("kg"), sa.desc("notes"), *keys)
    groups = []
    for row in db.session.execute(stmt):
        key, label = _key_and_label(query.group_by, row)
        kg = Decimal(str(row.kg)).quantize(Decimal("0.001"))
        groups.append(SeizureGroup(key, label, row.notes, kg, row.organisations))
    withheld = 0
    if minimum > 1:
        small = sa.select(*keys).group_by(*keys).having(organisations < minimum).subquery()
        withheld = db.session.scalar(sa.select(sa.func.count()).select_from(small)) or 0
    return SeizureStatistics(query, groups, withheld, minimum)
