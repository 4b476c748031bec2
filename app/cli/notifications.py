"""``outbox send`` / ``outbox status`` and ``notifications digest`` / ``overdue`` / ``reminders``.

All are meant for the operator's scheduler: ``outbox send`` every minute or so, the others
daily (``reminders`` may run hourly: it sends each reminder once). ``outbox send`` commits
after each message (a crash never resends what was delivered); the others are one transaction
each.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import click
from flask import current_app

from app.cli.base import OneLineUsageError, PaxGroup, transactional
from app.db import utcnow
from app.meetings.reminders import remind_participants
from app.notifications.fanout import announce_overdue
from app.notifications.models import OutboxStatus
from app.notifications.outbox import SmtpConfigError, describe_age, outbox_state, send_due, smtp_settings
from app.notifications.services import queue_digests

outbox_group = PaxGroup("outbox", help="The mail outbox: deliver it over SMTP (PAX_SMTP_URL) and report on it.")
notifications_group = PaxGroup(
    "notifications", help="Scheduled notifications: the daily digest, overdue workplan items."
)


def _instant(_ctx: click.Context, _param: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value[:40]!r} is not an ISO 8601 date and time") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _day(_ctx: click.Context, _param: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value[:40]!r} is not a date (YYYY-MM-DD)") from None


@outbox_group.command("send")
@click.option("--limit", type=click.IntRange(1, 100_000), default=200, show_default=True, help="At most this many.")
def send(limit: int) -> None:
    """Deliver the pending messages that are due; exit 1 when an attempt failed."""
    try:
        settings = smtp_settings(current_app.config.get("SMTP_URL"))
    except SmtpConfigError as exc:
        raise OneLineUsageError(str(exc)) from exc
    run = send_due(settings, current_app.config["MAIL_FROM"], limit=limit)
    click.echo(f"Sent {run.sent} through {settings.describe()}; {run.deferred} to retry later, {run.failed} given up.")
    if run.stopped:
        click.echo(f"Stopped early: {run.stopped}. The other messages wait for the next run.", err=True)
    if run.deferred or run.failed:
        raise SystemExit(1)


@outbox_group.command("status")
@transactional
def status() -> None:
    """How many messages are pending, sent and failed, and how long the oldest pending one waits."""
    state = outbox_state()
    for outbox_status in OutboxStatus:
        click.echo(f"{outbox_status.value:8} {state.counts[outbox_status]}")
    age = state.oldest_pending_age(utcnow())
    click.echo(f"Oldest pending message: waiting {describe_age(age)}." if age else "No message is pending.")


@notifications_group.command("digest")
@click.option("--now", callback=_instant, help="Treat this ISO 8601 instant as now (default: now).")
@transactional
def digest(now: datetime | None) -> None:
    """Queue one mail per member listing their notifications waiting for the daily digest."""
    run = queue_digests(now=now)
    click.echo(f"Queued {run.mails} digest mails covering {run.notifications} notifications.")


@notifications_group.command("overdue")
@click.option("--today", callback=_day, help="Treat this date (YYYY-MM-DD) as today (default: today, UTC).")
@transactional
def overdue(today: date | None) -> None:
    """Tell lead organisations' focal points and cluster coordinators of overdue workplan items (once each)."""
    run = announce_overdue(today or utcnow().date())
    click.echo(f"{run.items} open workplan items are overdue; {run.notified} people newly notified.")


@notifications_group.command("reminders")
@click.option("--now", callback=_instant, help="Treat this ISO 8601 instant as now (default: now).")
@transactional
def reminders(now: datetime | None) -> None:
    """Remind meeting participants by mail before their meetings (PAX_MEETING_REMINDER_DAYS, once each)."""
    run = remind_participants(now)
    click.echo(f"{run.meetings} meetings start within the reminder period; {run.reminded} people newly reminded.")


__all__ = ["notifications_group", "outbox_group"]
