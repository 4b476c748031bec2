"""Demo workplan details: lead organisations, progress, a little history and one overdue item.

Runs after ``app.demo`` has created the 2026 items (``WORKPLAN_ITEMS`` there) and the demo
organisations and users. Idempotent: an item that already has lead organisations is left as
it is, so a second load changes nothing. Changes are made through the services, as the
curator and coordinators would make them, so the history reads as it would in real use.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from app.auth.models import User
from app.extensions import db
from app.workplan.models import ItemStatus, Workplan, WorkplanItem
from app.workplan.services import update_item

CURATOR = "claire.martin@ec-home.example"

#: title -> (lead organisations, [(who, changes)...]) applied in order.
DETAILS: dict[str, tuple[list[str], list[tuple[str, dict[str, object]]]]] = {
    "Common risk indicators for container misuse": (
        ["Port of Antwerp-Bruges Authority", "Belgian Customs"],
        [
            ("anna.peeters@portofantwerpbruges.example", {"status": ItemStatus.IN_PROGRESS, "progress": 40}),
            ("anna.peeters@portofantwerpbruges.example", {"progress": 60}),
        ],
    ),
    "Guidance on vetting port staff with access to containers": (
        ["Europol", "Dutch National Police"],
        # The demo's overdue item: due in the past and still in progress.
        [
            (CURATOR, {"due_date": date(2026, 1, 31)}),
            ("piotr.nowak@europol.example", {"status": ItemStatus.DELAYED, "progress": 25}),
        ],
    ),
    "Report on the implementation of the EU Ports Roadmap": (
        ["European Commission, DG HOME"],
        [(CURATOR, {"progress": 10})],
    ),
    "Inventory of scanning and detection pilots in EU ports": (
        ["Rotterdam Container Terminals", "Port of Antwerp-Bruges Authority"],
        [(CURATOR, {"progress": 100})],
    ),
}


def _user(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == email))


def load_workplan_demo(created: dict[str, int]) -> None:
    """Give the 2026 demo items their details once; counts what it changed in ``created``."""
    curator = _user(CURATOR)
    if curator is None:
        return
    for title, (leads, steps) in DETAILS.items():
        item = db.session.scalar(
            sa.select(WorkplanItem)
            .join(Workplan, Workplan.id == WorkplanItem.workplan_id)
            .where(WorkplanItem.title == title, Workplan.year == 2026)
        )
        if item is None or item.leads:
            continue
        update_item(curator, item, {"lead_organisations": leads})
        for email, changes in steps:
            actor = _user(email) or curator
            update_item(actor, item, dict(changes))
        created["workplan details"] = created.get("workplan details", 0) + 1
    db.session.flush()
