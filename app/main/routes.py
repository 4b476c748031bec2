from __future__ import annotations

from datetime import timedelta

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from app.auth.routes import safe_next
from app.clusters.queries import clusters_with_membership
from app.clusters.unread import NEW_WINDOW, mark_all_read, unread_in_my_clusters
from app.db import utcnow
from app.main import language_routes  # noqa: F401  (its views register on bp)
from app.main.blueprint import bp


@bp.route("/")
def landing() -> str | Response:
    if current_user.is_authenticated:
        return redirect(url_for("main.dashboard"))
    return render_template("main/landing.html")


@bp.route("/dashboard")
@login_required
def dashboard() -> str:
    rows = clusters_with_membership(current_user)
    mine = [(cluster, role) for cluster, role in rows if role is not None]
    from app.meetings.queries import upcoming_meetings

    return render_template(
        "main/dashboard.html",
        my_clusters=mine,
        all_clusters=rows,
        new=unread_in_my_clusters(current_user),
        meetings=upcoming_meetings(current_user),
        new_window_days=NEW_WINDOW.days,
    )


@bp.route("/dashboard/read-all", methods=["POST"])
@login_required
def read_all() -> Response:
    """Mark every post read; back to where the member pressed the button (a local path only)."""
    mark_all_read(current_user)
    flash(_("Everything is marked read. New posts will appear here as they are shared."), "success")
    return redirect(safe_next(request.form.get("next")) or url_for("main.dashboard"))


#: How far ahead security.txt's ``Expires`` lies; RFC 9116 asks for less than a year.
SECURITY_TXT_VALID = timedelta(days=180)


@bp.route("/.well-known/security.txt")
def security_txt() -> Response:
    """Whom to tell about a vulnerability (RFC 9116), from ``PAX_SECURITY_CONTACT``.

    ``Expires`` is computed from today (midnight UTC, so the answer is stable all day and can be
    cached), ``Canonical`` from ``PAX_BASE_URL``, ``Policy`` from ``PAX_SECURITY_POLICY_URL`` when set."""
    config = current_app.config
    today = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    lines = [
        f"Contact: {config['SECURITY_CONTACT']}",
        f"Expires: {(today + SECURITY_TXT_VALID).strftime('%Y-%m-%dT%H:%M:%SZ')}",
        "Preferred-Languages: en",
        f"Canonical: {config['BASE_URL'].rstrip('/')}/.well-known/security.txt",
    ]
    if config.get("SECURITY_POLICY_URL"):
        lines.append(f"Policy: {config['SECURITY_POLICY_URL']}")
    response = Response("\n".join(lines) + "\n", mimetype="text/plain")
    response.headers["Content-Type"] = "text/plain; charset=utf-8"
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


@bp.route("/security.txt")
def security_txt_legacy() -> Response:
    """The file's legacy place (RFC 9116 section 3): a redirect to the canonical one."""
    return redirect(url_for("main.security_txt"), 301)  # type: ignore[return-value]
