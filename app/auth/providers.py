"""An identity provider's life cycle and the decisions that belong to the organisation.

* A provider starts in *testing* and goes back to it whenever its connection settings change
  (issuer, discovery address, client id or secret). Only a test sign-in that passed with the
  current settings (``record_test_success``) lets an administrator enable it (``set_status``).
* Skipping PAX's own second factor when the provider asserts multi-factor is asked for by an
  administrator and takes effect only when a focal point of the organisation confirms it
  (``confirm_mfa_exemption``).
* Whether PAX passwords stay usable when the provider cannot be reached is the organisation's
  choice, made by its focal point (``set_password_fallback``).
* Every addition or change is told to the organisation's focal points (``announce_change``).
"""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from app.audit.services import record
from app.auth.models import Identity, IdentityProvider, ProviderStatus, User
from app.concurrency import claim
from app.db import utcnow
from app.extensions import db
from app.validation import ValidationError

log = logging.getLogger("pax.sso")

#: Settings whose change means the provider must be tested again before anyone signs in through it.
CONNECTION_FIELDS = ("issuer", "metadata_url", "client_id", "client_secret")


def back_to_testing(provider: IdentityProvider) -> None:
    """Connection settings changed: the last test no longer says anything about them."""
    provider.status = ProviderStatus.TESTING
    provider.last_test_ok_at = None
    provider.last_test_by_id = None


def record_test_success(provider: IdentityProvider, admin: User) -> None:
    """A test sign-in through ``provider`` passed every check with its current settings."""
    provider.last_test_ok_at = utcnow()
    provider.last_test_by_id = admin.id
    db.session.flush()


def set_status(
    provider: IdentityProvider, status: ProviderStatus, actor: Any, expected_version: int | None = None
) -> None:
    """Enable, disable or put back to testing; enabling needs a passed test with the current settings.

    ``StaleEdit`` when the administrator's page showed another version (``expected_version``) or a
    simultaneous change won: a stale page never re-enables a provider someone just disabled.
    """
    if status is ProviderStatus.ENABLED and provider.last_test_ok_at is None:
        raise ValidationError(
            {
                "status": _(
                    "Run a test sign-in that succeeds before enabling this provider: nobody can sign in through "
                    "it until PAX has seen it work."
                )
            }
        )
    claim(provider, expected_version)
    before = provider.status
    provider.status = status
    db.session.flush()
    record(
        "admin.idp_status",
        actor=actor,
        target=("identity_provider", provider.id),
        target_org=provider.organisation_id,
        before=before.value,
        after=status.value,
    )


def confirm_mfa_exemption(provider: IdentityProvider, focal: User, expected_version: int | None = None) -> None:
    """The organisation's focal point agrees that the provider's own multi-factor sign-in replaces PAX's.

    ``StaleEdit`` when the provider changed since the focal point's page showed it (``expected_version``):
    a confirmation given for one issuer never carries over to settings the focal point has not seen.
    """
    if not provider.mfa_exempt_when_asserted:
        raise ValidationError({"mfa_exempt": _("No administrator has asked to rely on this provider's second factor.")})
    claim(provider, expected_version)
    provider.mfa_exempt_confirmed_at = utcnow()
    provider.mfa_exempt_confirmed_by_id = focal.id
    db.session.flush()
    record(
        "admin.idp_mfa_exempt_confirm",
        actor=focal,
        target=("identity_provider", provider.id),
        target_org=provider.organisation_id,
    )


def withdraw_mfa_exemption(provider: IdentityProvider, focal: User) -> None:
    """The focal point ends the exemption: PAX asks for its own second factor again."""
    provider.mfa_exempt_when_asserted = False
    provider.mfa_exempt_confirmed_at = None
    provider.mfa_exempt_confirmed_by_id = None
    db.session.flush()
    record(
        "admin.idp_mfa_exempt_withdraw",
        actor=focal,
        target=("identity_provider", provider.id),
        target_org=provider.organisation_id,
    )


def set_password_fallback(organisation: Any, allowed: bool, by: User) -> bool:
    """The focal point's choice; returns whether it changed."""
    if organisation.password_fallback == allowed:
        return False
    organisation.password_fallback = allowed
    db.session.flush()
    record(
        "org.password_fallback",
        actor=by,
        target=("organisation", organisation.id),
        target_org=organisation.id,
        allowed=allowed,
    )
    return True


def announce_change(provider: IdentityProvider, change: str) -> None:
    """Tell the organisation's focal points that its provider was added or changed (``change``:
    ``added``, ``changed`` or ``mfa_exempt_requested``)."""
    from app.notifications.fanout import announce_provider_change

    announce_provider_change(provider, change)
    log.info("identity provider %s %s: focal points told", provider.id, change)


def password_allowed(user: User) -> bool:
    """Whether a correct PAX password signs ``user`` in: always, unless the account is linked to
    an enabled provider of its organisation and the focal point keeps passwords off as a fallback
    (so an employee the company offboarded at its provider cannot come back by password)."""
    if user.organisation.password_fallback:
        return True
    linked = (
        sa.select(Identity.id)
        .join(IdentityProvider, IdentityProvider.id == Identity.provider_id)
        .where(
            Identity.user_id == user.id,
            IdentityProvider.organisation_id == user.organisation_id,
            IdentityProvider.enabled,
        )
    )
    return not db.session.scalar(sa.select(linked.exists()))
