"""Answering a statistics query: the daily bound on filter combinations, the audit event, and
the table and CSV of the page.

Every query (page, CSV, API) is an audit event carrying its filter combination, never a figure:
``stats.query``, or ``stats.export`` for the CSV. The events of the day are also what bounds an
account to ``PAX_STATS_DAILY_COMBINATIONS`` distinct combinations per day (UTC): asking again
for one already asked is free, a new one beyond the bound is refused (429) and that refusal is
audited in a transaction of its own, the request's own being rolled back. Every text cell of
the CSV that a spreadsheet would run as a formula is neutralised by ``app.csvguard.neutralise``.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext
from werkzeug.exceptions import TooManyRequests

from app.audit.models import AuditEvent
from app.audit.services import record, record_refused
from app.csvguard import neutralise
from app.db import utcnow
from app.extensions import db
from app.stats.chart import kg_text
from app.stats.queries import SeizureStatistics, seizure_statistics
from app.stats.validation import SeizureQuery

#: Audit actions of a statistics query; both count towards the daily bound.
QUERY_ACTIONS = ("stats.query", "stats.export")


class CombinationsExhausted(TooManyRequests):
    """A new filter combination beyond the account's daily bound (429, in plain words)."""

    def __init__(self, bound: int):
        seconds = max(1, int((_midnight() + timedelta(days=1) - utcnow()).total_seconds()))
        super().__init__(
            ngettext(
                "You have looked at %(num)d different statistics today, the most one account may. "
                "The ones you have already looked at stay available; others can be asked for again tomorrow (UTC).",
                "You have looked at %(num)d different statistics today, the most one account may. "
                "The ones you have already looked at stay available; others can be asked for again tomorrow (UTC).",
                bound,
            ),
            retry_after=seconds,
        )


def _midnight() -> datetime:
    return datetime.combine(utcnow().date(), time(), tzinfo=UTC)


def combinations_today(user: Any) -> set[str]:
    """The filter combinations ``user`` has asked for since midnight (UTC)."""
    midnight = _midnight()
    combination = AuditEvent.details["combination"].as_string()
    stmt = (
        sa.select(combination)
        .where(
            AuditEvent.actor_id == user.id,
            AuditEvent.action.in_(QUERY_ACTIONS),
            AuditEvent.outcome == "ok",
            AuditEvent.at >= midnight,
        )
        .distinct()
    )
    return {value for value in db.session.scalars(stmt) if value is not None}


def answer(user: Any, query: SeizureQuery, *, action: str = "stats.query", via: str = "page") -> SeizureStatistics:
    """The statistics ``user`` may see for ``query``, audited; ``CombinationsExhausted`` when it
    would be a new combination beyond today's bound."""
    combination = query.combination()
    bound = current_app.config["STATS_DAILY_COMBINATIONS"]
    seen = combinations_today(user)
    if combination not in seen and len(seen) >= bound:
        record_refused(
            action,
            actor=user,
            target=("statistics", "seizures"),
            outcome="refused",
            reason="daily_combinations",
            combination=combination,
            via=via,
        )
        raise CombinationsExhausted(bound)
    stats = seizure_statistics(user, query)
    record(
        action,
        actor=user,
        target=("statistics", "seizures"),
        combination=combination,
        via=via,
        groups=len(stats.groups),
        withheld=stats.withheld,
    )
    return stats


def table_header(stats: SeizureStatistics) -> list[str]:
    return [stats.query.group_by.label, _("Incident notes"), _("Quantity (kg)"), _("Reporting organisations")]


def table_rows(stats: SeizureStatistics) -> list[list[str]]:
    """The rows of the page's table and of the CSV: the groups shown, never a withheld one."""
    return [[g.label, str(g.notes), kg_text(g.quantity_kg), str(g.organisations)] for g in stats.groups]


def export_csv(user: Any, query: SeizureQuery) -> tuple[str, SeizureStatistics]:
    """The statistics ``user`` may see as CSV (header and rows), audited as ``stats.export``."""
    stats = answer(user, query, action="stats.export", via="csv")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(table_header(stats))
    for row in table_rows(stats):
        writer.writerow([neutralise(cell) for cell in row])
    return out.getvalue(), stats
