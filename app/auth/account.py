"""The signed-in user's own account: password, second factor, sessions and API tokens."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from app import localtime
from app.audit.services import record
from app.auth import mfa, stepup
from app.auth.accounts import change_password, reset_mfa
from app.auth.blueprint import account_bp as bp
from app.auth.devices import device_label
from app.auth.forms import (
    DirectoryEntryForm,
    LanguageForm,
    MfaEnrolForm,
    PasswordChangeForm,
    StepUpForm,
    TimeZoneForm,
    TokenForm,
)
from app.auth.models import UserSession
from app.auth.passwords import account_context, password_problem
from app.auth.sessions import current_session_row, end_session, revoke_sessions
from app.auth.tokens import create_token, revoke_token, user_tokens
from app.db import utcnow
from app.extensions import db, limiter
from app.i18n import browser_language, remember_language
from app.policy import authorize, mfa_required
from app.privacy.export import export_personal_data
from app.validation import ValidationError


@bp.before_request
@login_required
def require_account_rights() -> None:
    authorize(current_user, "manage_own_account")


def _live_sessions() -> list[UserSession]:
    """The signed-in member's own sessions that still work (not ended, expired or idle too long)."""
    now = utcnow()
    idle = timedelta(minutes=current_app.config["SESSION_IDLE_MINUTES"])
    return list(
        db.session.scalars(
            sa.select(UserSession)
            .where(
                UserSession.user_id == current_user.id,
                UserSession.revoked_at.is_(None),
                UserSession.expires_at > now,
                UserSession.last_seen_at > now - idle,
            )
            .order_by(UserSession.last_seen_at.desc())
        )
    )


def _render_overview(status: int = 200, **forms: Any) -> Any:
    context = {
        "password_form": forms.get("password_form") or PasswordChangeForm(formdata=None),
        "token_form": forms.get("token_form") or TokenForm(formdata=None),
        "time_zone_form": forms.get("time_zone_form")
        or TimeZoneForm(formdata=None, time_zone=current_user.time_zone or ""),
        "language_form": forms.get("language_form")
        or LanguageForm(formdata=None, language=current_user.language or ""),
        "recovery_form": forms.get("recovery_form") or StepUpForm(formdata=None),
        "remove_mfa_form": forms.get("remove_mfa_form") or StepUpForm(formdata=None),
        "sessions_form": forms.get("sessions_form") or StepUpForm(formdata=None),
        "stepup": stepup.asks(),
        "stepup_minutes": current_app.config["STEPUP_MINUTES"],
        "sessions": _live_sessions(),
        "current_session": current_session_row(),
        "device_label": device_label,
        "max_sessions": current_app.config.get("MAX_SESSIONS_PER_ACCOUNT", 0),
        "tokens": user_tokens(current_user),
        "mfa_required": mfa_required(current_user),
        "recovery_left": mfa.recovery_codes_left(current_user),
        "new_token": forms.get("new_token"),
        "directory_form": forms.get("directory_form")
        or DirectoryEntryForm(
            formdata=None,
            work_phone=current_user.work_phone,
            show_email=current_user.directory_shows_email,
            show_phone=current_user.directory_shows_phone,
        ),
    }
    return render_template("account/index.html", **context), status


@bp.route("/")
def index() -> Any:
    return _render_overview()


@bp.route("/data.json")
@limiter.limit("10 per minute")
def data_export() -> Response:
    """What PAX holds about the signed-in member, as a JSON file (``app.privacy.export``)."""
    document = export_personal_data(current_user)
    response = current_app.response_class(
        json.dumps(document, indent=2, ensure_ascii=False, sort_keys=False) + "\n", mimetype="application/json"
    )
    day = utcnow().date().isoformat()
    response.headers["Content-Disposition"] = f'attachment; filename="pax-personal-data-{day}.json"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/directory", methods=["POST"])
def directory_entry() -> Any:
    """What the member directory shows of the member's work contact: their choice, audited
    without the values."""
    form = DirectoryEntryForm()
    if not form.validate_on_submit():
        return _render_overview(422, directory_form=form)
    current_user.work_phone = form.work_phone.data
    current_user.directory_shows_email = bool(form.show_email.data)
    current_user.directory_shows_phone = bool(form.show_phone.data) and bool(form.work_phone.data)
    record(
        "account.directory_entry",
        actor=current_user,
        target=("user", current_user.id),
        shows_email=current_user.directory_shows_email,
        shows_phone=current_user.directory_shows_phone,
    )
    flash(_("Your directory entry is saved."), "success")
    return redirect(url_for("account.index", _anchor="directory-title"))


@bp.route("/time-zone", methods=["POST"])
def time_zone() -> Any:
    form = TimeZoneForm()
    if not form.validate_on_submit():
        return _render_overview(422, time_zone_form=form)
    current_user.time_zone = form.time_zone.data or None
    zone = current_user.time_zone
    record("auth.time_zone_change", actor=current_user, target=("user", current_user.id), time_zone=zone)
    shown = current_user.time_zone or localtime.DEFAULT_ZONE_NAME
    flash(_("PAX now shows dates and times in %(zone)s time.", zone=shown.replace("_", " ")), "success")
    return redirect(url_for("account.index"))


@bp.route("/language", methods=["POST"])
def language() -> Any:
    form = LanguageForm()
    if not form.validate_on_submit():
        return _render_overview(422, language_form=form)
    current_user.language = form.language.data or None
    record("auth.language_change", actor=current_user, target=("user", current_user.id), language=current_user.language)
    # The confirmation is already in the language just chosen.
    with force_locale(current_user.language or browser_language()):
        flash(_("PAX now writes your pages and e-mails in this language."), "success")
    response = redirect(url_for("account.index"))
    remember_language(response, current_user.language)
    return response


@bp.route("/password", methods=["POST"])
def password() -> Any:
    form = PasswordChangeForm()
    if not form.validate_on_submit():
        return _render_overview(422, password_form=form)
    if not stepup.require_recent_auth(form, password_field=form.current_password, action="password_change"):
        # Say what else is wrong too, so one more try is enough.
        if problem := password_problem(form.new_password.data or "", **account_context(current_user)):
            form.new_password.errors = [problem]
        elif form.new_password.data != form.confirm_password.data:
            form.confirm_password.errors = [_("The two new passwords differ.")]
    else:
        try:
            change_password(
                current_user, form.current_password.data, form.new_password.data, form.confirm_password.data
            )
        except ValidationError as exc:
            for name, message in exc.fields.items():
                getattr(form, name).errors = [message]
        else:
            record("auth.password_change", actor=current_user, target=("user", current_user.id))
            flash(_("Your password is changed. Your other sessions have been signed out."), "success")
            return redirect(url_for("account.index"))
    return _render_overview(422, password_form=form)


def _unconfirmed(action: str) -> StepUpForm | None:
    """Ending sessions asks for a fresh factor (ASVS 5.0 V7.5.2): a stolen cookie must not sign its
    owner out everywhere else and keep the account to itself. The same step-up as a password change:
    None when it is done (now or within ``PAX_STEPUP_MINUTES``), else the form carrying what to fix."""
    form = StepUpForm()
    if form.validate_on_submit() and stepup.require_recent_auth(form, action=action):
        return None
    return form


@bp.route("/sessions/revoke-all", methods=["POST"])
def revoke_all_sessions() -> Any:
    """Sign out everywhere, this browser included."""
    if (unconfirmed := _unconfirmed("session_revoke_all")) is not None:
        return _render_overview(422, sessions_form=unconfirmed)
    ended = revoke_sessions(current_user.id)
    record("auth.session_revoke_all", actor=current_user, target=("user", current_user.id), sessions=ended)
    end_session()
    flash(_("You have been signed out of every session."), "success")
    return redirect(url_for("auth.login"))


@bp.route("/sessions/revoke-others", methods=["POST"])
def revoke_other_sessions() -> Any:
    """Sign out every other browser and keep this one."""
    if (unconfirmed := _unconfirmed("session_revoke_others")) is not None:
        return _render_overview(422, sessions_form=unconfirmed)
    ended = revoke_sessions(current_user.id, keep_current=True, reason="signed_out_elsewhere")
    record("auth.session_revoke_others", actor=current_user, target=("user", current_user.id), sessions=ended)
    flash(
        ngettext(
            "Your other sessions have been signed out (%(num)d).",
            "Your other sessions have been signed out (%(num)d).",
            ended,
        )
        if ended
        else _("You had no other sessions."),
        "success",
    )
    return redirect(url_for("account.index"))


@bp.route("/sessions/<int:session_id>/revoke", methods=["POST"])
def revoke_one_session(session_id: int) -> Any:
    """Sign out one session; this browser's own is simply signing out (no step-up needed)."""
    row = db.session.get(UserSession, session_id)
    if row is None or row.user_id != current_user.id:
        abort(404)
    current = current_session_row()
    if current is not None and row.id == current.id:
        end_session()
        flash(_("You have signed out."), "success")
        return redirect(url_for("auth.login"))
    if (unconfirmed := _unconfirmed("session_revoke")) is not None:
        return _render_overview(422, sessions_form=unconfirmed)
    row = db.session.get_one(UserSession, session_id)  # the step-up's own transaction may have expired it
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        row.ended_reason = "signed_out_elsewhere"
    record("auth.session_revoke", actor=current_user, target=("session", row.id))
    flash(
        _("The session on %(device)s has been signed out.", device=device_label(row.device))
        if row.device
        else _("The session on an unknown device has been signed out."),
        "success",
    )
    return redirect(url_for("account.index"))


@bp.route("/tokens", methods=["POST"])
@limiter.limit("10 per minute")
def tokens() -> Any:
    form = TokenForm()
    if form.validate_on_submit() and stepup.require_recent_auth(form, action="token_create"):
        try:
            token, secret = create_token(current_user, form.name.data, form.scope.data, form.days.data)
        except ValidationError as exc:
            for name, message in exc.fields.items():
                getattr(form, name).errors = [message]
        else:
            return _render_overview(201, new_token={"token": token, "secret": secret})
    return _render_overview(422, token_form=form)


@bp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
def revoke(token_id: int) -> Response:
    if not revoke_token(current_user, token_id):
        abort(404)
    flash(_("The token is revoked; systems using it can no longer call the API."), "success")
    return redirect(url_for("account.index"))


MFA_ENROL_KEY = "pax_mfa_enrol"


@bp.route("/mfa", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def mfa_settings() -> Any:
    """Enrol a second factor (optional for members, required for some roles)."""
    if current_user.totp_secret_sealed is not None:
        return redirect(url_for("account.index"))
    form = MfaEnrolForm()
    secret, session[MFA_ENROL_KEY] = mfa.enrolment_secret(current_user, session.get(MFA_ENROL_KEY))
    if form.validate_on_submit():
        codes = mfa.enrol(current_user, secret, form.code.data or "")
        if codes is not None:
            session.pop(MFA_ENROL_KEY, None)
            revoke_sessions(current_user.id, keep_current=True)
            return render_template("auth/recovery_codes.html", codes=codes, next_url=url_for("account.index"))
        form.code.errors = [_("That code is not valid. Check your app's clock and enter the current code.")]
    uri = mfa.provisioning_uri(current_user, secret)
    status = 422 if request.method == "POST" else 200
    return (
        render_template(
            "auth/mfa_setup.html", form=form, secret=secret, qr=mfa.qr_data_uri(uri), required=False, cancel=False
        ),
        status,
    )


@bp.route("/mfa/recovery-codes", methods=["POST"])
def new_recovery_codes() -> Any:
    if current_user.totp_secret_sealed is None:
        return redirect(url_for("account.mfa_settings"))
    form = StepUpForm()
    if not (form.validate_on_submit() and stepup.require_recent_auth(form, action="recovery_codes")):
        return _render_overview(422, recovery_form=form)
    codes = mfa.replace_recovery_codes(current_user)
    record("auth.recovery_codes", actor=current_user, target=("user", current_user.id), count=len(codes))
    return render_template("auth/recovery_codes.html", codes=codes, next_url=url_for("account.index"))


@bp.route("/mfa/remove", methods=["POST"])
def remove_mfa() -> Response:
    if mfa_required(current_user):
        flash(_("Your role requires a second factor; an administrator can reset it if you lose your device."), "error")
        return redirect(url_for("account.index"))
    form = StepUpForm()
    if not (form.validate_on_submit() and stepup.require_recent_auth(form, action="mfa_remove")):
        return _render_overview(422, remove_mfa_form=form)
    reset_mfa(current_user)
    record("auth.mfa_remove", actor=current_user, target=("user", current_user.id))
    end_session()
    flash(_("Your second factor is removed. Sign in again."), "success")
    return redirect(url_for("auth.login"))


@bp.route("/confirm", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def confirm() -> Any:
    """Prove it is you again (password and/or second factor), then go on to ``next``: the step-up
    page for sensitive actions that live elsewhere (e.g. linking a provider identity)."""
    from app.auth.routes import safe_next

    form = StepUpForm()
    target = safe_next(form.next.data if request.method == "POST" else request.args.get("next"))
    target = target or url_for("account.index")
    if request.method == "GET" and not stepup.asks().anything:
        return redirect(target)
    if request.method == "POST" and form.validate_on_submit() and stepup.require_recent_auth(form, action="confirm"):
        return redirect(target)
    form.next.data = target
    status = 422 if request.method == "POST" else 200
    return render_template(
        "account/confirm.html",
        form=form,
        stepup=stepup.asks(),
        stepup_minutes=current_app.config["STEPUP_MINUTES"],
    ), status


@bp.route("/confirm/sign-in-again", methods=["POST"])
def sign_in_again() -> Response:
    """For accounts that sign in only through their organisation: end this session and sign in
    afresh, which counts as a recent re-authentication for ``PAX_STEPUP_MINUTES``."""
    from app.auth.routes import safe_next

    target = safe_next(request.form.get("next")) or url_for("account.index")
    end_session()
    flash(_("Sign in again to continue."), "info")
    return redirect(url_for("auth.login", next=target))
