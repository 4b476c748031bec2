"""Personal access tokens for the API: shown once, stored as SHA-256, scoped, expiring, revocable."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask_babel import gettext as _

from app.audit.services import record
from app.auth.models import ApiToken, TokenScope, User, UserStatus
from app.db import utcnow
from app.extensions import db
from app.validation import ValidationError

TOKEN_PREFIX = "pax_"
MAX_DAYS = 365
#: last_used_at is written at most this often per token; each write is one ``api.token_use``
#: audit event (``app.api.auth``), so a token in constant use leaves one event per interval.
TOUCH_INTERVAL = timedelta(minutes=5)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(user: User, name: str, scope: str, days: int) -> tuple[ApiToken, str]:
    """Create a token; the returned secret is never stored and cannot be shown again."""
    errors: dict[str, str] = {}
    name = (name or "").strip()
    if not name or len(name) > 100:
        errors["name"] = _("Name the token (1 to 100 characters).")
    if scope not in TokenScope.values():
        errors["scope"] = _("Choose one of: %(choices)s.", choices=", ".join(TokenScope.values()))
    if not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        errors["days"] = _("Choose between 1 and %(max)d days.", max=MAX_DAYS)
    if errors:
        raise ValidationError(errors)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        name=name,
        token_hash=_hash(secret),
        prefix=secret[:12],
        scope=TokenScope(scope),
        expires_at=utcnow() + timedelta(days=days),
    )
    db.session.add(token)
    db.session.flush()
    record("token.create", actor=user, target=("token", token.id), scope=scope, days=days)
    return token, secret


def user_tokens(user: User) -> list[ApiToken]:
    return list(
        db.session.scalars(
            sa.select(ApiToken)
            .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
            .order_by(ApiToken.created_at.desc())
        )
    )


def revoke_token(user: User, token_id: int) -> bool:
    token = db.session.scalar(
        sa.select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    )
    if token is None:
        return False
    token.revoked_at = utcnow()
    record("token.revoke", actor=user, target=("token", token.id))
    return True


def resolve_token(secret: str) -> ApiToken | None:
    """The live token for ``secret`` whose owner is active, or None (expired, revoked, unknown)."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    token = db.session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == _hash(secret)))
    now = utcnow()
    if token is None or token.revoked_at is not None or token.expires_at <= now:
        return None
    if token.user.status is not UserStatus.ACTIVE:
        return None
    if token.last_used_at is None or now - token.last_used_at > TOUCH_INTERVAL:
        token.last_used_at = now
    return token


def scope_allows(token: ApiToken, needed: str) -> bool:
    return token.scope is TokenScope.WRITE or needed == TokenScope.READ.value
