"""Delivering the outbox over SMTP (``flask outbox send``) and reporting on it (``outbox status``).

Messages are written by ``notify`` / ``queue_mail`` in the transaction of the action that caused
them; this module only sends what is due. Each message is claimed (a conditional update, in a
transaction of its own, so overlapping runs never both take it), then sent, then marked in a
second short transaction, so a run that dies half way never sends again what it already
delivered. The one documented duplicate: a crash after the SMTP server accepted a message and
before it is marked sent; its claim expires and a later run sends it again. A
failed attempt is retried with a doubling back-off; after ``MAX_ATTEMPTS`` the message is failed.
What is recorded about a failure is the SMTP reply or the error's class and short text, never
the mail, and the SMTP password appears in no log line or error.
"""

from __future__ import annotations

import logging
import secrets
import smtplib
import ssl
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from urllib.parse import parse_qs, unquote, urlsplit

import sqlalchemy as sa

from app.db import utcnow
from app.extensions import db
from app.notifications.models import OutboxMessage, OutboxStatus

log = logging.getLogger("pax.outbox")

#: A message is given up (status failed) after this many failed attempts.
MAX_ATTEMPTS = 8
FIRST_RETRY = timedelta(minutes=1)
LONGEST_RETRY = timedelta(hours=6)
#: Seconds to wait for the SMTP server at each step, so a hung server cannot stall the scheduler.
SMTP_TIMEOUT = 30
_TRUE = {"1", "true", "yes", "on"}


class SmtpConfigError(ValueError):
    """``PAX_SMTP_URL`` is missing or malformed (the message never repeats the password)."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    #: Implicit TLS from the first byte (``smtps://``).
    tls: bool = False
    #: Upgrade a plain connection with STARTTLS (``?starttls=true``).
    starttls: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    def describe(self) -> str:
        """Where mail goes, for operators' output: never the password."""
        security = " (TLS)" if self.tls else " (STARTTLS)" if self.starttls else ""
        user = f"{self.username}@" if self.username else ""
        return f"{'smtps' if self.tls else 'smtp'}://{user}{self.host}:{self.port}{security}"


def smtp_settings(url: str | None) -> SmtpSettings:
    """Parse ``smtp://[user:pass@]host[:port][?starttls=true]`` or ``smtps://...``."""
    if not url or not url.strip():
        raise SmtpConfigError("SMTP is not configured: set PAX_SMTP_URL (smtp://host:port or smtps://host:port)")
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in ("smtp", "smtps"):
        raise SmtpConfigError(f"PAX_SMTP_URL must start with smtp:// or smtps://, not {scheme[:10] or 'nothing'}://")
    try:
        port = parts.port
    except ValueError:
        raise SmtpConfigError("PAX_SMTP_URL has an invalid port") from None
    if not parts.hostname:
        raise SmtpConfigError("PAX_SMTP_URL names no host")
    query = parse_qs(parts.query)
    starttls = any(v.strip().lower() in _TRUE for v in query.get("starttls", []))
    if scheme == "smtps" and starttls:
        raise SmtpConfigError("PAX_SMTP_URL: smtps:// is TLS already; starttls=true is for smtp://")
    return SmtpSettings(
        host=parts.hostname,
        port=port or (465 if scheme == "smtps" else 587 if starttls else 25),
        tls=scheme == "smtps",
        starttls=starttls,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
    )


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failure: 1 minute, doubling, at most 6 hours."""
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), LONGEST_RETRY)


def _reply(exc: BaseException) -> str:
    """The SMTP reply of a refused step, or the error's class and short text; never the mail."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused) and exc.recipients:
        code, text = next(iter(exc.recipients.values()))
        reply = f"{code} {text.decode('utf-8', 'replace') if isinstance(text, bytes) else text}"
    elif isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error
        reply = f"{exc.smtp_code} {text.decode('utf-8', 'replace') if isinstance(text, bytes) else text}"
    else:
        reply = f"{type(exc).__name__}: {exc}"
    return " ".join(reply.split())[:300]


#: Failures of the connection rather than of one message: the rest of the run would fail the same way.
_CONNECTION_ERRORS = (
    OSError,
    smtplib.SMTPConnectError,
    smtplib.SMTPServerDisconnected,
    smtplib.SMTPHeloError,
    smtplib.SMTPAuthenticationError,
    smtplib.SMTPNotSupportedError,
)


class _Connection:
    """One SMTP session for a run, opened at the first message."""

    def __init__(self, settings: SmtpSettings, timeout: float) -> None:
        self.settings = settings
        self.timeout = timeout
        self.smtp: smtplib.SMTP | None = None

    def _open(self) -> smtplib.SMTP:
        s = self.settings
        context = ssl.create_default_context() if s.tls or s.starttls else None
        smtp: smtplib.SMTP
        if s.tls:
            smtp = smtplib.SMTP_SSL(s.host, s.port, timeout=self.timeout, context=context)
        else:
            smtp = smtplib.SMTP(s.host, s.port, timeout=self.timeout)
        try:
            smtp.ehlo()
            if s.starttls:
                smtp.starttls(context=context)
                smtp.ehlo()
            if s.username:
                smtp.login(s.username, s.password or "")
        except BaseException:
            smtp.close()
            raise
        return smtp

    def send(self, message: EmailMessage) -> None:
        if self.smtp is None:
            self.smtp = self._open()
        self.smtp.send_message(message)

    def close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (OSError, smtplib.SMTPException):
                self.smtp.close()
            self.smtp = None


def build_mail(message: OutboxMessage, mail_from: str, now: datetime) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = mail_from
    mail["To"] = message.to_address
    mail["Subject"] = message.subject
    mail["Date"] = format_datetime(now)
    domain = parseaddr(mail_from)[1].rpartition("@")[2] or "pax.localhost"
    mail["Message-ID"] = make_msgid(f"outbox.{message.id}", domain=domain)
    #: Tells mail systems not to answer it with vacation replies.
    mail["Auto-Submitted"] = "auto-generated"
    mail.set_content(message.body)
    # Python 3.11 folds a long non-ASCII header between two encoded words and so drops the space
    # there (CPython gh-121284): a Greek subject arrived as "ομάδαπου". Subjects are at most 300
    # characters, well inside RFC 5322's 998, so headers are written unfolded instead (the body's
    # encoding was chosen above and is unchanged).
    mail.policy = mail.policy.clone(max_line_length=998)
    return mail


@dataclass
class DeliveryRun:
    sent: int = 0
    #: Attempts that failed and will be retried.
    deferred: int = 0
    #: Messages given up on in this run (their last attempt failed).
    failed: int = 0
    #: Why the run stopped before the end of what was due (the server could not be reached).
    stopped: str | None = None


def _due(now: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.next_attempt_at <= now)


def send_due(
    settings: SmtpSettings,
    mail_from: str,
    *,
    limit: int = 100,
    now: datetime | None = None,
    timeout: float = SMTP_TIMEOUT,
) -> DeliveryRun:
    """Send up to ``limit`` pending messages whose next attempt is due at ``now``, oldest first.

    Commits after every message (and before the first): callers must hold no unfinished work in
    the session. When the server cannot be reached the run stops after recording that attempt,
    leaving the other messages due for the next run.
    """
    now = now or utcnow()
    run = DeliveryRun()
    run_id = secrets.token_hex(8)
    #: A claim outlives the slowest possible attempt, so it is never taken from a live run.
    lease = timedelta(seconds=4 * timeout + 60)
    ids = list(
        db.session.scalars(
            sa.select(OutboxMessage.id)
            .where(_due(now))
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(limit)
        )
    )
    db.session.commit()
    connection = _Connection(settings, timeout)
    try:
        for message_id in ids:
            if not _claim(message_id, run_id, now, lease):
                continue  # another run has it, or it was sent or changed meanwhile
            # As the claim left it (the session may hold an older copy: commits do not expire it).
            message = db.session.get(OutboxMessage, message_id, populate_existing=True)
            if message is None:
                continue
            try:
                connection.send(build_mail(message, mail_from, now))
            except (smtplib.SMTPException, OSError) as exc:
                _record_failure(message, exc, now, run)
                message.claimed_by = message.claimed_until = None
                db.session.commit()
                if isinstance(exc, _CONNECTION_ERRORS):
                    connection.close()
                    run.stopped = f"the SMTP server {settings.host}:{settings.port} failed: {_reply(exc)}"
                    break
                continue
            message.status = OutboxStatus.SENT
            message.attempts += 1
            message.sent_at = now
            message.last_error = None
            message.claimed_by = message.claimed_until = None
            db.session.commit()
            run.sent += 1
            log.info("outbox message %s sent", message_id)
    finally:
        connection.close()
    return run


def _claim(message_id: int, run_id: str, now: datetime, lease: timedelta) -> bool:
    """Take the message for this run, atomically, in a transaction of its own.

    One conditional UPDATE: it changes the row only while the message is still due and nobody
    holds an unexpired claim on it. Of two runs at once exactly one changes it (PostgreSQL makes
    the other wait for the row and re-check; SQLite serialises writers), and only that one sends
    it. No transaction or lock is held while talking to the SMTP server. A run that dies leaves
    a claim that expires after ``lease``, and the message is due again then.
    """
    clock = utcnow()
    claimed = db.session.execute(
        sa.update(OutboxMessage)
        .where(
            OutboxMessage.id == message_id,
            _due(now),
            sa.or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < clock),
        )
        .values(claimed_by=run_id, claimed_until=clock + lease)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return bool(claimed == 1)


def _record_failure(message: OutboxMessage, exc: BaseException, now: datetime, run: DeliveryRun) -> None:
    message.attempts += 1
    message.last_error = _reply(exc)
    if message.attempts >= MAX_ATTEMPTS:
        message.status = OutboxStatus.FAILED
        run.failed += 1
        log.error(
            "outbox message %s failed for good after %s attempts: %s", message.id, message.attempts, message.last_error
        )
    else:
        message.next_attempt_at = now + retry_delay(message.attempts)
        run.deferred += 1
        log.warning("outbox message %s attempt %s failed: %s", message.id, message.attempts, message.last_error)


@dataclass(frozen=True)
class OutboxState:
    counts: dict[OutboxStatus, int]
    oldest_pending: datetime | None

    def oldest_pending_age(self, now: datetime) -> timedelta | None:
        return now - self.oldest_pending if self.oldest_pending else None


def outbox_state() -> OutboxState:
    """How many messages are in each status, and when the oldest pending one was written."""
    rows = db.session.execute(sa.select(OutboxMessage.status, sa.func.count()).group_by(OutboxMessage.status)).all()
    counts = {status: 0 for status in OutboxStatus}
    counts.update({status: n for status, n in rows})
    oldest = db.session.scalar(
        sa.select(sa.func.min(OutboxMessage.created_at)).where(OutboxMessage.status == OutboxStatus.PENDING)
    )
    return OutboxState(counts=counts, oldest_pending=oldest)


def describe_age(age: timedelta) -> str:
    minutes = int(age.total_seconds() // 60)
    if minutes < 1:
        return "less than a minute"
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    parts = [f"{days} d"] if days else []
    if hours or days:
        parts.append(f"{hours} h")
    parts.append(f"{minutes} min")
    return " ".join(parts)
