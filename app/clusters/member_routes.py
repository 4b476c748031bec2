"""A cluster's member list: who belongs to it, in which role, granted by whom and when.

Its coordinators, focal points (for their organisation's people) and administrators grant a
membership or change a role there. Who may grant whom is ``app.policy.membership_refusal``'s
decision, made inside ``grant_membership``: nobody grants access to themselves, and no
administrator or curator to a co-administrator of their own organisation (issue 19).
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from app.audit.services import record
from app.auth.models import UserStatus
from app.auth.services import find_user_by_email, grant_membership
from app.clusters.blueprint import bp
from app.clusters.forms import MEMBER_ROLES, MemberGrantForm
from app.clusters.models import Cluster, MembershipRole
from app.clusters.names import cluster_label
from app.clusters.queries import cluster_members
from app.concurrency import StaleEdit, form_version
from app.forms import after_refusal, stale_action
from app.policy import NotAllowed, authorize, can, cluster_or_404, may_grant_membership
from app.validation import ValidationError


def _render(
    cluster: Cluster, form: MemberGrantForm | None = None, status: int = 200, errors: list[str] | None = None
) -> tuple[str, int]:
    members = cluster_members(cluster)
    return (
        render_template(
            "clusters/members.html",
            cluster=cluster,
            members=members,
            form=form or MemberGrantForm(formdata=None),
            can_grant=can(current_user, "manage_cluster_members", cluster),
            may_change={m.id: may_grant_membership(current_user, m.user, cluster) for m in members},
            roles=MEMBER_ROLES,
            errors=errors or [],
        ),
        status,
    )


@bp.route("/clusters/<slug>/members")
@login_required
def members(slug: str) -> Any:
    cluster = cluster_or_404(current_user, slug)
    authorize(current_user, "view_cluster", cluster)
    return _render(cluster)


@bp.route("/clusters/<slug>/members", methods=["POST"])
@login_required
def grant_member(slug: str) -> Any:
    """Grant the person named by e-mail a role in the cluster, or change the role the page showed
    (``version``: 0 for a new membership); 403 with the reason when the policy refuses."""
    cluster = cluster_or_404(current_user, slug)
    authorize(current_user, "manage_cluster_members", cluster)
    form = MemberGrantForm()
    if not form.validate_on_submit():
        return _render(cluster, form, 422)
    member = find_user_by_email(form.email.data or "")
    if member is None or member.status is not UserStatus.ACTIVE:
        form.email.errors = [_("No active account has the address %(address)s.", address=repr(form.email.data))]
        return _render(cluster, form, 422)
    name = member.name
    try:
        membership = grant_membership(
            member, cluster.slug, form.role.data or "", form_version(form.version.data), actor=current_user
        )
    except NotAllowed as exc:
        reason = [str(exc)]
        return after_refusal(lambda: _render(cluster, form, 403, reason))
    except ValidationError as exc:
        messages = list(exc.fields.values())
        return after_refusal(lambda: _render(cluster, form, 422, messages))
    except StaleEdit:
        return stale_action(
            _(
                "Someone changed %(name)s's membership of this cluster since your page showed it, so nothing "
                "was changed. It is shown below as it is now: save again if you still mean to.",
                name=name,
            ),
            lambda status: _render(cluster, status=status),
        )
    record(
        "membership.grant",
        actor=current_user,
        target=("user", member.id),
        target_org=member.organisation_id,
        cluster_id=cluster.id,
        role=membership.role.value,
    )
    label = cluster_label(cluster)
    if membership.role is MembershipRole.COORDINATOR:
        message = _("%(name)s is now coordinator of “%(cluster)s”.", name=name, cluster=label)
    elif membership.role is MembershipRole.CONTRIBUTOR:
        message = _("%(name)s is now contributor of “%(cluster)s”.", name=name, cluster=label)
    else:
        message = _("%(name)s is now reader of “%(cluster)s”.", name=name, cluster=label)
    flash(message, "success")
    return _done(cluster)


def _done(cluster: Cluster) -> Response:
    return redirect(url_for("clusters.members", slug=cluster.slug))
