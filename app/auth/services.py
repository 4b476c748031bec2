"""Account writes used by the login views, the CLI and tests."""

from __future__ import annotations

import enum
import logging
from datetime import datetime, timedelta

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import gettext as _

from app.audit.services import record, record_refused
from app.auth.models import GlobalRole, User, UserStatus
from app.auth.passwords import hash_password, needs_rehash, password_problem, verify_password
from app.auth.throttle import unknown_failure, unknown_locked_until
from app.clusters.models import Cluster, ClusterMembership, MembershipRole
from app.concurrency import StaleEdit, claim
from app.db import utcnow
from app.directory.models import Organisation
from app.extensions import db
from app.policy import NotAllowed, membership_refusal
from app.validation import ValidationError

log = logging.getLogger("pax.auth")


class LoginOutcome(enum.Enum):
    OK = "ok"
    BAD_CREDENTIALS = "bad_credentials"
    PENDING = "pending"
    SUSPENDED = "suspended"
    LOCKED = "locked"


def normalise_email(email: str) -> str:
    return email.strip().lower()


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == normalise_email(email)))


def locked_until(user: User) -> datetime | None:
    """When the temporary lockout of ``user`` ends, or None when it is not locked."""
    if user.locked_until is not None and user.locked_until > utcnow():
        return user.locked_until
    return None


def login_locked_until(email: str, user: User | None) -> datetime | None:
    """When the lockout of the typed address ends: the account's own when it exists, else the
    same count kept for the address (``app.auth.throttle``), so the answer never tells them apart."""
    if user is not None:
        return locked_until(user)
    return unknown_locked_until(email)


def record_failure(user: User) -> None:
    """Count a failed password or second-factor attempt; the limit locks the account for a while.

    The request that failed is refused and rolled back, but the count is kept: it is written at
    once in a transaction of its own (``db.independent_transaction``), on the row as stored now.
    """
    user_id = user.id
    with db.independent_transaction() as session:
        count_failure(session.get_one(User, user_id))


def count_failure(user: User) -> None:
    """``record_failure`` inside a transaction that is kept already (a step-up's own)."""
    user.failed_logins += 1
    if user.failed_logins >= current_app.config["LOGIN_MAX_FAILURES"]:
        user.locked_until = utcnow() + timedelta(minutes=current_app.config["LOGIN_LOCKOUT_MINUTES"])
        user.failed_logins = 0
        log.warning("account %s locked after repeated failed sign-ins", user.id)
        record(
            "auth.lockout",
            actor=user,
            target=("user", user.id),
            target_org=user.organisation_id,
            minutes=current_app.config["LOGIN_LOCKOUT_MINUTES"],
        )


def record_success(user: User) -> None:
    user.failed_logins = 0
    user.locked_until = None


def _login_refused(user: User | None, outcome: LoginOutcome) -> None:
    """An ``auth.login`` event with outcome denied and the reason, kept although the sign-in is
    refused (``record_refused``). An address that names no account is not kept (it may be a
    password typed into the wrong field): no actor then."""
    record_refused("auth.login", actor=user, method="password", reason=outcome.value)


def authenticate(email: str, password: str) -> tuple[LoginOutcome, User | None]:
    """Check a local login. Only a correct password reveals that an account is pending or suspended.

    Every refusal is an audit event (``auth.login``, denied, with the reason); a success is
    recorded when the session starts (``app.auth.sessions.start_session``).
    """
    user = find_user_by_email(email)
    if login_locked_until(email, user):
        _login_refused(user, LoginOutcome.LOCKED)
        return LoginOutcome.LOCKED, user
    if not verify_password(user.password_hash if user else None, password) or user is None:
        _login_refused(user, LoginOutcome.BAD_CREDENTIALS)
        if user is not None:
            record_failure(user)
        else:
            unknown_failure(email)
        log.info("local login failed")
        if login_locked_until(email, user):
            return LoginOutcome.LOCKED, user
        return LoginOutcome.BAD_CREDENTIALS, None
    if user.status is UserStatus.PENDING:
        _login_refused(user, LoginOutcome.PENDING)
        return LoginOutcome.PENDING, user
    if user.status is UserStatus.SUSPENDED:
        _login_refused(user, LoginOutcome.SUSPENDED)
        return LoginOutcome.SUSPENDED, user
    if user.password_hash and needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    log.info("password accepted for user %s", user.id)
    return LoginOutcome.OK, user


def create_user(
    email: str,
    name: str,
    organisation: Organisation,
    role: str = GlobalRole.MEMBER.value,
    password: str | None = None,
    status: UserStatus = UserStatus.ACTIVE,
    is_focal_point: bool = False,
) -> User:
    """Create an account; with no password it can only sign in through SSO."""
    errors: dict[str, str] = {}
    normalised = normalise_email(email)
    try:
        normalised = validate_email(normalised, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        errors["email"] = _("%(email)s is not a valid e-mail address.", email=repr(email))
    else:
        if find_user_by_email(normalised) is not None:
            errors["email"] = _("An account for %(email)s already exists.", email=normalised)
    name = (name or "").strip()
    if not name or len(name) > 200:
        errors["name"] = _("Enter a name of 1 to 200 characters.")
    if role not in GlobalRole.values():
        errors["role"] = _("Choose one of: %(choices)s.", choices=", ".join(GlobalRole.values()))
    if password is not None and (
        problem := password_problem(password, email=normalised, name=name, organisation=organisation.name)
    ):
        errors["password"] = problem
    if errors:
        raise ValidationError(errors)
    user = User(
        email=normalised,
        name=name,
        organisation=organisation,
        role=GlobalRole(role),
        status=status,
        is_focal_point=is_focal_point,
        password_hash=hash_password(password) if password is not None else None,
    )
    db.session.add(user)
    db.session.flush()
    return user


def refuse_membership_change(
    actor: User | None, member: User, cluster: Cluster, action: str, **details: object
) -> None:
    """Raise ``NotAllowed`` (with the policy's plain reason) when ``actor`` may not grant, change or
    end ``member``'s membership of ``cluster``, after recording the refused attempt in a
    transaction of its own so it survives the request's rollback. ``actor`` None is the operator's
    command line (server access, README "Command line"), which the policy does not judge."""
    if actor is None:
        return
    reason = membership_refusal(actor, member, cluster)
    if reason is None:
        return
    record_refused(
        action,
        actor=actor,
        target=("user", member.id),
        target_org=member.organisation_id,
        cluster_id=cluster.id,
        reason=reason,
        **details,
    )
    raise NotAllowed(reason)


def grant_membership(
    user: User, cluster_slug: str, role: str, expected_version: int | None = None, *, actor: User | None
) -> ClusterMembership:
    """Give ``user`` a role in a cluster, replacing any role they had there, as ``actor``.

    ``actor`` must be allowed by ``app.policy.membership_refusal`` (the cluster's coordinator, the
    member's focal point, an administrator; never themselves, never an administrator or curator
    for a co-administrator of their own organisation): else ``NotAllowed``, the attempt audited.
    ``actor`` None is the operator's command line or the demo loader. The membership remembers
    who granted the role it has now, and when.

    ``expected_version`` is the version of the membership the page showed, ``0``
    when it showed none; ``StaleEdit`` (nothing changed) when the membership is no longer that one:
    changed, removed or granted meanwhile, or a simultaneous save won. So a stale page never puts
    back a role someone has just lowered or removed. ``None`` (the CLI, the demo) only guards
    against a simultaneous save.
    """
    errors: dict[str, str] = {}
    cluster = db.session.scalar(sa.select(Cluster).where(Cluster.slug == cluster_slug))
    if cluster is None:
        slugs = db.session.scalars(sa.select(Cluster.slug).order_by(Cluster.position)).all()
        errors["cluster"] = _(
            "Unknown cluster %(cluster)s; choose one of: %(choices)s.",
            cluster=repr(cluster_slug),
            choices=", ".join(slugs),
        )
    if role not in MembershipRole.values():
        errors["role"] = _("Choose one of: %(choices)s.", choices=", ".join(MembershipRole.values()))
    if errors:
        raise ValidationError(errors)
    assert cluster is not None
    refuse_membership_change(actor, user, cluster, "membership.grant", role=role)
    granted_by_id = actor.id if actor is not None else None
    membership = db.session.scalar(
        sa.select(ClusterMembership).where(
            ClusterMembership.user_id == user.id, ClusterMembership.cluster_id == cluster.id
        )
    )
    if membership is not None:
        claim(membership, expected_version)
        membership.role = MembershipRole(role)
        membership.granted_by_id, membership.granted_at = granted_by_id, utcnow()
        db.session.flush()
        return membership
    if expected_version:  # the page showed a membership that is gone: not put back from a stale page
        raise StaleEdit(ClusterMembership(user_id=user.id, cluster_id=cluster.id), expected_version)
    membership = ClusterMembership(
        user_id=user.id,
        cluster_id=cluster.id,
        role=MembershipRole(role),
        granted_by_id=granted_by_id,
        granted_at=utcnow(),
    )
    try:
        with db.session.begin_nested():  # a simultaneous grant in the same cluster got there first
            db.session.add(membership)
    except sa.exc.IntegrityError:
        raise StaleEdit(membership, expected_version) from None
    db.session.expire(user, ["memberships"])
    return membership
