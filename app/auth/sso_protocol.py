"""The OpenID Connect protocol beyond the sign-in redirect, as standard-conformant providers speak it.

- Claims: a conformant provider that issues an access token puts only ``sub`` and the session
  claims in the ID token and serves ``email`` and ``name`` at the UserInfo endpoint (OpenID
  Connect Core 5.4). ``identity_claims`` reads the ID token first and asks UserInfo for what is
  missing; UserInfo's ``sub`` must be the ID token's, and only profile attributes are taken
  from it, never what decides how the user authenticated (``amr``, ``acr``).
- Back-channel logout (OpenID Connect Back-Channel Logout 1.0): ``verify_logout_token`` checks
  a logout token's signature, ``iss``, ``aud``, ``iat``, ``jti`` (once only), ``events`` and the
  absence of ``nonce``; ``end_provider_sessions`` ends the PAX sessions it names.
- RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): ``end_session_url``.

Signing keys come from the provider's JWKS through authlib's client, which fetches them again
when a token names a key id it has not seen (the provider rotated its keys).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import requests
import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from app.auth.models import Identity, IdentityProvider, LogoutTokenUse, UserSession
from app.auth.sso import EMAIL_CLAIM_CHOICES, SsoError, client_for
from app.db import utcnow
from app.extensions import db
from app.outbound import OutboundRefused, check_url, current_policy

log = logging.getLogger("pax.sso")

BACKCHANNEL_LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
#: What UserInfo may add to the ID token's claims: who the person is, never how they signed in.
PROFILE_CLAIMS = frozenset(
    {"email", "email_verified", "name", "given_name", "family_name", "preferred_username", "upn", "locale"}
)
#: Algorithms PAX accepts for ID and logout tokens, whatever a provider advertises ("none" never).
SIGNING_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]


def clock_skew() -> int:
    return int(current_app.config["OIDC_CLOCK_SKEW_SECONDS"])


def identity_claims(provider: IdentityProvider, id_claims: dict[str, Any], token: dict[str, Any]) -> dict[str, Any]:
    """The claims PAX decides on: the verified ID token's, completed from UserInfo when the
    address claim the provider is configured for is not in the ID token.

    The address is returned under ``email`` whichever claim carried it; ``email_verified`` only
    speaks for an ``email`` claim, so it is dropped when another claim carries the address.
    Raises ``SsoError`` when UserInfo answers for another subject or cannot be read.
    """
    claims = dict(id_claims)
    wanted = provider.email_claim if provider.email_claim in EMAIL_CLAIM_CHOICES else "email"
    if not claims.get(wanted) or not claims.get("name"):
        userinfo = _userinfo(provider, token) if token.get("access_token") else {}
        if userinfo and str(userinfo.get("sub") or "") != str(claims.get("sub") or ""):
            log.warning("UserInfo of provider %s answered for another subject", provider.id)
            raise SsoError(
                _(
                    "%(organisation)s's sign-in service gave conflicting answers about who you are, "
                    "so PAX did not sign you in. Contact your organisation's IT support.",
                    organisation=provider.organisation.name,
                )
            )
        for name, value in userinfo.items():
            if name in PROFILE_CLAIMS and claims.get(name) in (None, ""):
                claims[name] = value
    if wanted != "email":
        claims["email"] = claims.get(wanted)
        claims.pop("email_verified", None)
    return claims


def _userinfo(provider: IdentityProvider, token: dict[str, Any]) -> dict[str, Any]:
    client = client_for(provider)
    if not client.load_server_metadata().get("userinfo_endpoint"):
        return {}
    try:
        response = client.get(
            client.load_server_metadata()["userinfo_endpoint"],
            token=token,
            headers={"Accept": "application/json"},
        )
        response.raise_for_status()
        data = response.json()
    except Exception as exc:  # the provider is down, refused the token, or answered a signed JWT
        log.warning("UserInfo of provider %s failed: %s", provider.id, type(exc).__name__)
        raise SsoError(
            _(
                "PAX could not read your profile from %(organisation)s's sign-in service, so you are "
                "not signed in. Try again in a few minutes.",
                organisation=provider.organisation.name,
            ),
            status=502,
        ) from exc
    return data if isinstance(data, dict) else {}


# --- back-channel logout ----------------------------------------------------------------------------


class LogoutTokenError(Exception):
    """A logout token PAX refuses; the message names the check that failed, never the token."""


@dataclass(frozen=True)
class LogoutRequest:
    subject: str | None
    sid: str | None


def _decode(provider: IdentityProvider, raw: str) -> Any:
    client = client_for(provider)
    try:
        advertised = client.load_server_metadata().get("id_token_signing_alg_values_supported") or ["RS256"]
        registry = JWSRegistry(algorithms=[a for a in advertised if a in SIGNING_ALGORITHMS] or ["RS256"])
        try:
            return jwt.decode(raw, KeySet.import_key_set(client.fetch_jwk_set()), registry=registry)
        except InvalidKeyIdError:
            return jwt.decode(raw, KeySet.import_key_set(client.fetch_jwk_set(force=True)), registry=registry)
    except (JoseError, ValueError) as exc:
        raise LogoutTokenError(f"signature or format refused ({type(exc).__name__})") from exc
    except (OutboundRefused, requests.RequestException) as exc:  # not readable, or not from there
        raise LogoutTokenError(f"discovery or signing keys unavailable ({type(exc).__name__})") from exc


def verify_logout_token(provider: IdentityProvider, raw: str) -> LogoutRequest:
    """Check a logout token as Back-Channel Logout 1.0 section 2.6 asks, and spend its ``jti``."""
    if not raw or len(raw) > 16_384:
        raise LogoutTokenError("no logout token")
    claims = dict(_decode(provider, raw).claims)
    if claims.get("iss") != provider.issuer:
        raise LogoutTokenError("issuer")
    audience = claims.get("aud")
    if provider.client_id not in (audience if isinstance(audience, list) else [audience]):
        raise LogoutTokenError("audience")
    now, skew = time.time(), clock_skew()
    issued = claims.get("iat")
    max_age = int(current_app.config["OIDC_LOGOUT_TOKEN_MAX_AGE_SECONDS"])
    if not isinstance(issued, int | float) or issued > now + skew or issued < now - max_age - skew:
        raise LogoutTokenError("issued-at time")
    expires = claims.get("exp")
    if expires is not None and (not isinstance(expires, int | float) or expires < now - skew):
        raise LogoutTokenError("expired")
    events = claims.get("events")
    if not isinstance(events, dict) or not isinstance(events.get(BACKCHANNEL_LOGOUT_EVENT), dict):
        raise LogoutTokenError("events")
    if "nonce" in claims:
        raise LogoutTokenError("nonce present")
    subject = claims.get("sub")
    sid = claims.get("sid")
    if not (isinstance(subject, str) and subject) and not (isinstance(sid, str) and sid):
        raise LogoutTokenError("neither sub nor sid")
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti or len(jti) > 255:
        raise LogoutTokenError("jti")
    _spend_jti(provider, jti, max_age + 2 * skew)
    return LogoutRequest(subject=subject or None, sid=sid or None)


def _spend_jti(provider: IdentityProvider, jti: str, keep_seconds: int) -> None:
    """Remember ``jti``; the unique index refuses a replay, even one racing on another server."""
    db.session.execute(sa.delete(LogoutTokenUse).where(LogoutTokenUse.expires_at < utcnow()))
    try:
        with db.session.begin_nested():
            db.session.add(
                LogoutTokenUse(provider_id=provider.id, jti=jti, expires_at=utcnow() + timedelta(seconds=keep_seconds))
            )
    except sa.exc.IntegrityError:
        raise LogoutTokenError("replayed") from None


def end_provider_sessions(provider: IdentityProvider, request: LogoutRequest) -> int:
    """End the live PAX sessions that the logout names: those of the provider session ``sid``,
    else every session the subject opened through this provider. Returns how many."""
    conditions = [UserSession.identity_provider_id == provider.id, UserSession.revoked_at.is_(None)]
    if request.sid:
        conditions.append(UserSession.sso_sid == request.sid)
    if request.subject:
        conditions.append(UserSession.sso_subject == request.subject)
    result = db.session.execute(sa.update(UserSession).where(*conditions).values(revoked_at=utcnow()))
    return result.rowcount or 0


def known_subject(provider: IdentityProvider, subject: str | None) -> int | None:
    """The PAX user linked to ``subject`` at this provider, for the audit record."""
    if not subject:
        return None
    return db.session.scalar(
        sa.select(Identity.user_id).where(Identity.provider_id == provider.id, Identity.subject == subject)
    )


# --- RP-initiated logout -----------------------------------------------------------------------------


def end_session_url(provider: IdentityProvider, post_logout_redirect_uri: str) -> str | None:
    """Where to send the browser so the provider ends its own session too, or None when the
    provider offers no ``end_session_endpoint`` or cannot be asked right now.

    The ``client_id`` says who asks (RP-Initiated Logout 1.0 section 2): PAX keeps no ID token
    to send as ``id_token_hint``, since it would carry personal data in every session row.
    """
    try:
        client = client_for(provider)
        endpoint = client.load_server_metadata().get("end_session_endpoint")
        if not endpoint:
            return None
        check_url(str(endpoint), current_policy(), resolve_host=False)  # the browser goes there: https only
        return str(
            client.create_logout_url(post_logout_redirect_uri=post_logout_redirect_uri, client_id=provider.client_id)[
                "url"
            ]
        )
    except Exception as exc:  # discovery failed: sign out of PAX all the same
        log.warning("end-session URL of provider %s unavailable: %s", provider.id, type(exc).__name__)
        return None
