"""Linking a provider identity to an existing account: never by e-mail alone.

When a provider's sign-in names an e-mail address that already has a PAX account without a
link to that provider, ``request_link`` records an ``IdentityLinkRequest`` and signs nobody in.
The link is made only when

* the account's owner, signed in with their own password and second factor, confirms it
  through the secret address given to the browser that made the attempt, entering the
  password and current code again (``confirm_by_owner``), or
* the organisation's focal point approves it (``approve_by_focal_point``); this is the only
  way for an account without a password.

Every step is audited. Requests expire after ``LINK_REQUEST_DAYS``.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from app.audit.services import record, record_refused
from app.auth import mfa
from app.auth.models import (
    Identity,
    IdentityLinkRequest,
    IdentityProvider,
    LinkRequestStatus,
    User,
    UserStatus,
)
from app.auth.passwords import verify_password
from app.auth.services import locked_until, record_failure
from app.db import utcnow
from app.extensions import db
from app.validation import ValidationError

log = logging.getLogger("pax.sso")

LINK_REQUEST_DAYS = 7


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def owner_can_confirm(user: User) -> bool:
    """Only an account with a password can prove control itself; others need the focal point."""
    return user.password_hash is not None


def request_link(user: User, provider: IdentityProvider, subject: str, email: str) -> tuple[IdentityLinkRequest, str]:
    """Record that ``provider``'s identity ``subject`` asks to open ``user``'s account.

    Returns the request and the secret for the owner's confirmation address (shown once, to the
    browser of the attempt). A repeated attempt replaces the earlier pending request of the same
    identity, so only the newest address works. Tells the organisation's focal points.
    """
    now = utcnow()
    earlier = db.session.scalars(
        sa.select(IdentityLinkRequest).where(
            IdentityLinkRequest.provider_id == provider.id,
            IdentityLinkRequest.subject == subject,
            IdentityLinkRequest.status == LinkRequestStatus.PENDING,
        )
    ).all()
    for old in earlier:
        db.session.delete(old)
    token = secrets.token_urlsafe(32)
    link = IdentityLinkRequest(
        user_id=user.id,
        provider_id=provider.id,
        subject=subject,
        email=email,
        token_hash=_hash(token),
        created_at=now,
        expires_at=now + timedelta(days=LINK_REQUEST_DAYS),
    )
    db.session.add(link)
    db.session.flush()
    log.info("SSO link request %s for account %s through provider %s", link.id, user.id, provider.id)
    record(
        "auth.identity_link_requested",
        actor=None,
        target=("user", user.id),
        target_org=user.organisation_id,
        provider_id=provider.id,
        link_request_id=link.id,
    )
    from app.notifications.fanout import announce_link_request

    announce_link_request(link)
    return link, token


def _live(stmt: sa.Select[Any]) -> sa.Select[Any]:
    return stmt.where(
        IdentityLinkRequest.status == LinkRequestStatus.PENDING, IdentityLinkRequest.expires_at > utcnow()
    )


def request_for_token(token: str) -> IdentityLinkRequest | None:
    """The pending, unexpired request behind an owner's confirmation address."""
    if not token or len(token) > 100:
        return None
    return db.session.scalar(
        _live(sa.select(IdentityLinkRequest).where(IdentityLinkRequest.token_hash == _hash(token)))
    )


def pending_requests_for(viewer: Any) -> list[IdentityLinkRequest]:
    """Pending requests a focal point may decide: those of accounts of their own organisation."""
    if not getattr(viewer, "is_focal_point", False) or viewer.status is not UserStatus.ACTIVE:
        return []
    return list(
        db.session.scalars(
            _live(sa.select(IdentityLinkRequest))
            .join(User, User.id == IdentityLinkRequest.user_id)
            .where(User.organisation_id == viewer.organisation_id)
            .order_by(IdentityLinkRequest.created_at)
        )
    )


def pending_request_or_none(request_id: int) -> IdentityLinkRequest | None:
    return db.session.scalar(_live(sa.select(IdentityLinkRequest).where(IdentityLinkRequest.id == request_id)))


def _link(link: IdentityLinkRequest, status: LinkRequestStatus, by: User) -> Identity:
    existing = db.session.scalar(
        sa.select(Identity).where(Identity.provider_id == link.provider_id, Identity.subject == link.subject)
    )
    if existing is not None and existing.user_id != link.user_id:
        raise ValidationError({"link": _("This sign-in identity is already linked to another account.")})
    identity = existing or Identity(user_id=link.user_id, provider_id=link.provider_id, subject=link.subject)
    db.session.add(identity)
    link.status = status
    link.decided_at = utcnow()
    link.decided_by_id = by.id
    db.session.flush()
    return identity


def confirm_by_owner(link: IdentityLinkRequest, user: User, password: str, code: str) -> Identity:
    """The owner, signed in, proves control again with the password and the current second-factor code."""
    if link.user_id != user.id or link.status is not LinkRequestStatus.PENDING:
        raise ValidationError({"link": _("This request is not waiting for your confirmation.")})
    if not owner_can_confirm(user):
        raise ValidationError({"link": _("Your organisation's focal point has to approve this link.")})
    if locked_until(user):
        raise ValidationError({"password": _("Too many wrong attempts. Try again later.")})
    errors: dict[str, str] = {}
    if not verify_password(user.password_hash, password or ""):
        errors["password"] = _("The password is incorrect.")
    # The code is tried only after the password: a refused attempt is rolled back, so a code
    # checked beside a wrong password would stay unspent and could be tried again.
    elif user.totp_secret_sealed is not None and not (
        mfa.verify_totp(user, code or "") or mfa.use_recovery_code(user, code or "")
    ):
        errors["code"] = _("That code is not valid. Enter the current code from your app, or a recovery code.")
    if errors:
        # The attempt is refused, but its audit event and the failure count are kept.
        record_refused(
            "auth.identity_link_confirm",
            actor=user,
            target=("user", user.id),
            target_org=user.organisation_id,
            provider_id=link.provider_id,
            link_request_id=link.id,
            reason=",".join(sorted(errors)),
        )
        record_failure(user)
        raise ValidationError(errors)
    identity = _link(link, LinkRequestStatus.CONFIRMED, user)
    record(
        "auth.identity_link_confirm",
        actor=user,
        target=("user", user.id),
        target_org=user.organisation_id,
        provider_id=link.provider_id,
        link_request_id=link.id,
    )
    return identity


def approve_by_focal_point(link: IdentityLinkRequest, focal: User) -> Identity:
    """The account's organisation's focal point vouches that the identity is the account's owner."""
    identity = _link(link, LinkRequestStatus.APPROVED, focal)
    record(
        "admin.identity_link_approve",
        actor=focal,
        target=("user", link.user_id),
        target_org=link.user.organisation_id,
        provider_id=link.provider_id,
        link_request_id=link.id,
    )
    return identity


def reject(link: IdentityLinkRequest, by: User) -> None:
    link.status = LinkRequestStatus.REJECTED
    link.decided_at = utcnow()
    link.decided_by_id = by.id
    db.session.flush()
    record(
        "admin.identity_link_reject",
        actor=by,
        target=("user", link.user_id),
        target_org=link.user.organisation_id,
        provider_id=link.provider_id,
        link_request_id=link.id,
    )
