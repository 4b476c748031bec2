"""Sign-in: e-mail first (home-realm discovery), then the password or the organisation's SSO,
then the second factor where one is required or enrolled."""

from __future__ import annotations

import logging
import time
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import (
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user, login_required
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.routing import RequestRedirect
from werkzeug.wrappers import Response

from app.audit.services import record, record_refused
from app.auth import mfa, provider_test, sso_protocol, throttle
from app.auth.blueprint import bp
from app.auth.forms import LoginForm, MfaEnrolForm, MfaForm
from app.auth.links import owner_can_confirm
from app.auth.models import IdentityProvider, User, UserStatus
from app.auth.providers import password_allowed
from app.auth.services import (
    LoginOutcome,
    authenticate,
    locked_until,
    login_locked_until,
    record_failure,
    record_success,
)
from app.auth.sessions import current_session_row, end_session, start_session
from app.auth.sso import SsoError, SsoOutcome, claims_options, client_for, providers_for_email, resolve_sso_user
from app.extensions import csrf, db, limiter
from app.outbound import OutboundRefused
from app.policy import mfa_required
from app.security import csp_with_form_targets

log = logging.getLogger("pax.auth")

BAD_CREDENTIALS = _l("The e-mail address or password is incorrect.")
OUTCOME_MESSAGES = {
    LoginOutcome.PENDING: _l(
        "Your account is awaiting approval by your organisation's focal point or an administrator."
    ),
    LoginOutcome.SUSPENDED: _l("Your account is suspended. Contact your organisation's focal point."),
}
#: Key of the half-finished sign-in (first factor passed, second factor to come) in the session.
PENDING_KEY = "pax_auth"
PENDING_SECONDS = 600


def _login_limit() -> str:
    """The generous per-address limit of every sign-in step (``PAX_LOGIN_LIMIT_PER_ADDRESS``)."""
    return throttle.address_limit()


def safe_next(target: str | None) -> str | None:
    """Accept only a path on this host: no scheme, no host, no protocol-relative or backslash tricks.

    Where it goes is followed with a GET: an address that only takes POST (a comment form's
    action, kept when a session expired while writing) becomes the nearest page above it that a
    GET answers, so signing in never lands on "method not allowed"."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(ord(ch) < 32 for ch in target):
        return None
    if _only_posts(parts.path):
        return _gettable(parts.path)
    return target


def _only_posts(path: str) -> bool:
    try:
        current_app.url_map.bind("localhost").match(path, method="GET")
    except MethodNotAllowed:
        return True
    except HTTPException:
        return False  # not found, or a redirect: following it says so plainly
    return False


def _gettable(path: str) -> str | None:
    """The nearest path above ``path`` that answers GET (None: none short of the root)."""
    adapter = current_app.url_map.bind("localhost")
    while (path := path.rstrip("/").rsplit("/", 1)[0]) != "":
        try:
            adapter.match(path, method="GET")
        except RequestRedirect:
            return path
        except HTTPException:
            continue
        return path
    return None


def _lockout_message(user: User | None, email: str = "") -> str:
    """The same words for a known account and for an address that names none."""
    return throttle.lockout_message(login_locked_until(email, user) if email else locked_until(user) if user else None)


@bp.after_request
def _sign_in_form_may_lead_to_sso(response: Response) -> Response:
    """The e-mail form of the sign-in page ends, for an SSO domain, in redirects to the provider,
    and browsers check every hop of a form's navigation against ``form-action``: the sign-in page
    admits the enabled providers' origins besides its own (the issuer's and the discovery URL's)."""
    if request.endpoint != "auth.login" or response.mimetype != "text/html":
        return response
    rows = db.session.execute(
        sa.select(IdentityProvider.issuer, IdentityProvider.metadata_url).where(IdentityProvider.enabled)
    )
    response.headers["Content-Security-Policy"] = csp_with_form_targets(url for row in rows for url in row)
    return response


# --- first factor ----------------------------------------------------------------------------------


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"], scope="login-address", error_message=throttle.address_message)
@limiter.limit(
    throttle.account_limit,
    methods=["POST"],
    key_func=throttle.submitted_account,
    scope="login-account",
    deduct_when=throttle.failed_attempt,
    error_message=throttle.account_message,
)
def login() -> Any:
    if current_user.is_authenticated:
        return redirect(url_for("main.dashboard"))
    form = LoginForm()
    if request.method == "GET":
        form.next.data = safe_next(request.args.get("next")) or ""
        if request.args.get("password") == "1" and request.args.get("email"):
            # The password step asked for by name: the unreachable-provider page's fallback link.
            form.email.data = request.args["email"][:320]
            return render_template("auth/login.html", form=form, step="password", error=None)
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
            form.password.errors = [_("Enter your password.")]
            return render_template("auth/login.html", form=form, step="password", error=None), 422
        return render_template("auth/login.html", form=form, step="password", error=None)
    outcome, user = authenticate(email, form.password.data)
    if outcome is LoginOutcome.OK and user is not None and not password_allowed(user):
        record_refused("auth.login", actor=user, method="password", reason="sso_only_policy")
        error = _(
            "%(organisation)s signs you in through its own sign-in service and does not allow PAX "
            "passwords instead. Use your organisation's sign-in, or contact its IT support.",
            organisation=user.organisation.name,
        )
        return render_template("auth/login.html", form=form, step="password", error=error), 422
    if outcome is LoginOutcome.OK and user is not None:
        return _after_first_factor(user, "password", mfa_asserted=False, next_url=form.next.data)
    error = _lockout_message(user, email) if outcome is LoginOutcome.LOCKED else None
    error = error or str(OUTCOME_MESSAGES.get(outcome, BAD_CREDENTIALS))
    return render_template("auth/login.html", form=form, step="password", error=error), 422


def _after_first_factor(
    user: User, method: str, mfa_asserted: bool, next_url: str | None, sso: dict[str, Any] | None = None
) -> Response:
    """Second factor when enrolled or required (unless the SSO provider asserted one), then the session."""
    target = safe_next(next_url) or url_for("main.dashboard")
    enrolled = user.totp_secret_sealed is not None
    if enrolled and not mfa_asserted:
        _set_pending(user, method, target, sso)
        return redirect(url_for("auth.mfa_verify"))
    if not enrolled and mfa_required(user) and not mfa_asserted:
        _set_pending(user, method, target, sso)
        return redirect(url_for("auth.mfa_setup"))
    record_success(user)
    start_session(user, method, sso)
    return redirect(target)


def _set_pending(user: User, method: str, target: str, sso: dict[str, Any] | None = None) -> None:
    session.clear()
    session[PENDING_KEY] = {"uid": user.id, "method": method, "next": target, "at": int(time.time()), "sso": sso}


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
        flash(_("Sign in again to continue."), "info")
        return redirect(url_for("auth.login"))
    form = MfaForm()
    error = None
    if form.validate_on_submit():
        if locked_until(user):
            error = _lockout_message(user)
            record_refused("auth.mfa_verify", actor=user, reason="locked")
        elif method := _second_factor(user, form.code.data or ""):
            record("auth.mfa_verify", actor=user, method=method)
            record_success(user)
            start_session(user, state["method"], state.get("sso"))
            left = mfa.recovery_codes_left(user)
            if left <= 3:
                flash(
                    ngettext(
                        "You have %(num)d recovery code left. Create new ones on your account page.",
                        "You have %(num)d recovery codes left. Create new ones on your account page.",
                        left,
                    ),
                    "warning",
                )
            return redirect(state["next"])
        else:
            record_refused("auth.mfa_verify", actor=user, reason="bad_code")
            record_failure(user)
            error = _lockout_message(user) if locked_until(user) else _("That code is not valid. Try the current code.")
    status = 422 if request.method == "POST" else 200
    return render_template("auth/mfa_verify.html", form=form, error=error), status


@bp.route("/login/mfa/setup", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def mfa_setup() -> Any:
    """Enrolment that a required second factor forces before the first session starts."""
    user, state = _pending_user()
    if user is None:
        flash(_("Sign in again to continue."), "info")
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
            start_session(user, state["method"], state.get("sso"))
            return render_template("auth/recovery_codes.html", codes=codes, next_url=state["next"])
        form.code.errors = [_("That code is not valid. Check your app's clock and enter the current code.")]
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
    except OutboundRefused as exc:  # the provider's addresses point where PAX does not go
        log.warning("SSO start refused for provider %s: %s", provider.id, exc.reason)
        return _sso_failure(provider, "unreachable", reason="outbound_refused")
    except Exception as exc:  # discovery failed: the provider is down or misconfigured
        log.warning("SSO start failed for provider %s: %s", provider.id, type(exc).__name__)
        return _sso_failure(provider, "unreachable")


@bp.route("/login/sso/<int:provider_id>/callback")
@limiter.limit(_login_limit)
def sso_callback(provider_id: int) -> Any:
    tested = db.session.get(IdentityProvider, provider_id)
    if tested is not None and provider_test.is_test_run(tested):
        return provider_test.finish(tested)  # an administrator's test sign-in: a report, no session
    provider = _enabled_provider_or_404(provider_id)
    if request.args.get("error"):
        return _sso_failure(provider, "denied")
    try:
        token = client_for(provider).authorize_access_token(
            claims_options=claims_options(provider), leeway=sso_protocol.clock_skew()
        )
    except OutboundRefused as exc:  # the token endpoint or the keys are where PAX does not go
        log.warning("SSO callback refused for provider %s: %s", provider.id, exc.reason)
        return _sso_failure(provider, "refused", reason="outbound_refused")
    except Exception as exc:  # state, code, signature, issuer, audience or expiry refused, or provider down
        log.warning("SSO callback refused for provider %s: %s", provider.id, type(exc).__name__)
        return _sso_failure(provider, "refused")
    if not token.get("userinfo"):
        return _sso_failure(provider, "refused")
    try:
        claims = sso_protocol.identity_claims(provider, dict(token["userinfo"]), token)
        result = resolve_sso_user(provider, claims)
    except SsoError as exc:
        _sso_refused(provider, "account_refused")  # kept; the refused sign-in links and creates nothing
        return render_template("auth/sso_error.html", provider=provider, message=exc.message), exc.status
    if result.outcome is SsoOutcome.PENDING:
        # Answered with a redirect, so this commits with the pending account the sign-in made.
        record(
            "auth.login", actor=result.user, outcome="denied", method="sso", provider_id=provider.id, reason="pending"
        )
        return redirect(url_for("auth.awaiting_approval"))
    if result.outcome is SsoOutcome.LINK_REQUIRED:
        _sso_refused(provider, "link_required", result.user)
        return render_template(
            "auth/link_required.html",
            provider=provider,
            email=result.user.email,
            owner_can_confirm=owner_can_confirm(result.user),
            confirm_url=url_for("identity_links.confirm", token=result.link_token),
        ), 403
    next_url = session.pop("pax_login_next", None)
    sso = {"provider": provider.id, "sub": str(claims["sub"])[:255], "sid": str(claims.get("sid") or "")[:255]}
    return _after_first_factor(
        result.user, f"sso:{provider.id}", mfa_asserted=result.mfa_asserted, next_url=next_url, sso=sso
    )


@bp.route("/login/sso/<int:provider_id>/backchannel-logout", methods=["POST"])
@csrf.exempt  # the provider's server posts here (Back-Channel Logout 1.0); the signed token is the proof
def sso_backchannel_logout(provider_id: int) -> Response:
    """End the PAX sessions that the provider's logout token names, on every app server at once
    (sessions live in the database). Answers as section 2.8 asks: 200, or 400 with an error."""
    provider = db.session.get(IdentityProvider, provider_id)
    if provider is None:
        abort(404)
    try:
        logout = sso_protocol.verify_logout_token(provider, request.form.get("logout_token", ""))
    except sso_protocol.LogoutTokenError as exc:
        log.warning("back-channel logout from provider %s refused: %s", provider.id, exc)
        record_refused("auth.backchannel_logout", provider_id=provider.id, reason=str(exc))
        return _no_store(jsonify(error="invalid_request", error_description="The logout token was refused."), 400)
    ended = sso_protocol.end_provider_sessions(provider, logout)
    user_id = sso_protocol.known_subject(provider, logout.subject)
    record(
        "auth.backchannel_logout",
        actor=db.session.get(User, user_id) if user_id else None,
        provider_id=provider.id,
        sessions_ended=ended,
    )
    return _no_store(Response(status=200), 200)


def _no_store(response: Response, status: int) -> Response:
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


def _enabled_provider_or_404(provider_id: int) -> IdentityProvider:
    provider = db.session.get(IdentityProvider, provider_id)
    if provider is None or not provider.enabled:
        abort(404)
    return provider


SSO_FAILURES = {
    "unreachable": (
        502,
        _l(
            "The sign-in service of %(org)s cannot be reached at the moment. Try again in a few minutes; if it "
            "persists, contact your organisation's IT support."
        ),
    ),
    "refused": (
        400,
        _l(
            "PAX could not verify the answer of %(org)s's sign-in service, so you are not signed in. Start again "
            "from the sign-in page; do not reuse an old sign-in link."
        ),
    ),
    "denied": (400, _l("The sign-in at %(org)s was cancelled or refused. Start again from the sign-in page.")),
}


def _sso_refused(provider: IdentityProvider, reason: str, user: User | None = None) -> None:
    """A refused SSO sign-in is an ``auth.login`` event (denied) naming the provider and why, kept
    although the request answers with an error (``record_refused``)."""
    record_refused("auth.login", actor=user, method="sso", provider_id=provider.id, reason=reason)


def _sso_failure(provider: IdentityProvider, kind: str, reason: str | None = None) -> tuple[str, int]:
    """The generic page for a failed SSO sign-in of ``kind``; the audit record says ``reason`` (default: the kind)."""
    _sso_refused(provider, reason or kind)
    status, message = SSO_FAILURES[kind]
    fallback = None
    if kind == "unreachable":
        # The organisation's focal point decides whether PAX passwords stay usable meanwhile.
        hint = (request.args.get("login_hint") or "")[:320]
        fallback = {
            "allowed": provider.organisation.password_fallback,
            "url": url_for("auth.login", email=hint, password="1") if hint else url_for("auth.login"),  # noqa: S106
        }
    return render_template(
        "auth/sso_error.html",
        provider=provider,
        message=str(message) % {"org": provider.organisation.name},
        fallback=fallback,
    ), status


@bp.route("/login/pending")
def awaiting_approval() -> str:
    return render_template("auth/awaiting_approval.html")


# --- sign out ----------------------------------------------------------------------------------------


@bp.route("/session/alive")
@login_required
def keep_alive() -> Response:
    """ "Stay signed in": the request itself counts as activity, so the idle limit starts again."""
    return Response(status=204)


@bp.route("/logout", methods=["POST"])
def logout() -> Response:
    """Sign out of PAX; after an SSO sign-in, on to the provider so it ends its own session too
    (RP-initiated logout), back to the landing page."""
    provider_session = current_session_row()
    provider = None
    if current_user.is_authenticated:
        record("auth.logout", actor=current_user)
        if provider_session is not None and provider_session.identity_provider_id is not None:
            provider = db.session.get(IdentityProvider, provider_session.identity_provider_id)
    end_session()
    flash(_("You have signed out."), "success")
    landing = url_for("main.landing", _external=True)
    at_provider = sso_protocol.end_session_url(provider, landing) if provider is not None else None
    if at_provider is None:
        return redirect(url_for("main.landing"))
    # A page, not a redirect: the sign-out form's navigation may only lead to our own origin
    # (CSP form-action), and the provider's sign-out is a new navigation from this page.
    return Response(render_template("auth/signed_out.html", provider=provider, provider_url=at_provider))
