"""The pages a mailed link opens: "Forgot your password?", setting a new password, accepting an
invitation. Anyone may reach them; what they can do is decided by the link's secret alone."""

from __future__ import annotations

import time
from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.wrappers import Response

from app.auth import invitations, reset, throttle
from app.auth.blueprint import onboarding_bp as bp
from app.auth.onboarding_forms import ForgotPasswordForm, NewPasswordForm
from app.extensions import limiter
from app.validation import ValidationError

#: The "Forgot your password?" answer takes at least this long, whether or not a mail is queued,
#: so its timing does not tell which addresses have an account.
ANSWER_SECONDS = 0.35


def _reset_account_limit() -> str:
    return current_app.config["LOGIN_LIMIT_PER_ACCOUNT"]


@bp.after_request
def _links_stay_private(response: Response) -> Response:
    """A page opened from a secret link is never cached, and never tells another site its address."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.route("/login/forgot", methods=["GET", "POST"])
@limiter.limit(throttle.address_limit, methods=["POST"], scope="reset-address", error_message=throttle.address_message)
@limiter.limit(
    _reset_account_limit,
    methods=["POST"],
    key_func=throttle.submitted_account,
    scope="reset-account",
    error_message=throttle.account_message,
)
def forgot_password() -> Any:
    form = ForgotPasswordForm()
    if request.method == "GET":
        form.email.data = (request.args.get("email") or "")[:320]
        return render_template("auth/forgot_password.html", form=form, sent=False)
    if not form.validate_on_submit():
        return render_template("auth/forgot_password.html", form=form, sent=False), 422
    started = time.monotonic()
    reset.request_reset(form.email.data or "")
    # The same answer, after the same time, for every address.
    time.sleep(max(0.0, ANSWER_SECONDS - (time.monotonic() - started)))
    message = reset.reset_answer(int(current_app.config["PASSWORD_RESET_MINUTES"]))
    return render_template("auth/forgot_password.html", form=form, sent=True, message=message)


LINK_DEAD = _l(
    "This link does not work any more: it was used already, it has expired, or a newer one was sent. "
    "Ask for a new link."
)


@bp.route("/login/reset/<token>", methods=["GET", "POST"])
@limiter.limit(throttle.address_limit, methods=["POST"], scope="reset-address", error_message=throttle.address_message)
def reset_password(token: str) -> Any:
    found = reset.reset_for_token(token)
    if found is None:
        return render_template("auth/link_dead.html", message=str(LINK_DEAD), forgot=True), 404
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            reset.complete_reset(found, form.new_password.data or "", form.confirm_password.data or "")
        except ValidationError as exc:
            for name, text in exc.fields.items():
                getattr(form, name).errors = [text]
        else:
            if current_user.is_authenticated:
                from app.auth.sessions import end_session

                end_session()
            flash(
                _(
                    "Your new password is set and every session of your account has ended. "
                    "Sign in with your new password."
                ),
                "success",
            )
            return redirect(url_for("auth.login"))
    status = 422 if request.method == "POST" else 200
    return render_template("auth/reset_password.html", form=form, user=found.user), status


@bp.route("/invitation/<token>", methods=["GET", "POST"])
@limiter.limit(throttle.address_limit, methods=["POST"], scope="reset-address", error_message=throttle.address_message)
def accept_invitation(token: str) -> Any:
    invitation = invitations.invitation_for_token(token)
    if invitation is None:
        message = _(
            "This invitation link does not work any more: it was used already, it has expired, was "
            "withdrawn, or a newer one was sent. Ask the colleague who invited you to send it again."
        )
        return render_template("auth/link_dead.html", message=message, forgot=False), 404
    if current_user.is_authenticated:
        flash(_("You are signed in already. Sign out first to accept an invitation for another address."), "info")
        return redirect(url_for("main.dashboard"))
    if invitation.via_sso:
        return render_template("auth/invitation.html", invitation=invitation, form=None)
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            user = invitations.accept(invitation, form.new_password.data or "", form.confirm_password.data or "")
        except ValidationError as exc:
            for name, text in exc.fields.items():
                field = {"password": "new_password"}.get(name, name)
                getattr(form, field, form.new_password).errors = [text]
        else:
            from app.auth.routes import _after_first_factor

            response = _after_first_factor(user, "password", mfa_asserted=False, next_url=None)
            flash(_("Welcome to PAX, %(name)s. Your account is ready.", name=user.name), "success")
            return response
    status = 422 if request.method == "POST" else 200
    return render_template("auth/invitation.html", invitation=invitation, form=form), status
