"""Sign-in: e-mail first (home-realm discovery), then the password or the organisation's SSO,
then the second factor where one is required or enrolled."""

from __future__ import annotations

import logging
import time
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from app.audit.services import record
from app.auth import mfa
from app.auth.forms import LoginForm, MfaEnrolForm, MfaForm
from app.auth.models import IdentityProvider, User, UserStatus
from app.auth.services import LoginOutcome, authenticate, locked_until, record_failure, record_success
from app.auth.sessions import end_session, start_session
from app.auth.sso import SsoError, SsoOutcome, claims_options, client_for, providers_for_email, resolve_sso_user
from app.extensions import db, limiter
from app.policy import mfa_required

bp = Blueprint("auth", __name__)
log = logging.getLogger("pax.auth")

BAD_CREDENTIALS = "The e-mail address or password is incorrect."
OUTCOME_MESSAGES = {
    LoginOutcome.PENDING: "Your account is awaiting approval by your organisation's focal point or an administrator.",
    LoginOutcome.SUSPENDED: "Your account is suspended. Contact your organisation's focal point.",
}
#: Key of the half-finished sign-in (first factor passed, second factor to come) in the session.
PENDING_KEY = "pax_auth"
PENDING_SECONDS = 600


def _login_limit() -> str:
    return current_app.config["RATELIMIT_LOGIN"]


def safe_next(target: str | None) -> str | None:
    """Accept only a path on this host: no scheme, no host, no protocol-relative or backslash tricks."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(ord(ch) < 32 for ch in target):
        return None
    return target


def _lockout_message(user: User) -> str:
    until = locked_until(user)
    when = until.strftime("%H:%M UTC") if until else "a few minutes"
    return f"Too many failed sign-in attempts. For your security this account is locked; try again after {when}."


def _sso_origin(url: str | None) -> str | None:
    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c in parts.netloc for c in " ;,'\""):
        return None
    return f"{parts.scheme}://{parts.netloc}"


@bp.after_request
def _sign_in_form_may_lead_to_sso(response: Response) -> Response:
    """The e-mail form of the sign-in page ends, for an SSO domain, in redirects to the provider,
    and browsers check every hop of a form's navigation against ``form-action``: the sign-in page
    admits the enabled providers' origins besides its own (the issuer's and the discovery URL's)."""
    if request.endpoint != "auth.login" or response.mimetype != "text/html":
        return response
    from app.security import CSP

    rows = db.session.execute(
        sa.select(IdentityProvider.issuer, IdentityProvider.metadata_url).where(IdentityProvider.enabled)
    )
    origins = sorted({o for row in rows for o in map(_sso_origin, row) if o})
    if origins:
        response.headers["Content-Security-Policy"] = CSP.replace(
            "form-action 'self'", "form-action 'self' " + " ".join(origins)
        )
    return response


# --- first factor ----------------------------------------------------------------------------------


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login() -> Any:
    if current_user.is_authenticated:
        return redirect(url_for("main.dashboard"))
    form = LoginForm()
    if request.method == "GET":
        form.next.data = safe_next(request.args.get("next")) or ""
        return render_template("auth/login.html", form=form, step="email", error=None)
    if not form.validate_on_submit():
        step = "password" if form.password.data else "email"
        return render_template("auth/login.html", form=form, step=step, error=None), 422
    email = form.email.data or ""
    if not form.password.data:
        providers = providers_for_email(email)
        if len(providers) == 1:
            session["pax_login_next"] = safe_next(form.next.data) or ""
            return redirect(url_for("auth.sso_start", provider_id=providers[0].id, login_hint=email))
        if providers:
            return render_template("auth/choose_provider.html", providers=providers, email=email)
        if "password" in request.form:
            form.password.errors = ["Enter your password."]
            return render_template("auth/login.html", form=form, step="password", error=None), 422
        return render_template("auth/login.html", form=form, step="password", error=None)
    outcome, user = authenticate(email, form.password.data)
    if outcome is LoginOutcome.OK and user is not None:
        return _after_first_factor(user, "password", mfa_asserted=False, next_url=form.next.data)
    error = _lockout_message(user) if outcome is LoginOutcome.LOCKED and user else None
    error = error or OUTCOME_MESSAGES.get(outcome, BAD_CREDENTIALS)
    return render_template("auth/login.html", form=form, step="password", error=error), 422


def _after_first_factor(user: User, method: str, mfa_asserted: bool, next_url: str | None) -> Response:
    """Second factor when enrolled or required (unless the SSO provider asserted one), then the session."""
    target = safe_next(next_url) or url_for("main.dashboard")
    enrolled = user.totp_secret_sealed is not None
    if enrolled and not mfa_asserted:
        _set_pending(user, method, target)
        return redirect(url_for("auth.mfa_verify"))
    if not enrolled and mfa_required(user) and not mfa_asserted:
        _set_pending(user, method, target)
        return redirect(url_for("auth.mfa_setup"))
    record_success(user)
    start_session(user, method)
    return redirect(target)


def _set_pending(user: User, method: str, target: str) -> None:
    session.clear()
    session[PENDING_KEY] = {"uid": user.id, "method": method, "next": target, "at": int(time.time())}


def _pending_user() -> tuple[User | None, dict[str, Any]]:
    state = session.get(PENDING_KEY) or {}
    if not state or time.time() - state.get("at", 0) > PENDING_SECONDS:
        session.pop(PENDING_KEY, None)
        return None, {}
    user = db.session.get(User, state.get("uid"))
    if user is None or user.status is not UserStatus.ACTIVE:
        session.pop(PENDING_KEY, None)
        return None, {}
    return user, state


# --- second factor ----------------------------------------------------------------------------------


def _second_factor(user: User, code: str) -> str | None:
    """Which second factor ``code`` passes for ``user`` (``totp`` or ``recovery_code``), or None."""
    if mfa.verify_totp(user, code):
        return "totp"
    if mfa.use_recovery_code(user, code):
        return "recovery_code"
    return None


@bp.route("/login/mfa", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def mfa_verify() -> Any:
    user, state = _pending_user()
    if user is None or user.totp_secret_sealed is None:
        flash("Sign in again to continue.", "info")
        return redirect(url_for("auth.login"))
    form = MfaForm()
    error = None
    if form.validate_on_submit():
        if locked_until(user):
            error = _lockout_message(user)
            record("auth.mfa_verify", actor=user, outcome="denied", reason="locked")
        elif method := _second_factor(user, form.code.data or ""):
            record("auth.mfa_verify", actor=user, method=method)
            record_success(user)
            start_session(user, state["method"])
            left = mfa.recovery_codes_left(user)
            if left <= 3:
                flash(f"You have {left} recovery codes left. Create new ones on your account page.", "warning")
            return redirect(state["next"])
        else:
            record("auth.mfa_verify", actor=user, outcome="denied", reason="bad_code")
            record_failure(user)
            error = _lockout_message(user) if locked_until(user) else "That code is not valid. Try the current code."
    status = 422 if request.method == "POST" else 200
    return render_template("auth/mfa_verify.html", form=form, error=error), status


@bp.route("/login/mfa/setup", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def mfa_setup() -> Any:
    """Enrolment that a required second factor forces before the first session starts."""
    user, state = _pending_user()
    if user is None:
        flash("Sign in again to continue.", "info")
        return redirect(url_for("auth.login"))
    if user.totp_secret_sealed is not None:
        return redirect(url_for("auth.mfa_verify"))
    form = MfaEnrolForm()
    secret, state["enrol"] = mfa.enrolment_secret(user, state.get("enrol"))
    session[PENDING_KEY] = state
    if form.validate_on_submit():
        codes = mfa.enrol(user, secret, form.code.data or "")
        if codes is not None:
            record_success(user)
            start_session(user, state["method"])
            return render_template("auth/recovery_codes.html", codes=codes, next_url=state["next"])
        form.code.errors = ["That code is not valid. Check your app's clock and enter the current code."]
    status = 422 if request.method == "POST" else 200
    uri = mfa.provisioning_uri(user, secret)
    return (
        render_template(
            "auth/mfa_setup.html", form=form, secret=secret, qr=mfa.qr_data_uri(uri), required=True, cancel=True
        ),
        status,
    )


# --- SSO ------------------------------------------------------------------------------------------------


@bp.route("/login/sso/<int:provider_id>")
@limiter.limit(_login_limit)
def sso_start(provider_id: int) -> Any:
    provider = _enabled_provider_or_404(provider_id)
    hint = (request.args.get("login_hint") or "")[:320]
    redirect_uri = url_for("auth.sso_callback", provider_id=provider.id, _external=True)
    try:
        client = client_for(provider)
        extra = {"login_hint": hint} if hint else {}
        return client.authorize_redirect(redirect_uri, **extra)
    except Exception as exc:  # discovery failed: the provider is down or misconfigured
        log.warning("SSO start failed for provider %s: %s", provider.id, type(exc).__name__)
        return _sso_failure(provider, "unreachable")


@bp.route("/login/sso/<int:provider_id>/callback")
@limiter.limit(_login_limit)
def sso_callback(provider_id: int) -> Any:
    provider = _enabled_provider_or_404(provider_id)
    if request.args.get("error"):
        return _sso_failure(provider, "denied")
    try:
        token = client_for(provider).authorize_access_token(claims_options=claims_options(provider))
    except Exception as exc:  # state, code, signature, issuer, audience or expiry refused, or provider down
        log.warning("SSO callback refused for provider %s: %s", provider.id, type(exc).__name__)
        return _sso_failure(provider, "refused")
    claims = dict(token.get("userinfo") or {})
    if not claims:
        return _sso_failure(provider, "refused")
    try:
        result = resolve_sso_user(provider, claims)
    except SsoError as exc:
        db.session.rollback()  # a refused sign-in links and creates nothing
        _sso_refused(provider, "account_refused")
        return render_template("auth/sso_error.html", provider=provider, message=exc.message), exc.status
    if result.outcome is SsoOutcome.PENDING:
        _sso_refused(provider, "pending", result.user)
        return redirect(url_for("auth.awaiting_approval"))
    next_url = session.pop("pax_login_next", None)
    return _after_first_factor(result.user, f"sso:{provider.id}", mfa_asserted=result.mfa_asserted, next_url=next_url)


def _enabled_provider_or_404(provider_id: int) -> IdentityProvider:
    provider = db.session.get(IdentityProvider, provider_id)
    if provider is None or not provider.enabled:
        abort(404)
    return provider


SSO_FAILURES = {
    "unreachable": (
        502,
        "The sign-in service of {org} cannot be reached at the moment. Try again in a few minutes; if it "
        "persists, contact your organisation's IT support.",
    ),
    "refused": (
        400,
        "PAX could not verify the answer of {org}'s sign-in service, so you are not signed in. Start again "
        "from the sign-in page; do not reuse an old sign-in link.",
    ),
    "denied": (400, "The sign-in at {org} was cancelled or refused. Start again from the sign-in page."),
}


def _sso_refused(provider: IdentityProvider, reason: str, user: User | None = None) -> None:
    """A refused SSO sign-in is an ``auth.login`` event (denied) naming the provider and why."""
    record("auth.login", actor=user, outcome="denied", method="sso", provider_id=provider.id, reason=reason)


def _sso_failure(provider: IdentityProvider, kind: str) -> tuple[str, int]:
    _sso_refused(provider, kind)
    status, message = SSO_FAILURES[kind]
    return render_template(
        "auth/sso_error.html", provider=provider, message=message.format(org=provider.organisation.name)
    ), status


@bp.route("/login/pending")
def awaiting_approval() -> str:
    return render_template("auth/awaiting_approval.html")


# --- sign out ----------------------------------------------------------------------------------------


@bp.route("/logout", methods=["POST"])
def logout() -> Response:
    if current_user.is_authenticated:
        record("auth.logout", actor=current_user)
    end_session()
    flash("You have signed out.", "success")
    return redirect(url_for("main.landing"))
