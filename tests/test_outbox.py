"""Mail through the outbox, delivered to a real SMTP server (aiosmtpd on 127.0.0.1): what a mail
says (never a title or body), retries with back-off when the server is down, giving up, the
daily digest, and the operator's commands."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.db import utcnow
from app.extensions import db
from app.notifications.models import DeliveryMode, MailState, Notification, OutboxMessage, OutboxStatus
from app.notifications.outbox import MAX_ATTEMPTS, SmtpConfigError, retry_delay, send_due, smtp_settings
from tests.support.smtp import SmtpServer
from tests.test_notifications import BODY, CLUSTER, TITLE, follow, fresh, publish

MAIL_FROM = "PAX <no-reply@pax.example>"


@pytest.fixture
def stopped_smtp() -> Iterator[SmtpServer]:
    """A port nothing listens on yet: connections are refused until the test starts the server."""
    server = SmtpServer()
    yield server
    server.stop()


def one_mail_for(make):  # type: ignore[no-untyped-def]
    from app.notifications.services import notify

    user = make.user()
    notify(user, "account.approved")
    db.session.commit()
    return db.session.scalar(sa.select(OutboxMessage).where(OutboxMessage.user_id == user.id))


def test_mail_for_an_amber_post_has_marking_and_link_but_no_title_or_body(make, smtp):
    author = make.user(clusters={CLUSTER: "contributor"})
    reader = make.user(clusters={CLUSTER: "reader"})
    follow(reader, DeliveryMode.IMMEDIATE)
    post = publish(author, "AMBER")

    run = send_due(smtp_settings(smtp.url), MAIL_FROM)
    assert run.sent == 1
    [received] = smtp.inbox
    assert received.envelope_to == [reader.email] and received.message["From"] == MAIL_FROM
    assert "[TLP:AMBER]" in received.message["Subject"]
    assert "Marking: TLP:AMBER" in received.text
    assert f"http://127.0.0.1:5000/posts/{post.id}" in received.text
    assert "/notifications/settings" in received.text  # the footer
    whole = received.message.as_string()
    assert TITLE not in whole and BODY not in whole
    fresh()
    assert db.session.scalar(sa.select(OutboxMessage.status)) is OutboxStatus.SENT


def test_outbox_retries_when_the_server_is_down_and_delivers_once_it_is_up(make, stopped_smtp):
    message = one_mail_for(make)
    settings = smtp_settings(stopped_smtp.url)
    t0 = utcnow() + timedelta(seconds=1)

    run = send_due(settings, MAIL_FROM, now=t0)
    assert (run.sent, run.deferred) == (0, 1) and run.stopped
    fresh()
    message = db.session.get(OutboxMessage, message.id)
    assert message.status is OutboxStatus.PENDING and message.attempts == 1
    assert message.next_attempt_at == t0 + timedelta(minutes=1)
    assert message.last_error.startswith("ConnectionRefusedError")

    stopped_smtp.start()
    assert send_due(settings, MAIL_FROM, now=t0 + timedelta(seconds=30)).sent == 0  # not due yet
    assert stopped_smtp.inbox == []
    assert send_due(settings, MAIL_FROM, now=t0 + timedelta(minutes=2)).sent == 1
    assert send_due(settings, MAIL_FROM, now=t0 + timedelta(hours=2)).sent == 0
    assert len(stopped_smtp.inbox) == 1
    fresh()
    message = db.session.get(OutboxMessage, message.id)
    assert message.status is OutboxStatus.SENT and message.last_error is None


def test_outbox_gives_up_after_the_last_attempt(make, stopped_smtp):
    message = one_mail_for(make)
    settings = smtp_settings(stopped_smtp.url)
    now = utcnow() + timedelta(seconds=1)
    delays = []
    for _ in range(MAX_ATTEMPTS):
        send_due(settings, MAIL_FROM, now=now)
        fresh()
        message = db.session.get(OutboxMessage, message.id)
        delays.append(message.next_attempt_at - now)
        now = message.next_attempt_at
    assert message.status is OutboxStatus.FAILED and message.attempts == MAX_ATTEMPTS
    assert delays[:3] == [timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=4)]
    assert retry_delay(20) == timedelta(hours=6)
    run = send_due(settings, MAIL_FROM, now=now + timedelta(days=1))
    assert (run.sent, run.deferred, run.failed) == (0, 0, 0)


def test_smtp_url_forms():
    plain = smtp_settings("smtp://mail.example:2525")
    assert (plain.host, plain.port, plain.tls, plain.starttls) == ("mail.example", 2525, False, False)
    assert plain.username is None
    submission = smtp_settings("smtp://pax%40ops:s3cr%2Ft@mail.example?starttls=true")
    assert (submission.port, submission.starttls, submission.username, submission.password) == (
        587,
        True,
        "pax@ops",
        "s3cr/t",
    )
    assert "s3cr" not in repr(submission) and "s3cr" not in submission.describe()
    assert smtp_settings("smtps://mail.example").port == 465
    for bad in (
        None,
        "",
        "http://mail.example",
        "smtp://",
        "smtp://mail.example:99999",
        "smtps://m.example?starttls=1",
    ):
        with pytest.raises(SmtpConfigError):
            smtp_settings(bad)


def test_digest_puts_a_days_notifications_in_one_mail(make, runner, smtp):
    author = make.user(clusters={CLUSTER: "contributor"})
    reader = make.user(clusters={CLUSTER: "reader"})
    follow(reader, DeliveryMode.DAILY)
    posts = [publish(author, "GREEN"), publish(author, "AMBER"), publish(author, "RED", recipient_users=[reader.email])]

    early = runner.invoke(args=["notifications", "digest", "--now", "2000-01-01T00:00:00"])
    assert "Queued 0 digest mails" in early.output
    result = runner.invoke(args=["notifications", "digest"])
    assert "Queued 1 digest mails covering 3 notifications." in result.output, result.output
    assert "Queued 0" in runner.invoke(args=["notifications", "digest"]).output
    fresh()
    states = db.session.scalars(sa.select(Notification.mail_state).where(Notification.user_id == reader.id))
    assert set(states) == {MailState.QUEUED}

    assert send_due(smtp_settings(smtp.url), MAIL_FROM).sent == 1
    [received] = smtp.inbox
    assert received.envelope_to == [reader.email] and "3 notifications" in received.message["Subject"]
    for post in posts:
        assert f"/posts/{post.id}" in received.text
    assert "TLP:RED" in received.text and TITLE not in received.text and BODY not in received.text


def test_outbox_commands(app, make, runner, smtp):
    message = one_mail_for(make)
    app.config["SMTP_URL"] = None
    result = runner.invoke(args=["outbox", "send"])
    assert result.exit_code == 2 and result.output.count("\n") == 1 and "PAX_SMTP_URL" in result.output
    fresh()
    assert db.session.get(OutboxMessage, message.id).attempts == 0

    status = runner.invoke(args=["outbox", "status"]).output
    assert "pending  1" in status and "Oldest pending message: waiting less than a minute." in status

    app.config["SMTP_URL"] = smtp.url
    result = runner.invoke(args=["outbox", "send", "--limit", "5"])
    assert result.exit_code == 0 and "Sent 1" in result.output, result.output
    assert len(smtp.inbox) == 1
    status = runner.invoke(args=["outbox", "status"]).output
    assert "sent     1" in status and "No message is pending." in status


@pytest.mark.timeout(120)
@pytest.mark.committed_db
def test_overlapping_runs_deliver_each_message_exactly_once(app, make, smtp, monkeypatch):
    """Two ``outbox send`` runs at once (a slow scheduler overlapping the next tick) pick the same
    due messages; each message is claimed by exactly one of them and delivered once."""
    import threading

    import app.notifications.outbox as outbox
    from app.notifications.services import queue_mail

    user = make.user()
    ids = [queue_mail(user, subject=f"Message {n}", body=f"Body {n}").id for n in range(5)]
    db.session.commit()
    ids = list(db.session.scalars(sa.select(OutboxMessage.id).where(OutboxMessage.user_id == user.id)))
    assert len(ids) == 5
    settings = smtp_settings(smtp.url)
    t0 = utcnow() + timedelta(seconds=1)

    # Both runs have listed the due messages before either claims one: they overlap completely.
    barrier = threading.Barrier(2, timeout=20)
    original = outbox._claim
    started: set[str] = set()

    def claim_after_both_listed(message_id, run_id, now, lease):  # type: ignore[no-untyped-def]
        if run_id not in started:
            started.add(run_id)
            barrier.wait()
        return original(message_id, run_id, now, lease)

    monkeypatch.setattr(outbox, "_claim", claim_after_both_listed)
    runs: list[object] = []

    def run() -> None:
        with app.app_context():
            try:
                runs.append(send_due(settings, MAIL_FROM, now=t0))
            except BaseException as exc:  # reported below
                runs.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert all(not isinstance(r, BaseException) for r in runs), runs
    assert sum(r.sent for r in runs) == 5  # type: ignore[attr-defined]
    subjects = sorted(str(received.message["Subject"]) for received in smtp.inbox)
    assert subjects == sorted(f"Message {n}" for n in range(5)), subjects
    fresh()
    rows = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.id.in_(ids))).all()
    assert all(m.status is OutboxStatus.SENT and m.attempts == 1 and m.claimed_by is None for m in rows)
    assert send_due(settings, MAIL_FROM, now=t0 + timedelta(hours=1)).sent == 0
    assert len(smtp.inbox) == 5


@pytest.mark.committed_db
def test_a_run_that_died_after_claiming_leaves_a_claim_that_expires(make, smtp):
    """A claim protects a message only for its lease: a run killed after claiming does not make
    the message undeliverable for good."""
    from app.notifications.outbox import _claim

    message = one_mail_for(make)
    settings = smtp_settings(smtp.url)
    now = utcnow() + timedelta(seconds=1)
    assert _claim(message.id, "dead-run", now, timedelta(seconds=-1))  # claimed, lease already over
    assert send_due(settings, MAIL_FROM, now=now).sent == 1
    assert _claim(message.id, "other", now, timedelta(minutes=5)) is False  # sent: nothing to claim
    assert len(smtp.inbox) == 1
