"""Administrative actions on accounts: approval, suspension, roles, MFA reset, passwords.

Every change of who someone is or what they may do ends their other sessions at once, so a
suspended or demoted user cannot keep browsing with an old cookie.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _

from app.auth.models import GlobalRole, Identity, RecoveryCode, User, UserStatus
from app.auth.passwords import account_context, hash_password, password_problem, verify_password
from app.auth.services import refuse_membership_change
from app.auth.sessions import revoke_everyones_sessions, revoke_sessions
from app.clusters.models import ClusterMembership
from app.concurrency import claim
from app.extensions import db
from app.notifications.fanout import announce_approval
from app.validation import ValidationError


def approve_user(user: User) -> None:
    """A pending account becomes active, and its owner is told by mail."""
    if user.status is not UserStatus.PENDING:
        raise ValidationError({"status": _("Only pending accounts can be approved.")})
    user.status = UserStatus.ACTIVE
    announce_approval(user)


def reject_user(user: User) -> None:
    """A pending account is removed with its SSO identities; it never held content."""
    if user.status is not UserStatus.PENDING:
        raise ValidationError({"status": _("Only pending accounts can be rejected.")})
    db.session.execute(sa.delete(Identity).where(Identity.user_id == user.id))
    db.session.delete(user)


def suspend_user(user: User) -> int:
    """Suspend and end every session now; returns how many sessions were ended."""
    user.status = UserStatus.SUSPENDED
    return revoke_sessions(user.id)


def end_user_sessions(user: User) -> int:
    """End every session of ``user`` now without suspending them (they may sign in again);
    returns how many ended. API tokens are not sessions and keep working."""
    return revoke_sessions(user.id, reason="ended_by_administrator")


def end_everyones_sessions(keep_current: bool = True) -> int:
    """End every account's sessions (after an incident); the administrator doing it keeps their own
    current session (``keep_current``; the command line keeps none). Returns how many ended."""
    return revoke_everyones_sessions(keep_current=keep_current)


def reactivate_user(user: User) -> None:
    if user.status is not UserStatus.SUSPENDED:
        raise ValidationError({"status": _("Only suspended accounts can be reactivated.")})
    user.status = UserStatus.ACTIVE
    user.failed_logins = 0
    user.locked_until = None


def change_role(user: User, role: str) -> None:
    """Change the global role; the user signs in again under the new role."""
    if role not in GlobalRole.values():
        raise ValidationError({"role": _("Choose one of: %(choices)s.", choices=", ".join(GlobalRole.values()))})
    new_role = GlobalRole(role)
    if new_role is user.role:
        return
    if user.role is GlobalRole.ADMIN and user.status is UserStatus.ACTIVE and _active_admins() <= 1:
        raise ValidationError({"role": _("PAX needs at least one active administrator.")})
    user.role = new_role
    revoke_sessions(user.id)


def set_focal_point(user: User, value: bool) -> None:
    if user.is_focal_point != value:
        user.is_focal_point = value
        revoke_sessions(user.id)


def reset_mfa(user: User) -> None:
    """Remove the second factor; the user enrols again at the next sign-in."""
    user.totp_secret_sealed = None
    user.totp_last_step = None
    user.mfa_enrolled_at = None
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    revoke_sessions(user.id)


def change_password(user: User, current: str, new: str, confirm: str) -> None:
    """The user's own password change; every other session of theirs ends."""
    errors: dict[str, str] = {}
    if user.password_hash is None:
        errors["current_password"] = _("Your account signs in through your organisation; it has no PAX password.")
    elif not verify_password(user.password_hash, current):
        errors["current_password"] = _("Your current password is not correct.")
    if problem := password_problem(new, **account_context(user)):
        errors["new_password"] = problem
    elif new != confirm:
        errors["confirm_password"] = _("The two new passwords differ.")
    elif user.password_hash and verify_password(user.password_hash, new):
        errors["new_password"] = _("Choose a password you have not been using.")
    if errors:
        raise ValidationError(errors)
    user.password_hash = hash_password(new)
    user.password_must_change = False
    revoke_sessions(user.id, keep_current=True)


def revoke_membership(
    membership: ClusterMembership, expected_version: int | None = None, *, actor: User | None
) -> None:
    """End a membership as ``actor`` (whoever may grant it, ``app.policy.membership_refusal``:
    else ``NotAllowed``, the attempt audited); ``StaleEdit`` (nothing removed) when it changed
    since the page showed it (``expected_version``) or a simultaneous change won."""
    refuse_membership_change(actor, membership.user, membership.cluster, "membership.revoke")
    claim(membership, expected_version)
    db.session.delete(membership)
    db.session.flush()


def _active_admins() -> int:
    return (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(User)
            .where(User.role == GlobalRole.ADMIN, User.status == UserStatus.ACTIVE)
        )
        or 0
    )
