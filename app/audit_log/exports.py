"""The filtered audit log as CSV, one line per event, written as it is read.

Text cells that a spreadsheet would run as a formula are neutralised by ``app.csvguard``,
as in every export: an actor's e-mail address or a details value can never
become a formula on the auditor's machine.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator

from flask_babel import lazy_gettext as _l

from app.audit_log.queries import LogRow
from app.csvguard import neutralise

#: Characters sent at a time.
CHUNK = 64 * 1024
#: The column titles, in the language of the person exporting (the values stay as recorded).
HEADER = [
    _l("Sequence"),
    _l("At (UTC)"),
    _l("Action"),
    _l("Outcome"),
    _l("Actor id"),
    _l("Actor e-mail"),
    _l("Actor organisation"),
    _l("Target type"),
    _l("Target id"),
    _l("Target organisation"),
    _l("Source"),
    _l("Details"),
    "MAC",
]


def row(item: LogRow) -> list[object]:
    event = item.event
    return [
        event.seq,
        event.at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        event.action,
        event.outcome,
        event.actor_id,
        item.actor_email,
        item.actor_organisation,
        event.target_type,
        event.target_id,
        item.target_organisation,
        event.source,
        json.dumps(event.details or {}, sort_keys=True, separators=(",", ":"), ensure_ascii=False),
        event.mac,
    ]


def csv_lines(rows: Iterable[LogRow]) -> Iterator[str]:
    """The header, then one CSV line per row; the first line starts with a byte order mark so
    spreadsheet programs read the file as UTF-8."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")

    def take() -> str:
        text = out.getvalue()
        out.seek(0)
        out.truncate()
        return text

    writer.writerow([str(title) for title in HEADER])
    yield "\ufeff" + take()
    for item in rows:
        writer.writerow([neutralise(value) for value in row(item)])
        if out.tell() >= CHUNK:
            yield take()
    if out.tell():
        yield take()
