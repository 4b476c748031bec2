"""Administration overview and pending approvals; the other pages are in the ``*_routes`` modules.

Approvals are not for administrators only: an organisation's focal point approves or rejects
its own organisation's pending accounts here (``app.policy.approvable_users``).
"""

from __future__ import annotations

import logging
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from app.admin import (  # noqa: F401  (their views join bp)
    organisation_routes,
    provider_routes,
    queries,
    session_routes,
    sign_in_routes,
    user_routes,
)
from app.admin.blueprint import bp
from app.audit.services import record
from app.auth.accounts import approve_user, reject_user
from app.policy import authorize, can, user_or_404

__all__ = ["bp"]

log = logging.getLogger("pax.admin")


@bp.route("/")
def index() -> Any:
    authorize(current_user, "administer")
    return render_template("admin/index.html", overview=queries.overview(current_user))


@bp.route("/approvals")
def approvals() -> Any:
    authorize(current_user, "view_approvals")
    pending = queries.pending_accounts(current_user)
    return render_template(
        "admin/approvals.html",
        pending=pending,
        methods=queries.sign_in_methods(pending),
        show_user_links=can(current_user, "view_users"),
    )


def _after_decision(user_id: int, still_exists: bool) -> Response:
    """Back to the account's page when the decision was taken there, else to the approvals list."""
    if request.args.get("back") == "user" and can(current_user, "view_users"):
        if still_exists:
            return redirect(url_for("admin.user", user_id=user_id))
        return redirect(url_for("admin.users"))
    return redirect(url_for("admin.approvals"))


@bp.route("/approvals/<int:user_id>/approve", methods=["POST"])
def approve(user_id: int) -> Response:
    user = user_or_404(current_user, user_id, "approve_user")
    approve_user(user)
    log.info("user %s approved account %s", current_user.id, user.id)
    record("admin.approve", actor=current_user, target=("user", user.id), target_org=user.organisation_id)
    flash(_("%(name)s (%(email)s) is approved and can now sign in.", name=user.name, email=user.email), "success")
    return _after_decision(user_id, still_exists=True)


@bp.route("/approvals/<int:user_id>/reject", methods=["POST"])
def reject(user_id: int) -> Response:
    user = user_or_404(current_user, user_id, "approve_user")
    name, email, org_id = user.name, user.email, user.organisation_id
    reject_user(user)
    log.info("user %s rejected account %s", current_user.id, user_id)
    record("admin.reject", actor=current_user, target=("user", user_id), target_org=org_id)
    flash(
        _("The request of %(name)s (%(email)s) is rejected and the account removed.", name=name, email=email), "success"
    )
    return _after_decision(user_id, still_exists=False)
