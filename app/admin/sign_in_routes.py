"""An organisation's sign-in, decided by its focal point: the password fallback policy, relying on
the provider's second factor, and provider identities asking to open existing accounts.

These decisions are the organisation's: administrators register providers but cannot confirm
an MFA exemption or approve a link by themselves (``app.policy``: focal point of the same
organisation).
"""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from app.admin.blueprint import bp
from app.admin.forms import SignInPolicyForm
from app.auth import links
from app.auth.models import IdentityProvider
from app.auth.providers import confirm_mfa_exemption, set_password_fallback
from app.concurrency import StaleEdit, form_version
from app.extensions import db
from app.forms import stale_action
from app.policy import authorize, can
from app.validation import ValidationError

log = logging.getLogger("pax.admin")


def _render(form: SignInPolicyForm, status: int = 200) -> Any:
    org = current_user.organisation
    providers = list(
        db.session.scalars(
            sa.select(IdentityProvider)
            .where(IdentityProvider.organisation_id == org.id)
            .order_by(IdentityProvider.name)
        )
    )
    return render_template(
        "admin/sign_in_settings.html",
        organisation=org,
        providers=providers,
        requests=links.pending_requests_for(current_user),
        form=form,
    ), status


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in_settings() -> Any:
    authorize(current_user, "manage_org_sign_in")
    org = current_user.organisation
    form = SignInPolicyForm()
    if not form.is_submitted():
        form.password_fallback.data = org.password_fallback
        return _render(form)
    if not form.validate():
        return _render(form, 422)
    if set_password_fallback(org, bool(form.password_fallback.data), current_user):
        log.info("focal point %s set password fallback of organisation %s", current_user.id, org.id)
    flash(
        _("Saved. People with a PAX password can use it when your sign-in service cannot be reached.")
        if org.password_fallback
        else _("Saved. People sign in only through your sign-in service; when it is down, they cannot sign in."),
        "success",
    )
    return redirect(url_for("admin.sign_in_settings"))


@bp.route("/identity-providers/<int:provider_id>/confirm-mfa-exemption", methods=["POST"])
def confirm_mfa_exemption_route(provider_id: int) -> Any:
    provider = db.session.get(IdentityProvider, provider_id)
    if provider is None or not can(current_user, "confirm_mfa_exemption", provider):
        abort(404 if provider is None else 403)
    name = provider.name  # read before a failed save needs a rollback
    try:
        confirm_mfa_exemption(provider, current_user, form_version(request.form.get("version")))
    except StaleEdit:  # the provider changed since the page showed it: confirm what is saved now
        return stale_action(
            _(
                "Someone changed %(name)s since your page showed it, so nothing was confirmed. "
                "Its settings as they are now are shown below: confirm again if your decision still holds.",
                name=name,
            ),
            lambda status: _render(SignInPolicyForm(formdata=None), status),
        )
    except ValidationError as exc:
        flash(" ".join(exc.fields.values()), "error")
        return redirect(url_for("admin.sign_in_settings")), 409
    flash(
        _(
            "Confirmed: people who sign in through %(name)s with its multi-factor sign-in need no PAX second factor.",
            name=provider.name,
        ),
        "success",
    )
    return redirect(url_for("admin.sign_in_settings"))


def _link_or_404(request_id: int) -> Any:
    link = links.pending_request_or_none(request_id)
    if link is None or not can(current_user, "decide_identity_link", link):
        abort(404)
    return link


@bp.route("/link-requests/<int:request_id>/approve", methods=["POST"])
def approve_link(request_id: int) -> Response:
    link = _link_or_404(request_id)
    try:
        links.approve_by_focal_point(link, current_user)
    except ValidationError as exc:
        flash(" ".join(exc.fields.values()), "error")
        return redirect(url_for("admin.sign_in_settings"))
    flash(
        _(
            "%(name)s (%(email)s) can now sign in through %(provider)s.",
            name=link.user.name,
            email=link.user.email,
            provider=link.provider.name,
        ),
        "success",
    )
    return redirect(url_for("admin.sign_in_settings"))


@bp.route("/link-requests/<int:request_id>/reject", methods=["POST"])
def reject_link(request_id: int) -> Response:
    link = _link_or_404(request_id)
    links.reject(link, current_user)
    flash(
        _(
            "The request to open %(email)s through %(provider)s is rejected.",
            email=link.user.email,
            provider=link.provider.name,
        ),
        "success",
    )
    return redirect(url_for("admin.sign_in_settings"))
