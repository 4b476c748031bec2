"""The workplan of a year as CSV and XLSX: one row per item, the same columns in both.

Every text cell goes through ``app.csvguard.neutralise``, so an item title can never become a
formula on a curator's machine.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.clusters.names import cluster_label
from app.csvguard import neutralise
from app.workplan.models import Workplan, WorkplanItem
from app.workplan.services import show_leads

HEADER = [
    _l("Year"),
    _l("Cluster"),
    _l("Title"),
    _l("Lead organisations"),
    _l("Due date"),
    _l("Status"),
    _l("Progress (%)"),
    _l("Overdue"),
    _l("Deliverables"),
]


def rows(workplan: Workplan, items: list[WorkplanItem], counts: dict[int, int], today: date) -> list[list[Any]]:
    """One row per item (without the header); dates stay ``date`` objects, numbers ints."""
    return [
        [
            workplan.year,
            cluster_label(item.cluster),
            item.title,
            show_leads(item.lead_organisations),
            item.due_date,
            item.status.label,
            item.progress,
            _("yes") if item.is_overdue(today) else _("no"),
            counts.get(item.id, 0),
        ]
        for item in items
    ]


def to_csv(table: list[list[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([str(title) for title in HEADER])
    for row in table:
        writer.writerow([neutralise(v.isoformat() if isinstance(v, date) else v) for v in row])
    return out.getvalue()


def to_xlsx(table: list[list[Any]], year: int) -> bytes:
    """A one-sheet workbook built with openpyxl's write-only mode (rows streamed, not held as cells)."""
    # openpyxl costs every worker 13 MiB once imported; only the process that exports pays it.
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Font

    book = Workbook(write_only=True)
    # A sheet's name holds at most 31 characters.
    sheet = book.create_sheet(_("Workplan %(year)s", year=year)[:31])
    sheet.freeze_panes = "A2"
    header = []
    for title in HEADER:
        cell = WriteOnlyCell(sheet, value=str(title))
        cell.font = Font(bold=True)
        header.append(cell)
    sheet.append(header)
    for row in table:
        cells = []
        for value in row:
            if isinstance(value, str):
                value = ILLEGAL_CHARACTERS_RE.sub("", neutralise(value))
            cell = WriteOnlyCell(sheet, value=value)
            if isinstance(value, date):
                cell.number_format = "yyyy-mm-dd"
            cells.append(cell)
        sheet.append(cells)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
