"""Step-up: sensitive account actions ask again who you are, even inside a live session.

A stolen session cookie must not be enough to change the password, remove the second factor,
create an API token, make new recovery codes or link a provider identity. Those actions call
``require_recent_auth`` with a form that carries the ``StepUpFields``: the account's password
(when it has one) and the current authenticator code or a recovery code (when a second factor
is enrolled). A success is remembered on the session row for ``PAX_STEPUP_MINUTES``, so a member
doing several such things in a row is asked once.

An account with neither a password nor a second factor (it signs in only through its
organisation's SSO) proves itself by a fresh sign-in: a session started through SSO within the
window counts; otherwise it is asked to sign in again (``account.confirm`` offers that).

Typical use in a view::

    form = TokenForm()               # a FlaskForm that mixes in StepUpFields
    if form.validate_on_submit() and stepup.require_recent_auth(form):
        ...                          # the sensitive action
    # else render the form: form.reauth_password / form.reauth_code carry the errors and
    # stepup.asks(current_user) says which fields to show
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from wtforms import PasswordField, StringField
from wtforms.validators import Length, Optional

from app.audit.services import record
from app.auth import mfa
from app.auth.models import User, UserSession
from app.auth.passwords import verify_password
from app.auth.services import count_failure, locked_until
from app.auth.sessions import current_session_row
from app.auth.throttle import lockout_message
from app.db import utcnow
from app.extensions import db

log = logging.getLogger("pax.auth")


def sign_in_again_message(minutes: int) -> str:
    return ngettext(
        "For your security, sign in again to do this. Your account signs in through your organisation, "
        "so PAX cannot ask for a password: sign out, sign in again, and then try again within %(num)d minute.",
        "For your security, sign in again to do this. Your account signs in through your organisation, "
        "so PAX cannot ask for a password: sign out, sign in again, and then try again within %(num)d minutes.",
        minutes,
    )


class StepUpFields:
    """Mix into a ``FlaskForm``: the fields a sensitive action asks for again."""

    reauth_password = PasswordField(
        _l("Your password"), validators=[Optional(), Length(max=1024, message=_l("Too long."))]
    )
    reauth_code = StringField(
        _l("Code from your authenticator app, or a recovery code"), validators=[Optional(), Length(max=64)]
    )


@dataclass(frozen=True)
class Asks:
    """What the step-up asks of an account right now; nothing when its session re-authenticated recently."""

    password: bool
    code: bool
    #: Neither can be asked: only a fresh sign-in will do (SSO-only accounts without a second factor).
    sign_in_again: bool

    @property
    def anything(self) -> bool:
        return self.password or self.code or self.sign_in_again


def _window() -> timedelta:
    return timedelta(minutes=current_app.config["STEPUP_MINUTES"])


def _fresh_sso_sign_in(user: Any, row: Any) -> bool:
    return (
        user.password_hash is None
        and user.totp_secret_sealed is None
        and row.auth_method.startswith("sso")
        and row.created_at + _window() > utcnow()
    )


def recently_authenticated(user: Any = None) -> bool:
    """Did the owner of this session prove it is them within the window (``PAX_STEPUP_MINUTES``)?

    A step-up remembered on the session row counts; for an account that has neither a password
    nor a second factor, so does a fresh SSO sign-in.
    """
    user = user if user is not None else current_user
    row = current_session_row()
    if row is None or not getattr(user, "is_authenticated", False) or row.user_id != user.id:
        return False
    if row.reauthenticated_at is not None and row.reauthenticated_at + _window() > utcnow():
        return True
    return _fresh_sso_sign_in(user, row)


def asks(user: Any = None) -> Asks:
    """Which step-up fields a form should show to ``user`` (default: the signed-in user)."""
    user = user if user is not None else current_user
    if recently_authenticated(user):
        return Asks(False, False, False)
    has_password = user.password_hash is not None
    has_code = user.totp_secret_sealed is not None
    return Asks(has_password, has_code, not has_password and not has_code)


def require_recent_auth(form: Any, *, password_field: Any = None, action: str = "") -> bool:
    """True when the signed-in user may do a sensitive action now.

    Either the session re-authenticated recently, or ``form``'s ``StepUpFields`` hold the account's
    password and (when enrolled) a current authenticator or recovery code; ``password_field``
    stands in for ``form.reauth_password`` where the form already asks for the password (the
    password change's "current password"). A success is remembered on the session row; a failure puts plain errors
    on the form's fields, counts towards the account's lockout and is audited, without the secrets.

    The proof is kept whatever comes next: a failure although its request is refused, a success
    (the code used, the session's step-up) although the action may still refuse its input. So it
    is checked and written in a transaction of its own (``db.independent_transaction``), which
    first discards what the request changed so far (nothing of the action: the proof comes first).
    """
    user = current_user
    needed = asks(user)
    if not needed.anything:
        return True
    user_id, row = user.id, current_session_row()
    row_id = row.id if row is not None else None
    with db.independent_transaction() as session:
        proving = session.get_one(User, user_id)
        ok = _prove(proving, form, needed, password_field, action)
        if ok and row_id is not None:
            session.get_one(UserSession, row_id).reauthenticated_at = utcnow()
    return ok


def _prove(user: Any, form: Any, needed: Asks, password_field: Any, action: str) -> bool:
    if needed.sign_in_again:
        minutes = current_app.config["STEPUP_MINUTES"]
        form.reauth_code.errors = [sign_in_again_message(minutes)]
        record("auth.stepup", actor=user, outcome="denied", reason="sign_in_again", step=action or None)
        return False
    pw_field = password_field if password_field is not None else form.reauth_password
    if locked_until(user):
        pw_field.errors = [lockout_message(locked_until(user))]
        record("auth.stepup", actor=user, outcome="denied", reason="locked", step=action or None)
        return False
    typed = pw_field.data or ""
    code = (form.reauth_code.data or "").strip()
    ok = True
    if needed.password:
        if not typed:
            pw_field.errors = [_("Enter your password to confirm it is you.")]
            ok = False
        elif not verify_password(user.password_hash, typed):
            pw_field.errors = [
                _("Your current password is not correct.")
                if password_field is not None
                else _("That password is not correct.")
            ]
            ok = False
    if needed.code:
        if not code:
            form.reauth_code.errors = [_("Enter the code from your authenticator app, or a recovery code.")]
            ok = False
        elif ok and not (mfa.verify_totp(user, code) or mfa.use_recovery_code(user, code)):
            form.reauth_code.errors = [_("That code is not valid. Try the current code.")]
            ok = False
    if not ok:
        if typed or code:
            count_failure(user)
            if locked_until(user):
                pw_field.errors = [lockout_message(locked_until(user))]
        record("auth.stepup", actor=user, outcome="denied", reason="bad_proof", step=action or None)
        log.info("step-up refused for user %s", user.id)
        return False
    user.failed_logins = 0
    record("auth.stepup", actor=user, step=action or None)
    return True
