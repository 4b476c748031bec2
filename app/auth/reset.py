"""Password reset by mail: asked for by the account's owner or sent by an administrator.

The link carries a random secret; only its SHA-256 is stored. It works once and for
``PAX_PASSWORD_RESET_MINUTES`` (30 by default); a newer link voids the older ones. Whoever asks
gets the same answer whether the address names an account or not. A finished reset ends every
session of the account, clears its lockout and keeps its second factor.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext

from app.audit.services import record
from app.auth.models import User, UserStatus
from app.auth.onboarding_models import PasswordReset
from app.auth.passwords import account_context, hash_password, password_problem
from app.auth.services import find_user_by_email
from app.auth.sessions import revoke_sessions
from app.db import utcnow
from app.extensions import db
from app.i18n import in_language_of
from app.notifications.models import OutboxMessage
from app.notifications.services import absolute_url
from app.validation import ValidationError

log = logging.getLogger("pax.auth")


def reset_answer(minutes: int) -> str:
    """What anyone asking for a reset is told, whether the address names an account or not."""
    return ngettext(
        "If an account exists for that address, we have sent a link to set a new password. "
        "The link works once, for %(num)d minute. If nothing arrives, check your spam folder or "
        "ask your organisation's focal point.",
        "If an account exists for that address, we have sent a link to set a new password. "
        "The link works once, for %(num)d minutes. If nothing arrives, check your spam folder or "
        "ask your organisation's focal point.",
        minutes,
    )


def secret_and_hash() -> tuple[str, str]:
    """A new link secret and the SHA-256 that is stored instead of it."""
    secret = secrets.token_urlsafe(32)
    return secret, token_digest(secret)


def token_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def mail_link(endpoint: str, **values: str) -> str:
    """An absolute link under ``PAX_BASE_URL``, built from the URL map alone (also from the CLI)."""
    return absolute_url(current_app.url_map.bind("pax.invalid").build(endpoint, values))


def queue_plain_mail(to_address: str, subject: str, body: str, user_id: int | None = None) -> OutboxMessage:
    """A mail in the outbox, in the caller's transaction; ``flask outbox send`` delivers it."""
    message = OutboxMessage(user_id=user_id, to_address=to_address, subject=subject[:300], body=body)
    db.session.add(message)
    return message


def _minutes() -> int:
    return int(current_app.config["PASSWORD_RESET_MINUTES"])


def _void_open_links(user_id: int) -> None:
    db.session.execute(
        sa.update(PasswordReset)
        .where(PasswordReset.user_id == user_id, PasswordReset.used_at.is_(None))
        .values(used_at=utcnow())
    )


def _sso_only_mail(user: User) -> None:
    with in_language_of(user):
        queue_plain_mail(
            user.email,
            _("PAX: about your password"),
            "\n".join(
                [
                    _("Hello %(name)s,", name=user.name),
                    "",
                    _(
                        "Someone asked to reset the password of your PAX account. Your account signs in\n"
                        "through your organisation's own sign-in service, so it has no PAX password to reset.\n"
                        "Sign in at %(url)s with your work address and your company account.",
                        url=mail_link("auth.login"),
                    ),
                    "",
                    _("If you did not ask for this, you can ignore this message."),
                ]
            ),
            user_id=user.id,
        )


def _send_link(user: User, requested_by: User | None) -> PasswordReset:
    _void_open_links(user.id)
    secret, digest = secret_and_hash()
    now = utcnow()
    reset = PasswordReset(
        user_id=user.id,
        token_hash=digest,
        created_at=now,
        expires_at=now + timedelta(minutes=_minutes()),
        requested_by_id=requested_by.id if requested_by is not None else None,
    )
    db.session.add(reset)
    db.session.flush()
    with in_language_of(user):
        intro = (
            _("A PAX administrator has sent you a link to set a new password for your PAX account:")
            if requested_by is not None
            else _("Someone, probably you, asked for a link to set a new password for your PAX account:")
        )
        queue_plain_mail(
            user.email,
            _("PAX: set a new password"),
            "\n".join(
                [
                    _("Hello %(name)s,", name=user.name),
                    "",
                    intro,
                    "",
                    mail_link("onboarding.reset_password", token=secret),
                    "",
                    ngettext(
                        "The link works once, for %(num)d minute. Setting a new password signs you out\n"
                        "everywhere; your second factor stays as it is.",
                        "The link works once, for %(num)d minutes. Setting a new password signs you out\n"
                        "everywhere; your second factor stays as it is.",
                        _minutes(),
                    ),
                    "",
                    _("If you did not ask for this, ignore this message: your password stays as it is."),
                ]
            ),
            user_id=user.id,
        )
    return reset


def request_reset(email: str) -> None:
    """The owner's "Forgot your password?": a link for an active account with a password, a
    short note for an SSO-only one, nothing otherwise. The caller answers ``reset_answer`` in
    every case. The secret is never logged nor audited."""
    secret_and_hash()  # the same work whether or not the address names an account
    user = find_user_by_email(email)
    if user is None or user.status is not UserStatus.ACTIVE or user.erased_at is not None:
        log.info("password reset asked for an address with no active account")
        return
    if user.password_hash is None:
        _sso_only_mail(user)
        record("auth.password_reset_request", actor=user, target=("user", user.id), sent="sso_note")
        return
    reset = _send_link(user, None)
    record("auth.password_reset_request", actor=user, target=("user", user.id), reset_id=reset.id)
    log.info("password reset link queued for user %s", user.id)


def reset_problem(user: User) -> str | None:
    """Why an administrator cannot send ``user`` a reset link, or None."""
    if user.erased_at is not None:
        return _("This account's personal data is erased; there is nobody to send a link to.")
    if user.status is not UserStatus.ACTIVE:
        return _("Only active accounts can get a password reset link. Reactivate or approve the account first.")
    if user.password_hash is None:
        return _("This account signs in through its organisation's own sign-in service; it has no PAX password.")
    return None


def send_reset(user: User, administrator: User) -> PasswordReset:
    """An administrator sends ``user`` a reset link (the caller audits it)."""
    if problem := reset_problem(user):
        raise ValidationError({"password": problem})
    return _send_link(user, administrator)


def reset_for_token(secret: str) -> PasswordReset | None:
    """The unused, unexpired reset of an active account that ``secret`` opens, or None."""
    if not secret or len(secret) > 200:
        return None
    reset = db.session.scalar(sa.select(PasswordReset).where(PasswordReset.token_hash == token_digest(secret)))
    if reset is None or reset.used_at is not None or reset.expires_at <= utcnow():
        return None
    if reset.user.status is not UserStatus.ACTIVE or reset.user.erased_at is not None:
        return None
    return reset


def complete_reset(reset: PasswordReset, new: str, confirm: str) -> User:
    """Set the new password: the link is used up, every session of the account ends, the
    lockout is cleared and the second factor is kept. Audited, without the secret."""
    errors: dict[str, str] = {}
    if problem := password_problem(new or "", **account_context(reset.user)):
        errors["new_password"] = problem
    elif new != confirm:
        errors["confirm_password"] = _("The two passwords differ.")
    if errors:
        raise ValidationError(errors)
    user = reset.user
    user.password_hash = hash_password(new)
    user.password_must_change = False
    user.failed_logins = 0
    user.locked_until = None
    _void_open_links(user.id)
    reset.used_at = utcnow()
    ended = revoke_sessions(user.id)
    record(
        "auth.password_reset",
        actor=user,
        target=("user", user.id),
        target_org=user.organisation_id,
        sessions=ended,
        by_administrator=reset.requested_by_id is not None,
    )
    log.info("password reset for user %s; %s sessions ended", user.id, ended)
    return user
