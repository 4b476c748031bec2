"""The retention rules read from the settings, and the calendar arithmetic they rest on.

A post's retention counts from the day it was created (UTC), in calendar months: a note created
on 15 March 2024 with 24 months is deleted by the first purge run on or after 15 March 2026. A
day that does not exist in the target month becomes that month's last day (31 August plus six
months is 28 or 29 February).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from app.clusters.models import PostType

#: The setting that holds each post type's retention in months.
MONTH_SETTINGS = {
    PostType.INCIDENT_NOTE: "RETENTION_INCIDENT_NOTE_MONTHS",
    PostType.BEST_PRACTICE: "RETENTION_BEST_PRACTICE_MONTHS",
    PostType.DELIVERABLE: "RETENTION_DELIVERABLE_MONTHS",
}


def add_months(day: date, months: int) -> date:
    """``day`` moved by ``months`` calendar months, clamped to the last day of the month."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def last_created_day(today: date, months: int) -> date:
    """The latest creation day whose retention of ``months`` has ended by ``today``.

    ``add_months`` never decreases as the day grows, so the expired creation days are exactly
    those up to this one; clamping makes it up to three days later than ``today - months``.
    """
    day = add_months(today, -months)
    while add_months(day + timedelta(days=1), months) <= today:
        day += timedelta(days=1)
    return day


def start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


@dataclass(frozen=True)
class RetentionRules:
    """Months kept per post type (0: until deleted), the warning lead, and the message keep times."""

    months: dict[PostType, int]
    warning_days: int
    mail_days: int
    notification_days: int

    @classmethod
    def from_config(cls, config: Any) -> RetentionRules:
        return cls(
            months={kind: int(config[name]) for kind, name in MONTH_SETTINGS.items()},
            warning_days=int(config["RETENTION_WARNING_DAYS"]),
            mail_days=int(config["RETENTION_MAIL_DAYS"]),
            notification_days=int(config["RETENTION_NOTIFICATION_DAYS"]),
        )

    def expires_on(self, kind: PostType, created_at: datetime) -> date | None:
        """The day a post of ``kind`` created at ``created_at`` is due for deletion, or None."""
        months = self.months.get(kind, 0)
        if months <= 0:
            return None
        return add_months(created_at.astimezone(UTC).date(), months)

    def expired_before(self, kind: PostType, today: date) -> datetime | None:
        """Posts of ``kind`` created before this instant are past their retention on ``today``."""
        months = self.months.get(kind, 0)
        if months <= 0:
            return None
        return start_of(last_created_day(today, months) + timedelta(days=1))


def current_rules() -> RetentionRules:
    from flask import current_app

    return RetentionRules.from_config(current_app.config)
