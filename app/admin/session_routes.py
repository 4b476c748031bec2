"""Ending sessions as an administrator: one account's, without suspending it, or everyone's
(after an incident). Both ask for a fresh factor first (``app.auth.stepup``, as on *Your
account*), so a stolen administrator session cannot sign everyone else out; both are audited.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from werkzeug.wrappers import Response

from app.admin import queries
from app.admin.blueprint import bp
from app.admin.user_routes import render_user
from app.audit.services import record
from app.auth import stepup
from app.auth.accounts import end_everyones_sessions, end_user_sessions
from app.auth.forms import StepUpForm
from app.policy import authorize, user_or_404

log = logging.getLogger("pax.admin")


def _confirmed(form: StepUpForm, action: str) -> bool:
    return bool(form.validate_on_submit() and stepup.require_recent_auth(form, action=action))


@bp.route("/users/<int:user_id>/end-sessions", methods=["POST"])
def end_sessions(user_id: int) -> Any:
    """Sign one account out everywhere; it stays active and may sign in again."""
    user = user_or_404(current_user, user_id, "end_user_sessions")
    form = StepUpForm()
    if not _confirmed(form, "admin_end_user_sessions"):
        return render_user(user, 422, end_sessions_form=form)
    ended = end_user_sessions(user)
    log.info("admin %s ended the sessions of user %s (%s)", current_user.id, user.id, ended)
    record(
        "admin.sessions_end",
        actor=current_user,
        target=("user", user.id),
        target_org=user.organisation_id,
        sessions=ended,
    )
    flash(
        ngettext(
            "%(num)d open session(s) of %(name)s ended; they can sign in again.",
            "%(num)d open session(s) of %(name)s ended; they can sign in again.",
            ended,
            name=user.name,
        ),
        "success",
    )
    return redirect(url_for("admin.user", user_id=user.id))


def _render_sessions(form: StepUpForm, status: int = 200) -> Any:
    return (
        render_template(
            "admin/sessions.html",
            form=form,
            live=queries.live_sessions_overall(),
            stepup=stepup.asks(),
            stepup_minutes=current_app.config["STEPUP_MINUTES"],
        ),
        status,
    )


@bp.route("/sessions")
def sessions() -> Any:
    authorize(current_user, "end_all_sessions")
    return _render_sessions(StepUpForm(formdata=None))


@bp.route("/sessions/end-all", methods=["POST"])
def end_all_sessions() -> Response | Any:
    """Sign every account out (after an incident); the administrator doing it stays signed in here."""
    authorize(current_user, "end_all_sessions")
    form = StepUpForm()
    if not _confirmed(form, "admin_end_all_sessions"):
        return _render_sessions(form, 422)
    ended = end_everyones_sessions(keep_current=True)
    log.warning("admin %s ended every session (%s)", current_user.id, ended)
    record("admin.sessions_end_all", actor=current_user, sessions=ended)
    flash(_("Everyone's sessions have ended (%(count)s); yours in this browser is kept.", count=ended), "success")
    return redirect(url_for("admin.sessions"))
