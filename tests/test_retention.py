"""Retention: ``retention purge`` deletes what is past its time, warns authors once, and a dry
run lists exactly that while changing nothing; the post page says when a post goes."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

import config
from app.audit.models import AuditEvent
from app.clusters.models import Post
from app.crossmatch.models import MatchIdentifier
from app.extensions import db
from app.files.models import StoredFile
from app.files.services import blob_store
from app.notifications.models import Notification, OutboxMessage, OutboxStatus
from app.retention.queries import purge_plan
from app.retention.rules import add_months, last_created_day
from tests.test_posts_pages import publish

TODAY = date(2026, 3, 15)


def at(day: date, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def note(author: Any, created: datetime, container: str = "CSQU3054383") -> Post:
    """An incident note written through the service, then aged to ``created``."""
    post = publish(
        author,
        type="incident_note",
        title="Secret quay title",
        tlp="AMBER",
        incident={
            "port_locode": "BEANR",
            "occurred_on": "2024-03-01",
            "modus_operandi": "rip_on_rip_off",
            "substance": "cocaine",
            "quantity_kg": 12,
            "container_numbers": [container],
        },
    )
    return aged(post, created)


def aged(post: Post, created: datetime) -> Post:
    db.session.execute(sa.update(Post).where(Post.id == post.id).values(created_at=created))
    db.session.commit()
    return post


def snapshot() -> dict[str, Any]:
    db.session.commit()

    def count(model: Any) -> int:
        return db.session.scalar(sa.select(sa.func.count()).select_from(model)) or 0

    tables = (Post, StoredFile, Notification, OutboxMessage, AuditEvent, MatchIdentifier)
    return {m.__name__: count(m) for m in tables} | {"blobs": sorted(k for k, _ in blob_store().list_blobs())}


def listed(output: str, verb: str) -> list[int]:
    return [int(n) for n in re.findall(rf"^{verb} post (\d+) ", output, re.MULTILINE)]


def purge(runner: Any, *args: str) -> str:
    result = runner.invoke(args=["retention", "purge", "--today", TODAY.isoformat(), *args])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def world(make: Any) -> dict[str, Any]:
    from app.clusters.attachments import attach_file
    from app.privacy.erasure import erase_user

    author = make.user(clusters={"policy": "contributor"}, org_type="police")
    old = note(author, at(date(2024, 3, 10)))
    attach_file(author, old, "evidence.txt", [b"FILE-MARKER-retention"], 10**6)
    db.session.commit()
    departed = make.user(clusters={"policy": "contributor"}, org_type="police")
    world = {
        "author": author,
        "old": old,
        "old_file": db.session.scalar(sa.select(StoredFile).where(StoredFile.uploaded_by_id == author.id)),
        "due": note(author, at(date(2024, 4, 5)), "MSCU1234566"),
        "recent": note(author, at(date(2025, 6, 1)), "CSQU3054383"),
        "best": aged(publish(author), at(date(2019, 1, 1))),
        "orphan": note(departed, at(date(2024, 4, 1)), "TGHU1234567"),
    }
    erase_user(None, departed)

    def mail(status: OutboxStatus, days_ago: int) -> OutboxMessage:
        sent = at(TODAY - timedelta(days=days_ago))
        message = OutboxMessage(
            user_id=author.id, to_address=author.email, subject="s", body="b", status=status, created_at=sent
        )
        message.sent_at = sent if status is OutboxStatus.SENT else None
        db.session.add(message)
        return message

    def notification(read_days_ago: int | None, **fields: Any) -> Notification:
        read = at(TODAY - timedelta(days=read_days_ago)) if read_days_ago is not None else None
        row = Notification(user_id=author.id, kind="post.new", read_at=read, created_at=at(date(2025, 1, 1)), **fields)
        db.session.add(row)
        return row

    mails = {
        "old_sent": mail(OutboxStatus.SENT, 40),
        "new_sent": mail(OutboxStatus.SENT, 5),
        "old_pending": mail(OutboxStatus.PENDING, 40),
    }
    notes = {
        "old_read": notification(100),
        "old_unread": notification(None),
        # Deleting it would let the same occasion be notified again while its post exists.
        "deduped": notification(100, target_type="post", target_id=world["recent"].id, dedupe_key="x:1"),
    }
    db.session.commit()
    world["mail"] = {name: row.id for name, row in mails.items()}
    world["notes"] = {name: row.id for name, row in notes.items()}
    world["old_file"] = (world["old_file"].id, world["old_file"].blob_key)
    return world


def test_dry_run_lists_exactly_what_the_real_run_then_deletes_and_changes_nothing(world, runner):
    old, due = world["old"], world["due"]
    before = snapshot()

    dry = purge(runner, "--dry-run")
    assert "Secret quay title" not in dry and "FILE-MARKER" not in dry
    assert listed(dry, "delete") == [old.id]
    # Warned once ahead; the erased author's note is not their post any more, so nobody is told.
    assert listed(dry, "warn") == [due.id]
    assert "delete 1 sent mail " in dry and "delete 1 read notification " in dry
    assert dry.rstrip().splitlines()[-1].startswith("Summary (dry run): would delete 1 post (1 file)")
    assert snapshot() == before

    real = purge(runner)
    assert listed(real, "delete") == listed(dry, "delete") and listed(real, "warn") == listed(dry, "warn")
    assert real.rstrip().splitlines()[-1] == (
        "Summary: deleted 1 post (1 file crypto-shredded), sent 1 warning, deleted 1 sent mail and 1 read notification."
    )
    db.session.expire_all()
    remaining = set(db.session.scalars(sa.select(Post.id)))
    assert old.id not in remaining
    assert {due.id, world["recent"].id, world["best"].id, world["orphan"].id} <= remaining
    # Crypto-shredded: the wrapped data key is gone and so is the blob.
    file_id, blob_key = world["old_file"]
    assert db.session.get(StoredFile, file_id) is None
    assert blob_key not in {k for k, _ in blob_store().list_blobs()}
    assert db.session.scalar(sa.select(sa.func.count()).where(MatchIdentifier.post_id == old.id)) == 0

    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "retention.purge"))
    assert (event.target_type, event.target_id, event.target_org_id) == ("post", str(old.id), old.author_org_id)
    assert event.details == {"type": "incident_note", "age_days": (TODAY - date(2024, 3, 10)).days}

    warning = db.session.scalars(sa.select(Notification).where(Notification.kind == "retention.warning")).one()
    assert (warning.user_id, warning.target_type, warning.target_id) == (world["author"].id, "post", due.id)

    kept_mail = set(db.session.scalars(sa.select(OutboxMessage.id)))
    mail = world["mail"]
    assert mail["old_sent"] not in kept_mail and {mail["new_sent"], mail["old_pending"]} <= kept_mail
    kept_notes = set(db.session.scalars(sa.select(Notification.id)))
    notes = world["notes"]
    assert notes["old_read"] not in kept_notes and {notes["old_unread"], notes["deduped"]} <= kept_notes

    # The next run finds nothing new and does not warn again.
    again = purge(runner)
    assert listed(again, "delete") == [] and listed(again, "warn") == []
    assert db.session.scalar(sa.select(sa.func.count()).where(Notification.kind == "retention.warning")) == 1


def test_a_note_goes_on_the_day_its_retention_ends_not_the_day_before(make, app):
    author = make.user(clusters={"policy": "contributor"}, org_type="police")
    late = note(author, at(date(2024, 3, 15), 23, 59))

    day_before = purge_plan(date(2026, 3, 14))
    assert [p.id for p in day_before.deletions] == []
    assert [(w.post_id, w.expires_on) for w in day_before.warnings] == [(late.id, date(2026, 3, 15))]
    assert [p.id for p in purge_plan(date(2026, 3, 15)).deletions] == [late.id]

    # Warned from exactly 30 days ahead, not 31.
    assert [w.post_id for w in purge_plan(date(2026, 2, 13)).warnings] == [late.id]
    assert purge_plan(date(2026, 2, 12)).warnings == []

    # A retention of 0 months keeps a type for ever.
    app.config["RETENTION_INCIDENT_NOTE_MONTHS"] = 0
    assert purge_plan(date(2099, 1, 1)).deletions == []


def test_month_arithmetic_clamps_and_the_expired_days_are_a_prefix():
    assert add_months(date(2024, 8, 31), 6) == date(2025, 2, 28)
    assert add_months(date(2024, 2, 29), 24) == date(2026, 2, 28)
    for today in (date(2025, 2, 28), date(2025, 3, 1), date(2024, 2, 29), date(2026, 12, 31)):
        for months in (1, 6, 24):
            cut = last_created_day(today, months)
            for offset in range(-4, 5):
                day = cut + timedelta(days=offset)
                assert (add_months(day, months) <= today) is (offset <= 0), (today, months, day)


def test_post_page_says_when_the_retention_rules_delete_it(make, login_as, client):
    author = make.user(clusters={"policy": "contributor"}, org_type="police")
    incident = note(author, at(date(2025, 1, 31)))
    best = publish(author)
    login_as(author)
    page = client.get(f"/posts/{incident.id}").get_data(as_text=True)
    assert "Under the retention rules this incident note will be deleted on" in page
    assert "31 January 2027" in page
    assert "Under the retention rules" not in client.get(f"/posts/{best.id}").get_data(as_text=True)


def test_bad_retention_settings_stop_the_start_with_one_line(monkeypatch):
    monkeypatch.setenv("PAX_RETENTION_INCIDENT_NOTE_MONTHS", "two years")
    with pytest.raises(config.ConfigError, match="PAX_RETENTION_INCIDENT_NOTE_MONTHS must be a whole number"):
        config.TestingConfig()
    monkeypatch.setenv("PAX_RETENTION_INCIDENT_NOTE_MONTHS", "24")
    monkeypatch.setenv("PAX_RETENTION_WARNING_DAYS", "-5")
    with pytest.raises(config.ConfigError, match="PAX_RETENTION_WARNING_DAYS must be between 0 and 366"):
        config.TestingConfig().check()


def test_a_bad_today_is_a_one_line_usage_error(runner):
    result = runner.invoke(args=["retention", "purge", "--dry-run", "--today", "2026-02-30"])
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1
