"""Writes to the workplan: every change goes through here so its history is recorded."""

from __future__ import annotations

import sqlalchemy as sa

from app.extensions import db
from app.workplan.models import Workplan


def workplan_of(year: int) -> Workplan:
    """The workplan of ``year``, created as a draft the first time an item is planned for it."""
    workplan = db.session.scalar(sa.select(Workplan).where(Workplan.year == year))
    if workplan is None:
        workplan = Workplan(year=year)
        db.session.add(workplan)
        db.session.flush()
    return workplan
