"""``retention purge``: delete and crypto-shred what is past its retention, warn authors ahead."""

from __future__ import annotations

from datetime import datetime

import click
from flask import current_app

from app.cli.base import PaxGroup, transactional
from app.db import utcnow
from app.extensions import db
from app.retention.queries import PurgePlan, purge_plan
from app.retention.rules import RetentionRules, current_rules
from app.retention.services import carry_out

retention_group = PaxGroup("retention", help="Retention: posts, sent mail and read notifications past their time.")


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _rules_line(rules: RetentionRules) -> str:
    kept = [
        f"{kind.label.lower()}s {months} months" if months else f"{kind.label.lower()}s kept until deleted"
        for kind, months in rules.months.items()
    ]
    return (
        f"Rules: {', '.join(kept)}; authors warned {rules.warning_days} days ahead;"
        f" sent mail kept {rules.mail_days or 'unlimited'} days,"
        f" read notifications {rules.notification_days or 'unlimited'} days."
    )


def _echo_plan(plan: PurgePlan) -> None:
    # Ids, types and dates only: titles are content and never reach a terminal or a log.
    for p in plan.deletions:
        click.echo(
            f"delete post {p.id} {p.type.value} created {p.created_on} due {p.expires_on}"
            f" age {p.age_days} days files {p.files}"
        )
    for w in plan.warnings:
        click.echo(f"warn post {w.post_id} {w.type.value} due {w.expires_on} author user {w.author_id}")
    if plan.mail_before:
        click.echo(f"delete {_plural(plan.sent_mail, 'sent mail')} sent before {plan.mail_before}")
    if plan.notifications_before:
        click.echo(
            f"delete {_plural(plan.read_notifications, 'read notification')} read before {plan.notifications_before}"
        )
    if plan.expired_drafts:
        days = current_app.config["DRAFT_RETENTION_DAYS"]
        click.echo(f"delete {_plural(plan.expired_drafts, 'expired draft')} (kept {days} days)")


@retention_group.command("purge")
@click.option("--dry-run", is_flag=True, help="List what would be deleted and whom warned; change nothing.")
@click.option(
    "--today",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Purge as of this day (YYYY-MM-DD) instead of today (UTC).",
)
@transactional
def purge(dry_run: bool, today: datetime | None) -> None:
    """Delete posts past their type's retention (crypto-shredding their files), warn authors of
    posts due within the warning window once, and delete old sent mail and read notifications."""
    day = today.date() if today else utcnow().date()
    rules = current_rules()
    plan = purge_plan(day, rules)
    click.echo(f"Retention purge as of {day}{' (dry run: nothing is changed)' if dry_run else ''}.")
    click.echo(_rules_line(rules))
    _echo_plan(plan)
    if dry_run:
        db.session.rollback()
        click.echo(
            f"Summary (dry run): would delete {_plural(len(plan.deletions), 'post')}"
            f" ({_plural(plan.files, 'file')}), send {_plural(len(plan.warnings), 'warning')}"
            f" and delete {_plural(plan.sent_mail, 'sent mail')}"
            f" and {_plural(plan.read_notifications, 'read notification')}; nothing was changed."
        )
        return
    result = carry_out(plan)
    click.echo(
        f"Summary: deleted {_plural(result.posts, 'post')} ({_plural(result.files, 'file')} crypto-shredded),"
        f" sent {_plural(result.warned, 'warning')},"
        f" deleted {_plural(result.sent_mail, 'sent mail')}"
        f" and {_plural(result.read_notifications, 'read notification')}."
    )
    if result.drafts:
        click.echo(f"Deleted {_plural(result.drafts, 'expired draft')}.")
