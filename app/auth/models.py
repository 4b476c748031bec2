from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.concurrency import versioned
from app.db import Base, utcnow
from app.enums import StrEnum, enum_column_type

if TYPE_CHECKING:
    from app.clusters.models import ClusterMembership
    from app.directory.models import Organisation


class UserStatus(StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    SUSPENDED = "suspended"


class GlobalRole(StrEnum):
    MEMBER = "member"
    CURATOR = "curator"
    ADMIN = "admin"
    AUDITOR = "auditor"


class User(UserMixin, Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Stored lower-cased, so the unique constraint is case-insensitive on every backend.
    email: Mapped[str] = mapped_column(sa.String(320), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    status: Mapped[UserStatus] = mapped_column(enum_column_type(UserStatus, "user_status"), default=UserStatus.PENDING)
    role: Mapped[GlobalRole] = mapped_column(enum_column_type(GlobalRole, "global_role"), default=GlobalRole.MEMBER)
    #: The organisation's focal point approves its pending users and may edit its posts.
    is_focal_point: Mapped[bool] = mapped_column(default=False)
    #: argon2id hash; NULL for accounts that only sign in through their organisation's SSO.
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    #: The password was generated and shown to an operator (``users create``): after signing in with
    #: it the account may do nothing but choose its own (``app.auth.first_password``). Setting a
    #: password, by change or reset, clears it.
    password_must_change: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column()
    #: TOTP seed sealed under the keyring (see app.keys.sealed); NULL until MFA is enrolled.
    totp_secret_sealed: Mapped[str | None] = mapped_column(sa.String(255))
    #: The last TOTP time step accepted: a code is accepted once only (RFC 6238 section 5.2).
    totp_last_step: Mapped[int | None] = mapped_column(sa.BigInteger)
    mfa_enrolled_at: Mapped[datetime | None] = mapped_column()
    #: Consecutive failed sign-in attempts since the last success; reaching the limit locks the account.
    failed_logins: Mapped[int] = mapped_column(default=0, server_default=sa.text("0"))
    locked_until: Mapped[datetime | None] = mapped_column()
    #: "Mark all read": posts written before this count as read (NULL: those older than the
    #: dashboard's window, ``app.clusters.unread.NEW_WINDOW``).
    read_all_before: Mapped[datetime | None] = mapped_column()
    #: The member directory shows name, organisation, role and clusters to active members; the
    #: work e-mail and phone only when the person chooses to show them.
    work_phone: Mapped[str | None] = mapped_column(sa.String(40))
    directory_shows_email: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    directory_shows_phone: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    #: When an administrator erased this departed user's personal data; the row stays so the
    #: audit log's actor ids and the organisation's posts keep pointing somewhere.
    erased_at: Mapped[datetime | None] = mapped_column()
    #: The IANA zone (``Europe/Lisbon``) pages, mail and packs write times in; NULL is Brussels.
    time_zone: Mapped[str | None] = mapped_column(sa.String(64))
    #: The official EU language (``app.i18n.LANGUAGES``) pages and mail are written in; NULL
    #: follows the browser on pages and writes mail in English.
    language: Mapped[str | None] = mapped_column(sa.String(5))

    organisation: Mapped[Organisation] = relationship(back_populates="users", lazy="joined")
    memberships: Mapped[list[ClusterMembership]] = relationship(
        back_populates="user", cascade="all, delete-orphan", foreign_keys="ClusterMembership.user_id"
    )

    @property
    def is_active(self) -> bool:  # flask-login: only active accounts hold a session
        return self.status is UserStatus.ACTIVE

    @property
    def is_law_enforcement(self) -> bool:
        return self.organisation.is_law_enforcement

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role.value} {self.status.value}>"


class UserSession(Base):
    """A signed-in browser session, revocable at once from the server side.

    The cookie holds a random secret; only its SHA-256 is stored, so a database reader cannot
    ride a session.
    """

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: The absolute end of the session, whatever the activity.
    expires_at: Mapped[datetime] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()
    #: "password" or "sso:<provider id>".
    auth_method: Mapped[str] = mapped_column(sa.String(40))
    #: A short summary of the browser's User-Agent ("Firefox on Windows", see
    #: ``app.auth.devices``); the full header is not kept.
    device: Mapped[str] = mapped_column(sa.String(60), default="")
    #: The client's network when the session started (IPv4 /24, IPv6 /48), not its full address:
    #: the "place" of the session list, since PAX has no location database.
    network: Mapped[str] = mapped_column(sa.String(50), default="")
    #: Why the portal (not the owner in this browser) ended the session, told to its owner at
    #: their next request: ``session_limit`` or ``signed_out_elsewhere``.
    ended_reason: Mapped[str | None] = mapped_column(sa.String(32))
    #: When the owner last proved it is them again inside this session (password and/or second
    #: factor, see app.auth.stepup); sensitive account actions need it to be recent.
    reauthenticated_at: Mapped[datetime | None] = mapped_column()
    #: For an SSO sign-in: the provider, the user's ``sub`` there and the provider's session id
    #: (``sid``), so that the provider's back-channel logout token finds the sessions to end.
    identity_provider_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("identity_providers.id", ondelete="SET NULL"), index=True
    )
    sso_subject: Mapped[str | None] = mapped_column(sa.String(255))
    sso_sid: Mapped[str | None] = mapped_column(sa.String(255))

    user: Mapped[User] = relationship()


class RecoveryCode(Base):
    """A single-use MFA recovery code, stored as a salted password hash."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: argon2id hash of the normalised code; 64 hex digits for a code from before (HMAC-SHA256).
    code_hash: Mapped[str] = mapped_column(sa.String(255))
    used_at: Mapped[datetime | None] = mapped_column()


class ProviderStatus(StrEnum):
    #: New or with changed connection settings: not offered at sign-in until a test sign-in passed.
    TESTING = "testing"
    ENABLED = "enabled"
    DISABLED = "disabled"


class IdentityProvider(Base):
    """An organisation's OpenID Connect provider; its users sign in through it once enabled."""

    __tablename__ = "identity_providers"
    __table_args__ = (sa.UniqueConstraint("organisation_id", "issuer"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    issuer: Mapped[str] = mapped_column(sa.String(500))
    #: Discovery document address when it is not ``<issuer>/.well-known/openid-configuration``.
    metadata_url: Mapped[str | None] = mapped_column(sa.String(500))
    client_id: Mapped[str] = mapped_column(sa.String(255))
    #: The client secret sealed under the keyring (app.keys.sealed), never stored in clear.
    client_secret_sealed: Mapped[str] = mapped_column(sa.Text)
    #: The claim carrying the user's e-mail address: ``email`` for most providers,
    #: ``preferred_username`` or ``upn`` for Entra ID and ADFS deployments that send no ``email``.
    email_claim: Mapped[str] = mapped_column(sa.String(40), default="email", server_default="email")
    #: An administrator asks that users need no PAX TOTP when this provider asserts multi-factor
    #: (amr/acr); it takes effect only once a focal point of the organisation confirmed it.
    mfa_exempt_when_asserted: Mapped[bool] = mapped_column(default=False)
    mfa_exempt_confirmed_at: Mapped[datetime | None] = mapped_column()
    mfa_exempt_confirmed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    status: Mapped[ProviderStatus] = mapped_column(
        enum_column_type(ProviderStatus, "provider_status"),
        default=ProviderStatus.TESTING,
        server_default=ProviderStatus.TESTING.value,
    )
    #: The last test sign-in that passed with the current connection settings (cleared when they change).
    last_test_ok_at: Mapped[datetime | None] = mapped_column()
    last_test_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    #: Compared and set by each change of settings, state or MFA confirmation (``app.concurrency``).
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    __mapper_args__ = versioned(version)

    organisation: Mapped[Organisation] = relationship(lazy="joined")
    last_test_by: Mapped[User | None] = relationship(foreign_keys=[last_test_by_id])
    mfa_exempt_confirmed_by: Mapped[User | None] = relationship(foreign_keys=[mfa_exempt_confirmed_by_id])

    @hybrid_property
    def enabled(self) -> bool:
        """Offered at sign-in: only an enabled provider signs anyone in."""
        return self.status is ProviderStatus.ENABLED

    @enabled.inplace.expression
    @classmethod
    def _enabled_expression(cls) -> sa.ColumnElement[bool]:
        return cls.status == ProviderStatus.ENABLED

    @property
    def mfa_exemption_effective(self) -> bool:
        """The provider's MFA assertion replaces PAX's second factor: requested and confirmed."""
        return self.mfa_exempt_when_asserted and self.mfa_exempt_confirmed_at is not None

    @property
    def discovery_url(self) -> str:
        return self.metadata_url or self.issuer.rstrip("/") + "/.well-known/openid-configuration"


class Identity(Base):
    """A user's account at an identity provider: unique by (provider, subject)."""

    __tablename__ = "identities"
    __table_args__ = (sa.UniqueConstraint("provider_id", "subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    provider_id: Mapped[int] = mapped_column(sa.ForeignKey("identity_providers.id", ondelete="CASCADE"), index=True)
    subject: Mapped[str] = mapped_column(sa.String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column()

    user: Mapped[User] = relationship()
    provider: Mapped[IdentityProvider] = relationship()


class LinkRequestStatus(StrEnum):
    PENDING = "pending"
    #: The account's owner proved control (password and second factor) and confirmed.
    CONFIRMED = "confirmed"
    #: The organisation's focal point approved.
    APPROVED = "approved"
    REJECTED = "rejected"


class IdentityLinkRequest(Base):
    """A provider identity asking to sign in to an existing account that has no link to it yet.

    It signs nobody in: the account's owner confirms it (with their password and second factor,
    through the secret link only the browser of the attempt was given), or the organisation's
    focal point approves it; then an ``Identity`` is created.
    """

    __tablename__ = "identity_link_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    provider_id: Mapped[int] = mapped_column(sa.ForeignKey("identity_providers.id", ondelete="CASCADE"), index=True)
    subject: Mapped[str] = mapped_column(sa.String(255))
    #: The address the provider claimed, as shown to the owner and the focal point.
    email: Mapped[str] = mapped_column(sa.String(320))
    #: SHA-256 of the secret in the owner's confirmation link.
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    status: Mapped[LinkRequestStatus] = mapped_column(
        enum_column_type(LinkRequestStatus, "link_request_status"), default=LinkRequestStatus.PENDING
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    decided_at: Mapped[datetime | None] = mapped_column()
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    provider: Mapped[IdentityProvider] = relationship()


class LogoutTokenUse(Base):
    """A back-channel logout token's ``jti`` seen from a provider: a replayed token is refused.

    Rows are kept until ``expires_at`` (the token's lifetime plus the clock-skew allowance), after
    which the token's ``iat`` is too old to be accepted anyway.
    """

    __tablename__ = "logout_token_uses"
    __table_args__ = (sa.UniqueConstraint("provider_id", "jti"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(sa.ForeignKey("identity_providers.id", ondelete="CASCADE"))
    jti: Mapped[str] = mapped_column(sa.String(255))
    expires_at: Mapped[datetime] = mapped_column(index=True)


class TokenScope(StrEnum):
    READ = "read"
    WRITE = "write"


class ApiToken(Base):
    """A personal access token for the API; the secret is shown once and stored as SHA-256."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    #: The first characters of the token, shown so a user can tell tokens apart.
    prefix: Mapped[str] = mapped_column(sa.String(16))
    scope: Mapped[TokenScope] = mapped_column(enum_column_type(TokenScope, "token_scope"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    last_used_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()

    user: Mapped[User] = relationship()
