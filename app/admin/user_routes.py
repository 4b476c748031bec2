"""Accounts: the list, one account's page, and what an administrator does to an account.

Every action loads its target through ``user_or_404`` with the action's policy name, so an
administrator's own account answers 404 to suspension, role change and MFA reset.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from werkzeug.wrappers import Response

from app.admin import queries
from app.admin.blueprint import bp
from app.admin.forms import (
    MEMBERSHIP_NAMES,
    ROLE_NAMES,
    FocalPointForm,
    MembershipForm,
    RoleForm,
    UserFilterForm,
    choices,
    show_errors,
)
from app.audit.services import record
from app.auth import stepup
from app.auth.accounts import change_role, reactivate_user, reset_mfa, revoke_membership, set_focal_point, suspend_user
from app.auth.forms import StepUpForm
from app.auth.models import User, UserStatus
from app.auth.onboarding_forms import InviteForm
from app.auth.services import grant_membership
from app.clusters.names import cluster_label
from app.concurrency import StaleEdit, form_version
from app.db import utcnow
from app.directory.models import Organisation
from app.extensions import db
from app.forms import after_refusal, stale, stale_action
from app.policy import NotAllowed, authorize, can, user_or_404
from app.privacy.erasure import confirmation_matches, erase_user, erasure_problem, kept_items
from app.privacy.forms import EraseForm
from app.validation import ValidationError

log = logging.getLogger("pax.admin")

#: The actions an account's page may offer, each a policy action on that account.
USER_ACTIONS = (
    "approve_user",
    "suspend_user",
    "end_user_sessions",
    "reactivate_user",
    "change_role",
    "reset_mfa",
    "send_password_reset",
    "set_focal_point",
    "manage_memberships",
    "erase_user",
)


@bp.route("/users")
def users() -> Any:
    authorize(current_user, "view_users")
    form = UserFilterForm(request.args)
    form.organisation.choices = choices(queries.organisation_choices(), _("Any organisation"))
    page = queries.users_page(
        status=form.status.data or None,
        organisation_id=form.organisation_id,
        role=form.role.data or None,
        text=form.q.data or None,
        page=request.args.get("page", 1, type=int) or 1,
    )
    filters = {k: v for k, v in request.args.items() if k in ("q", "status", "organisation", "role") and v}
    return render_template("admin/users.html", form=form, page=page, filters=filters)


def render_user(user: User, status: int = 200, errors: list[str] | None = None, **forms: Any) -> Any:
    role_form = forms.get("role_form") or RoleForm(formdata=None, role=user.role.value)
    memberships = queries.user_memberships(user)
    membership_form = forms.get("membership_form")
    clusters = queries.cluster_choices()
    if membership_form is None:  # a new membership, in a cluster the page shows none in
        membership_form = MembershipForm(formdata=None, version="0")
        held = {m.cluster.slug for m in memberships}
        clusters = [(slug, name) for slug, name in clusters if slug not in held]
    membership_form.cluster.choices = choices(clusters, _("Choose a cluster"))
    context = {
        "user": user,
        "allowed": {action: can(current_user, action, user) for action in USER_ACTIONS},
        "is_self": user.id == current_user.id,
        "memberships": memberships,
        "membership_roles": [(role, str(name)) for role, name in MEMBERSHIP_NAMES.items()],
        "identities": queries.user_identities(user),
        "live_sessions": queries.live_session_count(user),
        "role_form": role_form,
        "membership_form": membership_form,
        "focal_form": FocalPointForm(formdata=None),
        "end_sessions_form": forms.get("end_sessions_form") or StepUpForm(formdata=None),
        "stepup": stepup.asks(),
        "stepup_minutes": current_app.config["STEPUP_MINUTES"],
        "errors": errors or [],
    }
    return render_template("admin/user.html", **context), status


@bp.route("/users/<int:user_id>")
def user(user_id: int) -> Any:
    authorize(current_user, "view_users")
    return render_user(user_or_404(current_user, user_id, "view_users"))


def _membership_form(user: User, cluster_slug: str) -> MembershipForm:
    """The membership form filled from ``user``'s membership in a cluster as it is now (none: version 0)."""
    held = next((m for m in queries.user_memberships(user) if m.cluster.slug == cluster_slug), None)
    return MembershipForm(
        formdata=None,
        cluster=cluster_slug,
        role=held.role.value if held else "",
        version=str(held.version if held else 0),
    )


def _said_removed(form: MembershipForm) -> MembershipForm:
    """A conflict over a membership that is gone says so in words (not "Now saved: empty")."""
    if form.version.data == "0":
        form.role.errors = [
            _("Now: not a member of this cluster.") if e in _said_empty() else e for e in form.role.errors
        ]
    return form


def _said_empty() -> tuple[str, ...]:
    """How ``app.forms.stale`` says a field is now saved empty, in English and in the reader's language."""
    return ("Now saved: empty.", _("Now saved: %(value)s.", value=_("empty")))


def _refused(user: User, exc: ValidationError | NotAllowed, **forms: Any) -> Any:
    """Nothing of a refused action is kept; the account's page says why, with the input kept
    (422 for invalid input, 403 with the policy's reason for a ``NotAllowed``).

    ``forms`` holds at most the one form that was sent, by its template name.
    """
    if isinstance(exc, NotAllowed):
        return after_refusal(lambda: render_user(user, 403, errors=[str(exc)], **forms))
    messages = list(exc.fields.values())
    for form in forms.values():
        messages = show_errors(form, exc)
    return after_refusal(lambda: render_user(user, 422, errors=messages, **forms))


def _audit(action: str, user: User, **details: Any) -> None:
    """The administrator's action on ``user``'s account, as an audit event in the same transaction."""
    record(action, actor=current_user, target=("user", user.id), target_org=user.organisation_id, **details)


def _done(user: User, message: str) -> Response:
    flash(message, "success")
    return redirect(url_for("admin.user", user_id=user.id))


@bp.route("/users/<int:user_id>/suspend", methods=["POST"])
def suspend(user_id: int) -> Any:
    user = user_or_404(current_user, user_id, "suspend_user")
    if user.status is UserStatus.SUSPENDED:
        return _refused(user, ValidationError({"status": _("This account is already suspended.")}))
    ended = suspend_user(user)
    log.info("admin %s suspended user %s (%s sessions ended)", current_user.id, user.id, ended)
    _audit("admin.suspend", user, sessions=ended)
    return _done(
        user,
        ngettext(
            "%(name)s is suspended; %(num)d open session(s) ended at once.",
            "%(name)s is suspended; %(num)d open session(s) ended at once.",
            ended,
            name=user.name,
        ),
    )


@bp.route("/users/<int:user_id>/reactivate", methods=["POST"])
def reactivate(user_id: int) -> Any:
    user = user_or_404(current_user, user_id, "reactivate_user")
    try:
        reactivate_user(user)
    except ValidationError as exc:
        return _refused(user, exc)
    log.info("admin %s reactivated user %s", current_user.id, user.id)
    _audit("admin.reactivate", user)
    return _done(user, _("%(name)s is active again and can sign in.", name=user.name))


@bp.route("/users/<int:user_id>/role", methods=["POST"])
def set_role(user_id: int) -> Any:
    user = user_or_404(current_user, user_id, "change_role")
    form = RoleForm()
    if not form.validate_on_submit():
        return render_user(user, 422, role_form=form)
    before = user.role
    try:
        change_role(user, form.role.data)
    except ValidationError as exc:
        return _refused(user, exc, role_form=form)
    if user.role is before:
        return _done(
            user,
            _("%(name)s already had the role %(role)s; nothing changed.", name=user.name, role=ROLE_NAMES[before]),
        )
    log.info("admin %s changed the role of user %s from %s to %s", current_user.id, user.id, before, user.role)
    _audit("admin.role_change", user, old=before.value, new=user.role.value)
    return _done(
        user,
        _(
            "%(name)s is now %(role)s. Their sessions have ended: they sign in again under the new role.",
            name=user.name,
            role=ROLE_NAMES[user.role],
        ),
    )


@bp.route("/users/<int:user_id>/focal-point", methods=["POST"])
def focal_point(user_id: int) -> Any:
    user = user_or_404(current_user, user_id, "set_focal_point")
    form = FocalPointForm()
    if not form.validate_on_submit() or form.value.data not in ("yes", "no"):
        abort(400)
    set_focal_point(user, form.wanted)
    log.info("admin %s set focal point of user %s to %s", current_user.id, user.id, form.wanted)
    _audit("admin.focal_point", user, focal_point=form.wanted)
    if form.wanted:
        return _done(
            user,
            _(
                "%(name)s is now a focal point of %(organisation)s.",
                name=user.name,
                organisation=user.organisation.name,
            ),
        )
    return _done(
        user,
        _(
            "%(name)s is no longer a focal point of %(organisation)s.",
            name=user.name,
            organisation=user.organisation.name,
        ),
    )


@bp.route("/users/<int:user_id>/reset-mfa", methods=["POST"])
def reset_second_factor(user_id: int) -> Any:
    user = user_or_404(current_user, user_id, "reset_mfa")
    if user.totp_secret_sealed is None:
        return _refused(user, ValidationError({"mfa": _("This account has no second factor to reset.")}))
    reset_mfa(user)
    log.info("admin %s reset the second factor of user %s", current_user.id, user.id)
    _audit("admin.mfa_reset", user)
    return _done(
        user,
        _(
            "The second factor of %(name)s is removed and their sessions have ended. "
            "They set up a new one at their next sign-in.",
            name=user.name,
        ),
    )


@bp.route("/users/<int:user_id>/memberships", methods=["POST"])
def grant(user_id: int) -> Any:
    user = user_or_404(current_user, user_id, "manage_memberships")
    form = MembershipForm()
    if not form.validate_on_submit():
        return render_user(user, 422, membership_form=form)
    try:
        membership = grant_membership(
            user, form.cluster.data, form.role.data, form_version(form.version.data), actor=current_user
        )
    except StaleEdit as exc:
        return stale(
            form,
            exc,
            lambda: user_or_404(current_user, user_id, "manage_memberships"),
            lambda current: _membership_form(current, form.cluster.data),
            lambda current, status: render_user(current, status, membership_form=_said_removed(form)),
        )
    except (ValidationError, NotAllowed) as exc:
        return _refused(user, exc, membership_form=form)
    log.info(
        "admin %s granted user %s %s in cluster %s", current_user.id, user.id, membership.role, membership.cluster_id
    )
    _audit("admin.membership_grant", user, cluster_id=membership.cluster_id, role=membership.role.value)
    return _done(
        user,
        _(
            "%(name)s is now %(role)s of “%(cluster)s”.",
            name=user.name,
            role=MEMBERSHIP_NAMES[membership.role],
            cluster=cluster_label(membership.cluster),
        ),
    )


@bp.route("/users/<int:user_id>/memberships/<int:cluster_id>/revoke", methods=["POST"])
def revoke(user_id: int, cluster_id: int) -> Any:
    user = user_or_404(current_user, user_id, "manage_memberships")
    membership = next((m for m in queries.user_memberships(user) if m.cluster_id == cluster_id), None)
    if membership is None:
        abort(404)
    cluster_name, name = cluster_label(membership.cluster), user.name  # read before a failed save needs a rollback
    try:
        revoke_membership(membership, form_version(request.form.get("version")), actor=current_user)
    except NotAllowed as exc:
        return _refused(user, exc)
    except StaleEdit:
        return stale_action(
            _(
                "Someone changed %(name)s's membership of “%(cluster)s” since your page showed it, so it was "
                "not revoked. It is shown below as it is now: revoke it again if you still mean to.",
                name=name,
                cluster=cluster_name,
            ),
            lambda status: render_user(user, status),
        )
    log.info("admin %s revoked membership of user %s in cluster %s", current_user.id, user.id, cluster_id)
    _audit("admin.membership_revoke", user, cluster_id=cluster_id)
    return _done(user, _("%(name)s is no longer a member of “%(cluster)s”.", name=user.name, cluster=cluster_name))


@bp.route("/users/<int:user_id>/erase", methods=["GET", "POST"])
def erase(user_id: int) -> Any:
    """GET explains what erasure removes and keeps; POST erases once the e-mail address is typed."""
    user = user_or_404(current_user, user_id, "erase_user")
    form = EraseForm()
    problem = erasure_problem(user)
    confirmed = request.method == "POST" and problem is None and form.validate_on_submit()
    if confirmed and confirmation_matches(user, form.confirm_email.data):
        erase_user(current_user, user)
        log.info("admin %s erased the personal data of user %s", current_user.id, user_id)
        flash(
            _("The personal data of account %(id)s is erased; its organisation keeps what it shared.", id=user_id),
            "success",
        )
        return redirect(url_for("admin.user", user_id=user_id))
    if confirmed:
        form.confirm_email.errors = [_("That is not this account's e-mail address; nothing was erased.")]
    status = 422 if request.method == "POST" else 200
    return render_template(
        "admin/user_erase.html",
        user=user,
        form=form,
        problem=problem,
        kept=kept_items(user),
    ), status


@bp.route("/users/<int:user_id>/send-password-reset", methods=["POST"])
def send_password_reset(user_id: int) -> Any:
    """Mail the account's owner a single-use link to set a new password (``app.auth.reset``)."""
    from app.auth.reset import send_reset

    user = user_or_404(current_user, user_id, "send_password_reset")
    try:
        send_reset(user, current_user)
    except ValidationError as exc:
        return _refused(user, exc)
    log.info("admin %s sent a password reset link to user %s", current_user.id, user.id)
    _audit("admin.password_reset_sent", user)
    minutes = current_app.config["PASSWORD_RESET_MINUTES"]
    return _done(
        user,
        ngettext(
            "A link to set a new password is on its way to %(email)s. It works once, for %(num)d minutes; "
            "their current password keeps working until they use it.",
            "A link to set a new password is on its way to %(email)s. It works once, for %(num)d minutes; "
            "their current password keeps working until they use it.",
            minutes,
            email=user.email,
        ),
    )


# --- invitations: administrators into any organisation, focal points into their own -----------------


def _invite_form() -> InviteForm:
    form = InviteForm()
    if can(current_user, "administer"):
        form.organisation.choices = choices(queries.organisation_choices(), _("Choose an organisation"))
    return form


def _render_invitations(form: InviteForm, status: int = 200, errors: list[str] | None = None) -> Any:
    from app.auth.invitations import invitations_for

    return render_template(
        "admin/invitations.html",
        form=form,
        invitations=invitations_for(current_user),
        choose_organisation=can(current_user, "administer"),
        now=utcnow(),
        days=current_app.config["INVITATION_DAYS"],
        errors=errors or [],
    ), status


@bp.route("/invitations", methods=["GET", "POST"])
def invitations() -> Any:
    """Invite a colleague, and the invitations one may resend or withdraw."""
    from app.auth.invitations import invite

    authorize(current_user, "invite_users")
    form = _invite_form()
    if request.method == "GET":
        return _render_invitations(form)
    if not form.validate_on_submit():
        return _render_invitations(form, 422)
    if can(current_user, "administer"):
        chosen = form.organisation.data or ""
        organisation = db.session.get(Organisation, int(chosen)) if chosen.isdigit() else None
        if organisation is None:
            form.organisation.errors = [_("Choose the organisation the colleague works for.")]
            return _render_invitations(form, 422)
    else:
        organisation = current_user.organisation
    authorize(current_user, "invite_users", organisation)
    try:
        invitation = invite(current_user, organisation, form.email.data or "", form.name.data or "")
    except ValidationError as exc:
        errors = show_errors(form, exc)
        return after_refusal(lambda: _render_invitations(form, 422, errors=errors))
    if invitation.via_sso:
        message = _(
            "%(name)s is invited: a mail is on its way to %(email)s to sign in with their company account.",
            name=invitation.name,
            email=invitation.email,
        )
    else:
        message = _(
            "%(name)s is invited: a mail is on its way to %(email)s with a link to choose a password.",
            name=invitation.name,
            email=invitation.email,
        )
    flash(message, "success")
    return redirect(url_for("admin.invitations"))


@bp.route("/invitations/<int:invitation_id>/resend", methods=["POST"])
def resend_invitation(invitation_id: int) -> Any:
    from app.auth.invitations import resend

    return _change_invitation(
        invitation_id, resend, _l("The invitation is sent again to %(email)s; the earlier link no longer works.")
    )


@bp.route("/invitations/<int:invitation_id>/revoke", methods=["POST"])
def revoke_invitation(invitation_id: int) -> Any:
    from app.auth.invitations import revoke

    return _change_invitation(
        invitation_id, revoke, _l("The invitation of %(email)s is withdrawn; its link no longer works.")
    )


def _change_invitation(invitation_id: int, change: Any, done: Any) -> Any:
    """Resend or withdraw an invitation the viewer may manage; a refusal re-shows the list."""
    from app.auth.invitations import invitation_or_404

    authorize(current_user, "invite_users")
    invitation = invitation_or_404(current_user, invitation_id)
    authorize(current_user, "manage_invitation", invitation)
    try:
        change(current_user, invitation)
    except ValidationError as exc:
        errors = list(exc.fields.values())
        return after_refusal(lambda: _render_invitations(_invite_form(), 422, errors=errors))
    flash(str(done) % {"email": invitation.email}, "success")
    return redirect(url_for("admin.invitations"))
