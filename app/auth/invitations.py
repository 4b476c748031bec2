"""Inviting a colleague from the web: focal points into their own organisation, administrators
into any (``app.policy``: ``invite_users``, ``manage_invitation``).

The invitation mail carries a set-password link (random secret, only its SHA-256 stored, single
use, ``PAX_INVITATION_DAYS`` days) or, when the organisation has an enabled identity provider,
tells the colleague to sign in with their company account. Accepting makes an active plain member
account, without cluster memberships: memberships come from coordinators and focal points.
A resend makes a new link and kills the old one; a revoked invitation's link is dead.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext

from app.audit.services import record
from app.auth.models import IdentityProvider, User, UserStatus
from app.auth.onboarding_models import Invitation
from app.auth.passwords import password_problem
from app.auth.reset import mail_link, queue_plain_mail, secret_and_hash, token_digest
from app.auth.services import create_user, find_user_by_email, normalise_email
from app.db import utcnow
from app.directory.models import Organisation
from app.extensions import db
from app.policy import visible_invitations
from app.validation import ValidationError

log = logging.getLogger("pax.auth")


def _days() -> int:
    return int(current_app.config["INVITATION_DAYS"])


def organisation_uses_sso(organisation: Organisation) -> bool:
    """Whether the organisation has an enabled identity provider its people sign in with."""
    return bool(
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(IdentityProvider)
            .where(IdentityProvider.organisation_id == organisation.id, IdentityProvider.enabled)
        )
    )


def _open(email: str, organisation_id: int | None = None) -> sa.Select[tuple[Invitation]]:
    stmt = sa.select(Invitation).where(
        Invitation.email == email,
        Invitation.accepted_at.is_(None),
        Invitation.revoked_at.is_(None),
        Invitation.expires_at > utcnow(),
    )
    if organisation_id is not None:
        stmt = stmt.where(Invitation.organisation_id == organisation_id)
    return stmt


def _mail(invitation: Invitation, secret: str) -> None:
    """The invitation mail, in the language of the request that sends it (the address has no account yet)."""
    org = invitation.organisation.name
    if invitation.invited_by:
        invites = _(
            "%(inviter)s invites you to PAX, the secure exchange of the European Ports Alliance,\n"
            "as a member of %(organisation)s.",
            inviter=invitation.invited_by.name,
            organisation=org,
        )
    else:
        invites = _(
            "The PAX administrators invite you to PAX, the secure exchange of the European Ports Alliance,\n"
            "as a member of %(organisation)s.",
            organisation=org,
        )
    lines = [
        _("Hello %(name)s,", name=invitation.name),
        "",
        invites,
        "",
    ]
    if invitation.via_sso:
        lines += [
            _(
                "%(organisation)s signs in with its own company account. Open this link and sign in with your\n"
                "work address and your company password:",
                organisation=org,
            ),
            "",
            mail_link("onboarding.accept_invitation", token=secret),
        ]
    else:
        lines += [
            _("Open this link to choose your password and start using PAX:"),
            "",
            mail_link("onboarding.accept_invitation", token=secret),
        ]
    lines += [
        "",
        ngettext(
            "The link works once, for %(num)d day. If you did not expect this invitation, ignore\nthis message.",
            "The link works once, for %(num)d days. If you did not expect this invitation, ignore\nthis message.",
            _days(),
        ),
    ]
    queue_plain_mail(invitation.email, _("PAX: you are invited"), "\n".join(lines))


def _audit(action: str, actor: User | None, invitation: Invitation, **details: object) -> None:
    record(
        action,
        actor=actor,
        target=("invitation", invitation.id),
        target_org=invitation.organisation_id,
        **details,
    )


def invite(inviter: User, organisation: Organisation, email: str, name: str) -> Invitation:
    """Invite ``email`` into ``organisation`` (the caller has asked the policy) and queue the mail."""
    errors: dict[str, str] = {}
    normalised = normalise_email(email or "")
    try:
        normalised = validate_email(normalised, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        errors["email"] = _("Enter a valid e-mail address.")
    else:
        domains = [d.lower() for d in organisation.email_domains]
        if domains and normalised.rpartition("@")[2] not in domains:
            errors["email"] = _(
                "Use an address of %(organisation)s: %(domains)s.",
                organisation=organisation.name,
                domains=", ".join(domains),
            )
        elif find_user_by_email(normalised) is not None:
            errors["email"] = _("An account for %(email)s already exists.", email=normalised)
        elif db.session.scalar(_open(normalised)) is not None:
            errors["email"] = _("%(email)s is already invited. Resend that invitation instead.", email=normalised)
    name = (name or "").strip()
    if not name or len(name) > 200:
        errors["name"] = _("Enter a name of 1 to 200 characters.")
    if errors:
        raise ValidationError(errors)
    secret, digest = secret_and_hash()
    invitation = Invitation(
        email=normalised,
        name=name,
        organisation=organisation,
        invited_by=inviter,
        token_hash=digest,
        via_sso=organisation_uses_sso(organisation),
        expires_at=utcnow() + timedelta(days=_days()),
    )
    db.session.add(invitation)
    db.session.flush()
    _mail(invitation, secret)
    _audit("invitation.create", inviter, invitation, via_sso=invitation.via_sso)
    log.info("user %s invited a colleague into organisation %s", inviter.id, organisation.id)
    return invitation


def resend(actor: User, invitation: Invitation) -> None:
    """A new link with a new expiry; the old link dies. Accepted or revoked invitations stay so."""
    if invitation.accepted_at is not None:
        raise ValidationError({"invitation": _("This invitation was accepted already.")})
    if invitation.revoked_at is not None:
        raise ValidationError({"invitation": _("This invitation was withdrawn. Invite the colleague again.")})
    secret, invitation.token_hash = secret_and_hash()
    invitation.sent_at = utcnow()
    invitation.expires_at = utcnow() + timedelta(days=_days())
    invitation.via_sso = organisation_uses_sso(invitation.organisation)
    _mail(invitation, secret)
    _audit("invitation.resend", actor, invitation)


def revoke(actor: User, invitation: Invitation) -> None:
    """Withdraw an invitation: its link no longer works."""
    if invitation.accepted_at is not None:
        raise ValidationError({"invitation": _("This invitation was accepted already; suspend the account instead.")})
    if invitation.revoked_at is None:
        invitation.revoked_at = utcnow()
        _audit("invitation.revoke", actor, invitation)


def invitation_for_token(secret: str) -> Invitation | None:
    """The open invitation that ``secret`` opens (not accepted, revoked, expired or resent), or None."""
    if not secret or len(secret) > 200:
        return None
    invitation = db.session.scalar(sa.select(Invitation).where(Invitation.token_hash == token_digest(secret)))
    if invitation is None or invitation.state(utcnow()) != "open":
        return None
    return invitation


def accept(invitation: Invitation, password: str, confirm: str) -> User:
    """Create the invited colleague's active member account with the chosen password."""
    errors: dict[str, str] = {}
    context = {"email": invitation.email, "name": invitation.name, "organisation": invitation.organisation.name}
    if problem := password_problem(password or "", **context):
        errors["password"] = problem
    elif password != confirm:
        errors["confirm_password"] = _("The two passwords differ.")
    if find_user_by_email(invitation.email) is not None:
        exists = _("An account for this address exists already. Sign in instead.")
        errors["password"] = exists
    if errors:
        raise ValidationError(errors)
    user = create_user(invitation.email, invitation.name, invitation.organisation, password=password)
    _accepted(invitation, user)
    return user


def _accepted(invitation: Invitation, user: User) -> None:
    invitation.accepted_at = utcnow()
    invitation.user_id = user.id
    _audit("invitation.accept", user, invitation)
    log.info("invitation %s accepted: account %s", invitation.id, user.id)


def claim_sso_invitation(user: User) -> bool:
    """For SSO sign-in code: a pending account just made by a first SSO sign-in whose address was
    invited into its organisation becomes active at once (the invitation was the approval).
    Returns whether it did."""
    if user.status is not UserStatus.PENDING:
        return False
    invitation = db.session.scalar(_open(user.email, user.organisation_id))
    if invitation is None:
        return False
    user.status = UserStatus.ACTIVE
    _accepted(invitation, user)
    return True


def invitations_for(viewer: User, limit: int = 200) -> list[Invitation]:
    """The invitations ``viewer`` may manage, newest first."""
    return list(
        db.session.scalars(
            sa.select(Invitation)
            .where(visible_invitations(viewer))
            .order_by(Invitation.created_at.desc(), Invitation.id.desc())
            .limit(limit)
        )
    )


def invitation_or_404(viewer: User, invitation_id: int) -> Invitation:
    from flask import abort

    invitation = db.session.scalar(
        sa.select(Invitation).where(Invitation.id == invitation_id, visible_invitations(viewer))
    )
    if invitation is None:
        abort(404)
    return invitation
