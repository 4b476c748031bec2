from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from app.auth.forms import LoginForm
from app.auth.services import LoginOutcome, authenticate
from app.auth.sessions import end_session, start_session
from app.extensions import limiter

bp = Blueprint("auth", __name__)

BAD_CREDENTIALS = "The e-mail address or password is incorrect."
OUTCOME_MESSAGES = {
    LoginOutcome.PENDING: "Your account is awaiting approval by your organisation's focal point or an administrator.",
    LoginOutcome.SUSPENDED: "Your account is suspended. Contact your organisation's focal point.",
}


def safe_next(target: str | None) -> str | None:
    """Accept only a path on this host: no scheme, no host, no protocol-relative or backslash tricks."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(ord(ch) < 32 for ch in target):
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_LOGIN"], methods=["POST"])
def login() -> str | Response:
    if current_user.is_authenticated:
        return redirect(url_for("main.dashboard"))
    form = LoginForm()
    if request.method == "GET":
        form.next.data = safe_next(request.args.get("next")) or ""
    error = None
    if form.validate_on_submit():
        outcome, user = authenticate(form.email.data or "", form.password.data or "")
        if outcome is LoginOutcome.OK and user is not None:
            start_session(user, "password")
            return redirect(safe_next(form.next.data) or url_for("main.dashboard"))
        error = OUTCOME_MESSAGES.get(outcome, BAD_CREDENTIALS)
    status = 200 if request.method == "GET" or not (form.errors or error) else 422
    return render_template("auth/login.html", form=form, error=error), status


@bp.route("/logout", methods=["POST"])
def logout() -> Response:
    end_session()
    flash("You have signed out.", "success")
    return redirect(url_for("main.landing"))
