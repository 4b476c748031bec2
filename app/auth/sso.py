"""Company SSO over OpenID Connect with authlib's Flask client.

Authorization code flow with PKCE (S256), ``state`` and ``nonce`` (authlib keeps them in the
session per client), and an ID token whose signature, issuer, audience and expiry are checked:
authlib only checks ``aud`` when ``claims_options`` asks, so it always does here.
Claims from UserInfo, back-channel and RP-initiated logout are in ``app.auth.sso_protocol``.

Who the user becomes is decided by ``resolve_sso_user``: never an account of another
organisation than the provider's, whatever e-mail address the provider claims.
"""

from __future__ import annotations

import enum
import hashlib
import logging
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from authlib.integrations.flask_client import FlaskOAuth2App
from authlib.integrations.requests_client import OAuth2Session
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.audit.services import record
from app.auth.invitations import claim_sso_invitation
from app.auth.links import request_link
from app.auth.models import Identity, IdentityLinkRequest, IdentityProvider, User, UserStatus
from app.auth.providers import CONNECTION_FIELDS, announce_change, back_to_testing
from app.concurrency import claim
from app.db import utcnow
from app.directory.models import OrganisationDomain
from app.extensions import db, oauth
from app.keys.sealed import seal, unseal
from app.notifications.fanout import announce_pending_account
from app.outbound import guard, url_problem
from app.validation import ValidationError, normalise_domain

log = logging.getLogger("pax.sso")

SCOPES = "openid email profile"
#: RFC 8176 methods that prove a factor beyond a password.
MFA_AMR_VALUES = frozenset({"mfa", "otp", "hwk", "swk", "sms", "tel", "pop", "fpt", "face", "iris", "retina", "vbm"})


class SsoError(Exception):
    """The sign-in through a provider failed; the message is for the person signing in."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.message = message
        self.status = status


def providers_for_email(email: str) -> list[IdentityProvider]:
    """Enabled providers of the organisation that owns the e-mail's domain (home-realm discovery)."""
    domain = normalise_domain(email.rpartition("@")[2]) if "@" in email else None
    if domain is None:
        return []
    stmt = (
        sa.select(IdentityProvider)
        .join(OrganisationDomain, OrganisationDomain.organisation_id == IdentityProvider.organisation_id)
        .where(OrganisationDomain.domain == domain, IdentityProvider.enabled)
        .order_by(IdentityProvider.name)
    )
    return list(db.session.scalars(stmt))


def secret_context(provider_id: int) -> str:
    """What a provider's client secret is sealed under (``app.keys.sealed``); rotation re-seals with it too."""
    return f"idp-client-secret:{provider_id}"


class GuardedOAuth2Session(OAuth2Session):
    """authlib's HTTP session behind the outbound guard (``app.outbound``): discovery, JWKS, token
    and UserInfo requests reach only addresses PAX may contact, with bounded redirects, time and size."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        guard(self)


class GuardedOAuth2App(FlaskOAuth2App):
    client_cls = GuardedOAuth2Session


def client_for(provider: IdentityProvider) -> FlaskOAuth2App:
    """authlib's client for this provider; a changed setting yields a fresh registration."""
    fingerprint = hashlib.sha256(
        "|".join(
            [
                str(provider.id),
                provider.issuer,
                provider.discovery_url,
                provider.client_id,
                provider.client_secret_sealed,
            ]
        ).encode()
    ).hexdigest()[:16]
    name = f"idp{provider.id}-{fingerprint}"
    client = oauth.create_client(name)
    if client is None:
        oauth.register(
            name=name,
            client_id=provider.client_id,
            client_secret=unseal(provider.client_secret_sealed, secret_context(provider.id)).decode(),
            server_metadata_url=provider.discovery_url,
            client_cls=GuardedOAuth2App,
            client_kwargs={
                "scope": SCOPES,
                "code_challenge_method": "S256",
                "token_endpoint_auth_method": "client_secret_basic",
                "timeout": 10,
            },
        )
        client = oauth.create_client(name)
    return client


def claims_options(provider: IdentityProvider) -> dict[str, Any]:
    return {
        "iss": {"essential": True, "values": [provider.issuer]},
        "aud": {"essential": True, "values": [provider.client_id]},
        "sub": {"essential": True},
        "exp": {"essential": True},
    }


def mfa_asserted(claims: dict[str, Any]) -> bool:
    amr = claims.get("amr") or []
    if isinstance(amr, str):
        amr = [amr]
    acr = str(claims.get("acr") or "").lower()
    return bool(MFA_AMR_VALUES.intersection(str(m).lower() for m in amr)) or "mfa" in acr or "multi-factor" in acr


class SsoOutcome(enum.Enum):
    ACTIVE = "active"
    PENDING = "pending"
    #: An existing account has no link to this identity yet: nobody is signed in, a link request waits.
    LINK_REQUIRED = "link_required"


@dataclass
class SsoResult:
    user: User
    outcome: SsoOutcome
    mfa_asserted: bool
    created: bool
    #: For ``LINK_REQUIRED``: the request and the secret of the owner's confirmation address.
    link_request: IdentityLinkRequest | None = None
    link_token: str | None = None


def resolve_sso_user(provider: IdentityProvider, claims: dict[str, Any]) -> SsoResult:
    """Find, link or create the account for verified ID token claims.

    A first login creates a pending account in the provider's organisation. An e-mail whose
    domain the organisation does not own is refused, and so is an existing account of
    another organisation. An existing account of the organisation is never opened by its
    e-mail address alone: without an ``Identity`` for this provider and subject, a link request
    is recorded (``app.auth.links``) and the outcome is ``LINK_REQUIRED``. The provider's
    multi-factor assertion counts only when a focal point confirmed the exemption.
    """
    org = provider.organisation
    subject = str(claims.get("sub") or "")
    email = str(claims.get("email") or "").strip().lower()
    if not subject:
        raise SsoError(_("The sign-in service did not say who you are. Contact your organisation's focal point."))
    if not email or "@" not in email:
        raise SsoError(
            _(
                "%(organisation)s's sign-in service did not share your e-mail address, which PAX needs.",
                organisation=org.name,
            )
        )
    if claims.get("email_verified") is False:
        raise SsoError(
            _(
                "%(organisation)s's sign-in service has not verified the e-mail address %(email)s.",
                organisation=org.name,
                email=email,
            )
        )
    domain = email.rpartition("@")[2]
    if domain not in org.email_domains:
        raise SsoError(
            _(
                "The e-mail address %(email)s does not belong to %(organisation)s, so PAX cannot sign you in "
                "through %(organisation)s's sign-in service.",
                email=email,
                organisation=org.name,
            )
        )
    asserted = provider.mfa_exemption_effective and mfa_asserted(claims)
    identity = db.session.scalar(
        sa.select(Identity).where(Identity.provider_id == provider.id, Identity.subject == subject)
    )
    created = False
    if identity is not None:
        user = identity.user
    else:
        user = db.session.scalar(sa.select(User).where(User.email == email))
        if user is not None and user.organisation_id != org.id:
            raise SsoError(
                _(
                    "The account %(email)s belongs to another organisation; %(organisation)s's sign-in service "
                    "cannot open it.",
                    email=email,
                    organisation=org.name,
                )
            )
        if user is not None:
            if user.status is UserStatus.SUSPENDED:
                raise SsoError(_("Your account is suspended. Contact your organisation's focal point."), status=403)
            # The sign-in answers 403, so the request is rolled back: the link request (and its
            # notice to the focal points) is kept in a transaction of its own.
            user_id, provider_id = user.id, provider.id
            with db.independent_transaction() as session:
                kept_user, kept_provider = (
                    session.get_one(User, user_id),
                    session.get_one(IdentityProvider, provider_id),
                )
                link, token = request_link(kept_user, kept_provider, subject, email)
            return SsoResult(
                user=user,
                outcome=SsoOutcome.LINK_REQUIRED,
                mfa_asserted=False,
                created=False,
                link_request=link,
                link_token=token,
            )
        if user is None:
            name = str(claims.get("name") or "").strip()[:200] or email.partition("@")[0]
            user = User(email=email, name=name, organisation=org, status=UserStatus.PENDING)
            db.session.add(user)
            db.session.flush()
            created = True
            log.info("SSO created pending account %s for organisation %s", user.id, org.id)
            record(
                "auth.sso_account_created",
                actor=user,
                target=("user", user.id),
                target_org=org.id,
                provider_id=provider.id,
            )
            # An invited colleague's first SSO sign-in needs no approval: the invitation was it.
            if not claim_sso_invitation(user):
                announce_pending_account(user)
        identity = Identity(user_id=user.id, provider_id=provider.id, subject=subject)
        db.session.add(identity)
    identity.last_login_at = utcnow()
    if user.status is UserStatus.SUSPENDED:
        raise SsoError(_("Your account is suspended. Contact your organisation's focal point."), status=403)
    outcome = SsoOutcome.PENDING if user.status is UserStatus.PENDING else SsoOutcome.ACTIVE
    db.session.flush()
    return SsoResult(user=user, outcome=outcome, mfa_asserted=asserted, created=created)


def _settings_errors(
    organisation: Any,
    name: str,
    issuer: str,
    client_id: str,
    metadata_url: str | None,
    provider_id: int | None = None,
) -> dict[str, str]:
    errors: dict[str, str] = {}
    if organisation is None:
        return {"organisation_id": _("Choose the organisation whose users sign in through it.")}
    if not organisation.email_domains:
        errors["organisation_id"] = _(
            "%(organisation)s has no e-mail domain, so no sign-in could be routed to its provider. "
            "Add a domain to the organisation first.",
            organisation=organisation.name,
        )
    if not name or len(name) > 200:
        errors["name"] = _("Enter a name of 1 to 200 characters.")
    if not issuer.startswith(("https://", "http://")) or len(issuer) > 500:
        errors["issuer"] = _("Enter the provider's issuer URL (https://...).")
    elif problem := url_problem(issuer):
        errors["issuer"] = problem
    if metadata_url and (not metadata_url.startswith(("https://", "http://")) or len(metadata_url) > 500):
        errors["metadata_url"] = _("Enter the discovery document's URL (https://...).")
    elif metadata_url and (problem := url_problem(metadata_url)):
        errors["metadata_url"] = problem
    if not client_id or len(client_id) > 255:
        errors["client_id"] = _("Enter the client id PAX is registered under at the provider.")
    if "issuer" not in errors:
        clash = sa.select(IdentityProvider.id).where(
            IdentityProvider.organisation_id == organisation.id, IdentityProvider.issuer == issuer
        )
        if provider_id is not None:
            clash = clash.where(IdentityProvider.id != provider_id)
        if db.session.scalar(clash) is not None:
            errors["issuer"] = _(
                "%(organisation)s already has a provider with this issuer.", organisation=organisation.name
            )
    return errors


#: Where a provider may carry the user's e-mail address, as the admin form offers them.
EMAIL_CLAIM_CHOICES = {
    "email": _l("email (the standard claim)"),
    "preferred_username": _l("preferred_username (Entra ID)"),
    "upn": _l("upn (ADFS)"),
}


def _email_claim_errors(email_claim: str) -> dict[str, str]:
    if email_claim not in EMAIL_CLAIM_CHOICES:
        return {"email_claim": _("Choose the claim that carries the user's e-mail address.")}
    return {}


def add_provider(
    organisation: Any,
    name: str,
    issuer: str,
    client_id: str,
    client_secret: str,
    metadata_url: str | None = None,
    mfa_exempt_when_asserted: bool = False,
    email_claim: str = "email",
) -> IdentityProvider:
    """Register an organisation's OIDC provider; the client secret is sealed under the keyring.

    It starts in *testing* (``app.auth.providers``): nobody signs in through it before a test
    sign-in passed and an administrator enabled it. An MFA exemption is only requested here; the
    organisation's focal points, told by mail, confirm it.
    """
    name, issuer, client_id = (name or "").strip(), (issuer or "").strip(), (client_id or "").strip()
    metadata_url = (metadata_url or "").strip() or None
    errors = _settings_errors(organisation, name, issuer, client_id, metadata_url)
    if not client_secret:
        errors["client_secret"] = _("Enter the client secret.")
    errors.update(_email_claim_errors(email_claim))
    if errors:
        raise ValidationError(errors)
    provider = IdentityProvider(
        organisation=organisation,
        name=name,
        issuer=issuer,
        metadata_url=metadata_url,
        client_id=client_id,
        client_secret_sealed="",
        mfa_exempt_when_asserted=mfa_exempt_when_asserted,
        email_claim=email_claim,
    )
    db.session.add(provider)
    db.session.flush()
    provider.client_secret_sealed = seal(client_secret.encode(), secret_context(provider.id))
    announce_change(provider, "added")
    return provider


def update_provider(
    provider: IdentityProvider,
    *,
    name: str,
    issuer: str,
    client_id: str,
    metadata_url: str | None,
    mfa_exempt_when_asserted: bool,
    client_secret: str | None = None,
    email_claim: str | None = None,
    expected_version: int | None = None,
) -> list[str]:
    """Change a provider's settings; a blank ``client_secret`` keeps the sealed one. Returns the
    names of the settings that changed (``client_secret`` when a new one was given; never its value).

    authlib's client is keyed by a fingerprint of these settings (``client_for``), so the next
    sign-in uses the new ones. A change of the connection settings (``CONNECTION_FIELDS``) or of
    the e-mail claim puts the provider back in *testing*; a new issuer or discovery address also
    withdraws a confirmed MFA exemption. The organisation's focal points are told of any change.
    ``StaleEdit`` (nothing changed) when the administrator's form was drawn from another version
    (``expected_version``) or a simultaneous save won.
    """
    name, issuer, client_id = (name or "").strip(), (issuer or "").strip(), (client_id or "").strip()
    metadata_url = (metadata_url or "").strip() or None
    errors = _settings_errors(provider.organisation, name, issuer, client_id, metadata_url, provider.id)
    errors.pop("organisation_id", None)  # an existing provider keeps working while domains change
    if email_claim is not None:
        errors.update(_email_claim_errors(email_claim))
    if errors:
        raise ValidationError(errors)
    claim(provider, expected_version)
    wanted: dict[str, Any] = {
        "name": name,
        "issuer": issuer,
        "client_id": client_id,
        "metadata_url": metadata_url,
        "mfa_exempt_when_asserted": mfa_exempt_when_asserted,
    }
    if email_claim is not None:
        wanted["email_claim"] = email_claim
    changed = [field for field, value in wanted.items() if getattr(provider, field) != value]
    exemption_requested = mfa_exempt_when_asserted and not provider.mfa_exempt_when_asserted
    for field in changed:
        setattr(provider, field, wanted[field])
    if client_secret:
        set_client_secret(provider, client_secret)
        changed.append("client_secret")
    if {"issuer", "metadata_url"} & set(changed) or not mfa_exempt_when_asserted or exemption_requested:
        provider.mfa_exempt_confirmed_at = None
        provider.mfa_exempt_confirmed_by_id = None
    if set(changed) & {*CONNECTION_FIELDS, "email_claim"}:
        back_to_testing(provider)
    db.session.flush()
    if changed:
        announce_change(provider, "changed")
    if exemption_requested:
        announce_change(provider, "mfa_exempt_requested")
    return changed


def set_client_secret(provider: IdentityProvider, client_secret: str) -> None:
    provider.client_secret_sealed = seal(client_secret.encode(), secret_context(provider.id))
