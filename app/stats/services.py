"""The seizure statistics as a CSV file: the table of the page, audited as an export.

Every text cell that a spreadsheet would run as a formula is neutralised by
``app.csvguard.neutralise``, as in every export.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from app.audit.services import record
from app.csvguard import neutralise
from app.stats.chart import kg_text
from app.stats.queries import SeizureStatistics, seizure_statistics
from app.stats.validation import SeizureQuery


def table_header(stats: SeizureStatistics) -> list[str]:
    return [stats.query.group_by.label, "Incident notes", "Quantity (kg)", "Reporting organisations"]


def table_rows(stats: SeizureStatistics) -> list[list[str]]:
    """The rows of the page's table and of the CSV: the groups shown, never a withheld one."""
    return [[g.label, str(g.notes), kg_text(g.quantity_kg), str(g.organisations)] for g in stats.groups]


def export_csv(user: Any, query: SeizureQuery) -> tuple[str, SeizureStatistics]:
    """The statistics ``user`` may see as CSV (header and rows), with a ``stats.export`` audit event."""
    stats = seizure_statistics(user, query)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(table_header(stats))
    for row in table_rows(stats):
        writer.writerow([neutralise(cell) for cell in row])
    record(
        "stats.export",
        actor=user,
        target=("statistics", "seizures"),
        group_by=query.group_by.value,
        groups=len(stats.groups),
        withheld=stats.withheld,
        start=query.start.isoformat() if query.start else None,
        end=query.end.isoformat() if query.end else None,
        substance=query.substance.value if query.substance else None,
    )
    return out.getvalue(), stats
