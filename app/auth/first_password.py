"""A password someone else chose is changed before anything else (ASVS 5.0 V6.4.1).

``users create`` without ``--password-stdin`` generates a password and prints it to the operator,
who passes it on: the account is marked ``password_must_change``. After signing in with that
password, every page but *Your account* (where the password is changed) and signing out sends the
member there, and every other form is refused the same way, until the account has a password of
its own (``app.auth.accounts.change_password`` or a reset clears the mark).

Only sessions started with the password are held: an SSO sign-in does not use the generated
password, and API tokens (``/api/v1``, bearer tokens, no session) are not affected.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, flash, redirect, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

#: What a member with a generated password may still reach: the page with the password form, the
#: change itself, signing out, and what pages need to load (static files).
ALLOWED_ENDPOINTS = frozenset({"account.index", "account.password", "auth.logout", "static"})
#: Blueprints outside the browser session: the token-authenticated API and the health probes.
EXEMPT_BLUEPRINTS = frozenset({"api", "health"})

MESSAGE = _l(
    "Your password was generated for you when your account was created. Choose a password of your own "
    "before you continue: enter the password you signed in with as the current password."
)


def must_change_now() -> bool:
    """Does this request come from a password session of an account still holding a generated password?"""
    from app.auth.sessions import current_session_row

    if not current_user.is_authenticated or not getattr(current_user, "password_must_change", False):
        return False
    row = current_session_row()
    return row is not None and row.auth_method == "password"


def register(app: Flask) -> None:
    @app.before_request
    def hold_until_password_changed() -> Any:
        if request.endpoint in ALLOWED_ENDPOINTS or request.blueprint in EXEMPT_BLUEPRINTS:
            return None
        if not must_change_now():
            return None
        flash(str(MESSAGE), "warning")
        return redirect(url_for("account.index", _anchor="password-title"))
