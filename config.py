"""Every PAX setting, read from the environment when a config object is built.

Nothing here is read at import time: ``create_app`` instantiates one of these classes, so
tests and commands can set the environment first. A ``.env`` file beside this file is read
into the environment (without overriding what is already set) by ``load_dotenv_once``.
"""

from __future__ import annotations

import ipaddress
import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from dotenv import load_dotenv

ROOT = Path(__file__).resolve().parent

#: The development secret. A production configuration refuses to start with it.
INSECURE_DEFAULT_SECRET = "pax-local-development-secret-do-not-use-in-production"  # noqa: S105 (refused in production)


class ConfigError(RuntimeError):
    """A setting is missing or unsafe; the message is one line an operator can act on."""


def load_dotenv_once() -> None:
    load_dotenv(ROOT / ".env", override=False)


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return default if value is None or value == "" else value


def _env_bool(name: str, default: bool) -> bool:
    value = _env(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_int(name: str, default: int) -> int:
    value = _env(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, got {value!r}") from exc


def _contact_uri(value: str | None) -> str:
    """A security contact as a URI: a bare e-mail address becomes ``mailto:``."""
    value = (value or "").strip()
    return f"mailto:{value}" if "@" in value and ":" not in value else value


def _clamd_address_ok(address: str) -> bool:
    """An absolute unix socket path, or ``host:port`` (``app.files.scanning.parse_address``)."""
    if address.startswith("/"):
        return True
    host, _, port = address.rpartition(":")
    return bool(host) and port.isdigit() and 1 <= int(port) <= 65535


#: Retention settings and the largest value each accepts (100 years, or a year of warning).
RETENTION_LIMITS = {
    "RETENTION_INCIDENT_NOTE_MONTHS": 1200,
    "RETENTION_BEST_PRACTICE_MONTHS": 1200,
    "RETENTION_DELIVERABLE_MONTHS": 1200,
    "RETENTION_WARNING_DAYS": 366,
    "RETENTION_MAIL_DAYS": 36500,
    "RETENTION_NOTIFICATION_DAYS": 36500,
}


def session_cookie_name(secure: bool) -> str:
    """The session cookie's name: ``__Host-`` prefixed whenever it is Secure (``Config.SESSION_COOKIE_NAME``)."""
    return "__Host-pax_session" if secure else "pax_session"


class Config:
    """Settings shared by every environment; subclasses change only what differs."""

    ENV_NAME = "base"
    DEBUG = False
    TESTING = False
    #: Local runs allow plain-HTTP cookies and omit HSTS.
    LOCAL_RUN = False

    def __init__(self) -> None:
        load_dotenv_once()
        instance = Path(_env("PAX_INSTANCE_PATH", str(ROOT / "instance")))
        self.INSTANCE_PATH = str(instance)
        self.SECRET_KEY = _env("PAX_SECRET_KEY", INSECURE_DEFAULT_SECRET)
        self.DATABASE_URL = _env("PAX_DATABASE_URL", f"sqlite:///{instance / 'pax.sqlite3'}")
        self.KEYS_FILE = _env("PAX_KEYS_FILE", str(instance / "keys.json"))
        #: Local runs create the keyring on first start; production must be given one.
        self.KEYS_AUTOCREATE = _env_bool("PAX_KEYS_AUTOCREATE", self.LOCAL_RUN)
        #: Where keys live: ``file`` (the keyring above) or ``pkcs11`` (a token: README, Key custody).
        self.KEYS_BACKEND = (_env("PAX_KEYS_BACKEND", "file") or "file").strip().lower()
        self.PKCS11_MODULE = _env("PAX_PKCS11_MODULE", "/usr/lib/softhsm/libsofthsm2.so")
        self.PKCS11_TOKEN_LABEL = _env("PAX_PKCS11_TOKEN_LABEL", "pax")
        #: The token's user PIN: a file holding it (preferred), or the variable itself.
        self.PKCS11_PIN_FILE = _env("PAX_PKCS11_PIN_FILE")
        self.PKCS11_PIN = _env("PAX_PKCS11_PIN")
        #: Sessions to the token each worker process keeps open.
        self.PKCS11_POOL_SIZE = _env_int("PAX_PKCS11_POOL_SIZE", 4)
        self.STORAGE_URL = _env("PAX_STORAGE_URL", f"file://{instance / 'blobs'}")
        self.REDIS_URL = _env("PAX_REDIS_URL")
        self.SMTP_URL = _env("PAX_SMTP_URL")
        self.MAIL_FROM = _env("PAX_MAIL_FROM", "PAX <no-reply@pax.localhost>")
        self.BASE_URL = _env("PAX_BASE_URL", "http://127.0.0.1:5000")
        self.LOG_LEVEL = _env("PAX_LOG_LEVEL", "INFO")
        #: Largest request body other than a file upload (forms, JSON).
        self.MAX_CONTENT_LENGTH = _env_int("PAX_MAX_REQUEST_BYTES", 16 * 1024 * 1024)
        #: Largest attachment or meeting document; uploads stream, so this costs disk, not memory.
        self.MAX_UPLOAD_BYTES = _env_int("PAX_MAX_UPLOAD_BYTES", 2 * 1024 * 1024 * 1024)
        self.S3_ENDPOINT_URL = _env("PAX_S3_ENDPOINT_URL")
        #: ClamAV's clamd, which scans every upload: a unix socket path (``/run/clamav/clamd.ctl``)
        #: or ``host:port``; unset, uploads are not scanned (``app.files.scanning``).
        self.CLAMD_ADDRESS = _env("PAX_CLAMD_ADDRESS")
        #: Seconds clamd may take to answer one step before the file is held pending instead.
        self.CLAMD_TIMEOUT_SECONDS = _env_int("PAX_CLAMD_TIMEOUT_SECONDS", 30)
        #: Largest file clamd is sent; keep it at or below clamd's ``StreamMaxLength`` (25 MiB by
        #: default). A larger upload is refused while scanning is on.
        self.CLAMD_MAX_BYTES = _env_int("PAX_CLAMD_MAX_BYTES", 25 * 1024 * 1024)
        #: Where PDFs are stamped for their reader (``app.files.watermark``), sealed under a key made
        #: for each download, in a private directory deleted after it; empty: the system temporary directory.
        self.STAMP_TEMP_DIR = _env("PAX_STAMP_TEMP_DIR", "") or None
        #: The TrueType font stamps are written in (Debian's fonts-dejavu-core: every EU script).
        self.STAMP_FONT = _env("PAX_STAMP_FONT", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
        self.SESSION_IDLE_MINUTES = _env_int("PAX_SESSION_IDLE_MINUTES", 30)
        self.SESSION_ABSOLUTE_HOURS = _env_int("PAX_SESSION_ABSOLUTE_HOURS", 12)
        #: Live sessions one account may have; a sign-in beyond it ends the least recently used
        #: (``app.auth.sessions``). 0: no limit.
        self.MAX_SESSIONS_PER_ACCOUNT = _env_int("PAX_MAX_SESSIONS_PER_ACCOUNT", 5)
        #: Security alerts (``app.audit.alerts``): one account refused this many times (403/404 of
        #: the access policy) within the window, or downloading this many files within the window,
        #: raises one ``security.alert`` per window. 0 turns an alert off.
        self.ALERT_REFUSALS = _env_int("PAX_ALERT_REFUSALS", 20)
        self.ALERT_REFUSALS_WINDOW_MINUTES = _env_int("PAX_ALERT_REFUSALS_WINDOW_MINUTES", 10)
        self.ALERT_DOWNLOADS = _env_int("PAX_ALERT_DOWNLOADS", 100)
        self.ALERT_DOWNLOADS_WINDOW_MINUTES = _env_int("PAX_ALERT_DOWNLOADS_WINDOW_MINUTES", 10)
        #: TAXII pulls per token (``app.taxii``), as Flask-Limiter words it; a page is one pull.
        self.TAXII_RATE_LIMIT = _env("PAX_TAXII_RATE_LIMIT", "120 per minute")
        self.LOGIN_MAX_FAILURES = _env_int("PAX_LOGIN_MAX_FAILURES", 5)
        self.LOGIN_LOCKOUT_MINUTES = _env_int("PAX_LOGIN_LOCKOUT_MINUTES", 15)
        #: Sign-in attempts: strictly per account (keyed on the typed e-mail address, failed attempts
        #: only) and generously per client address, so a port office behind one NAT address signs in
        #: at shift start. Flask-Limiter strings ("5 per minute", "100/minute").
        self.LOGIN_LIMIT_PER_ACCOUNT = _env("PAX_LOGIN_LIMIT_PER_ACCOUNT", "5 per minute")
        self.LOGIN_LIMIT_PER_ADDRESS = _env("PAX_LOGIN_LIMIT_PER_ADDRESS", "100 per minute")
        #: A mailed password reset link works once, for this many minutes.
        self.PASSWORD_RESET_MINUTES = _env_int("PAX_PASSWORD_RESET_MINUTES", 30)
        #: An invitation's set-password link works once, for this many days.
        self.INVITATION_DAYS = _env_int("PAX_INVITATION_DAYS", 7)
        #: Days before a meeting that ``notifications reminders`` reminds its participants (comma-separated).
        self.MEETING_REMINDER_DAYS = _env("PAX_MEETING_REMINDER_DAYS", "7,1")
        #: The largest delegation an organisation invited to a meeting may name.
        self.MEETING_MAX_DELEGATION = _env_int("PAX_MEETING_MAX_DELEGATION", 20)
        #: Reads of one calendar subscription address (Flask-Limiter string, per address).
        self.CALENDAR_FEED_LIMIT = _env("PAX_CALENDAR_FEED_LIMIT", "60 per hour")
        #: Minutes a re-entered password or second factor covers further sensitive account actions.
        self.STEPUP_MINUTES = _env_int("PAX_STEPUP_MINUTES", 5)
        #: Clock difference tolerated between PAX and an identity provider when checking the
        #: ``iat``/``exp`` of ID tokens and back-channel logout tokens.
        self.OIDC_CLOCK_SKEW_SECONDS = _env_int("PAX_OIDC_CLOCK_SKEW_SECONDS", 60)
        #: A back-channel logout token older than this (by its ``iat``) is refused.
        self.OIDC_LOGOUT_TOKEN_MAX_AGE_SECONDS = _env_int("PAX_OIDC_LOGOUT_TOKEN_MAX_AGE_SECONDS", 300)
        #: Outbound requests to addresses administrators enter (identity providers; ``app.outbound``):
        #: plain http only when this is on (never in production)...
        self.OUTBOUND_ALLOW_HTTP = _env_bool("PAX_OUTBOUND_ALLOW_HTTP", self.LOCAL_RUN)
        #: ...and these networks (comma-separated, e.g. "10.20.0.0/16") are reached although they
        #: are loopback, private, link-local or reserved; local runs allow loopback.
        self.OUTBOUND_ALLOW_NETWORKS = _env(
            "PAX_OUTBOUND_ALLOW_NETWORKS", "127.0.0.0/8,::1/128" if self.LOCAL_RUN else ""
        )
        self.OUTBOUND_TIMEOUT_SECONDS = _env_int("PAX_OUTBOUND_TIMEOUT_SECONDS", 10)
        self.OUTBOUND_MAX_BYTES = _env_int("PAX_OUTBOUND_MAX_BYTES", 1024 * 1024)
        self.OUTBOUND_MAX_REDIRECTS = _env_int("PAX_OUTBOUND_MAX_REDIRECTS", 3)
        #: The ``Contact`` of ``/.well-known/security.txt`` (RFC 9116): a mailto: or https: URI, or an
        #: e-mail address; default security@ the portal's host.
        self.SECURITY_CONTACT = _contact_uri(
            _env("PAX_SECURITY_CONTACT", "security@" + (urlsplit(self.BASE_URL or "").hostname or "localhost"))
        )
        #: Whom members ask for help (access, a problem with the portal), shown on the help pages and
        #: in every page's footer: an e-mail address; default support@ the portal's host.
        self.SUPPORT_CONTACT = _env(
            "PAX_SUPPORT_CONTACT", "support@" + (urlsplit(self.BASE_URL or "").hostname or "localhost")
        ).removeprefix("mailto:")
        #: The ``Policy`` of security.txt: the address of the vulnerability disclosure policy (optional).
        self.SECURITY_POLICY_URL = _env("PAX_SECURITY_POLICY_URL")
        #: Reverse proxies in front of the portal whose X-Forwarded-For/-Proto are believed (0: none).
        self.PROXY_HOPS = _env_int("PAX_PROXY_HOPS", 0)
        self.DEBUG = _env_bool("PAX_DEBUG", self.DEBUG)
        self.ARGON2_PROFILE = _env("PAX_ARGON2_PROFILE", "RFC_9106_LOW_MEMORY")
        #: New passwords are checked against Have I Been Pwned's breached passwords
        #: (``app.auth.breached``; only 5 hex digits of the password's SHA-1 leave PAX)...
        self.BREACHED_PASSWORD_CHECK = _env_bool("PAX_BREACHED_PASSWORD_CHECK", False)
        #: Every account needs a second factor, not only the roles DESIGN.md names (ASVS L2 6.3.3).
        self.MFA_FOR_EVERYONE = _env_bool("PAX_MFA_FOR_EVERYONE", False)
        #: ...at this range API (or an internal mirror of it; list a private one in
        #: PAX_OUTBOUND_ALLOW_NETWORKS), waiting at most this long before judging without it.
        self.BREACHED_PASSWORD_URL = _env("PAX_BREACHED_PASSWORD_URL", "https://api.pwnedpasswords.com/range")
        self.BREACHED_PASSWORD_TIMEOUT_SECONDS = _env_int("PAX_BREACHED_PASSWORD_TIMEOUT_SECONDS", 3)
        #: Seizure statistics withhold a group reported by fewer organisations than this...
        self.STATS_MIN_ORGANISATIONS = _env_int("PAX_STATS_MIN_ORGANISATIONS", 3)
        #: ...from everyone outside law enforcement, and from law enforcement too when this is on.
        self.STATS_SUPPRESS_FOR_LAW_ENFORCEMENT = _env_bool("PAX_STATS_SUPPRESS_FOR_LAW_ENFORCEMENT", False)
        #: Distinct statistics filter combinations one account may ask for per day (UTC).
        self.STATS_DAILY_COMBINATIONS = _env_int("PAX_STATS_DAILY_COMBINATIONS", 50)
        #: Retention, counted from a post's creation (``flask retention purge``); 0 keeps it until deleted.
        self.RETENTION_INCIDENT_NOTE_MONTHS = _env_int("PAX_RETENTION_INCIDENT_NOTE_MONTHS", 24)
        self.RETENTION_BEST_PRACTICE_MONTHS = _env_int("PAX_RETENTION_BEST_PRACTICE_MONTHS", 0)
        self.RETENTION_DELIVERABLE_MONTHS = _env_int("PAX_RETENTION_DELIVERABLE_MONTHS", 0)
        #: Authors are told this many days before their post is deleted.
        self.RETENTION_WARNING_DAYS = _env_int("PAX_RETENTION_WARNING_DAYS", 30)
        #: Days sent outbox mail and read notifications are kept; 0 keeps them.
        self.RETENTION_MAIL_DAYS = _env_int("PAX_RETENTION_MAIL_DAYS", 30)
        self.RETENTION_NOTIFICATION_DAYS = _env_int("PAX_RETENTION_NOTIFICATION_DAYS", 90)
        #: Days a draft (or a form kept after a session ended) is kept since it was last saved.
        self.DRAFT_RETENTION_DAYS = _env_int("PAX_DRAFT_RETENTION_DAYS", 30)

        self.SESSION_COOKIE_HTTPONLY = True
        #: Host-only (no Domain) on every path, as the ``__Host-`` prefix requires.
        self.SESSION_COOKIE_PATH = "/"
        self.SESSION_COOKIE_DOMAIN = None
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.SESSION_COOKIE_SECURE = not self.LOCAL_RUN
        #: flask-login's "remember me" cookie is never set (sessions are server-side rows); should
        #: one ever be, it follows the session cookie's rules (``REMEMBER_COOKIE_NAME``).
        self.REMEMBER_COOKIE_DURATION = timedelta(0)
        self.REMEMBER_COOKIE_HTTPONLY = True
        self.REMEMBER_COOKIE_SAMESITE = "Lax"
        self.REMEMBER_COOKIE_PATH = "/"
        self.PERMANENT_SESSION_LIFETIME = timedelta(hours=self.SESSION_ABSOLUTE_HOURS)
        self.WTF_CSRF_TIME_LIMIT = None  # the CSRF token lives as long as the session
        self.SQLALCHEMY_ECHO = _env_bool("PAX_SQL_ECHO", False)

    @property
    def SESSION_COOKIE_NAME(self) -> str:
        """``__Host-pax_session`` whenever the cookie is Secure (production, any non-local run): the
        prefix makes browsers insist on Secure, ``Path=/`` and no ``Domain``, so no sibling host can
        set or shadow it. Local runs over plain http keep ``pax_session`` (browsers refuse a
        ``__Host-`` cookie without Secure). Derived, so a profile that turns Secure on renames it too."""
        return session_cookie_name(bool(self.SESSION_COOKIE_SECURE))

    @property
    def REMEMBER_COOKIE_NAME(self) -> str:
        return "__Host-pax_remember" if self.SESSION_COOKIE_SECURE else "pax_remember"

    @property
    def REMEMBER_COOKIE_SECURE(self) -> bool:
        return bool(self.SESSION_COOKIE_SECURE)

    def check(self) -> None:
        """Refuse unsafe or unusable settings; called by ``create_app`` before anything starts."""
        storage = urlsplit(self.STORAGE_URL or "")
        if storage.scheme not in ("file", "s3") or (storage.scheme == "s3" and not storage.netloc):
            raise ConfigError("PAX_STORAGE_URL must be file:///path or s3://bucket/prefix")
        if self.KEYS_BACKEND not in ("file", "pkcs11"):
            raise ConfigError("PAX_KEYS_BACKEND must be file or pkcs11")
        if self.KEYS_BACKEND == "pkcs11":
            if self.PKCS11_PIN_FILE:
                try:
                    self.PKCS11_PIN = Path(self.PKCS11_PIN_FILE).read_text(encoding="utf-8").strip()
                except OSError:
                    raise ConfigError(f"PAX_PKCS11_PIN_FILE {self.PKCS11_PIN_FILE} cannot be read") from None
            if not self.PKCS11_PIN:
                raise ConfigError("PAX_KEYS_BACKEND=pkcs11 needs the token's user PIN: set PAX_PKCS11_PIN_FILE")
            if not 1 <= self.PKCS11_POOL_SIZE <= 64:
                raise ConfigError("PAX_PKCS11_POOL_SIZE must be from 1 to 64 sessions")
        if not 0 <= self.PROXY_HOPS <= 5:
            raise ConfigError("PAX_PROXY_HOPS must be the number of reverse proxies in front of the portal, 0 to 5")
        if self.MAX_UPLOAD_BYTES < 1:
            raise ConfigError("PAX_MAX_UPLOAD_BYTES must be a positive number of bytes")
        if self.CLAMD_ADDRESS and not _clamd_address_ok(self.CLAMD_ADDRESS):
            raise ConfigError("PAX_CLAMD_ADDRESS must be clamd's socket path (/run/clamav/clamd.ctl) or host:port")
        if not 1 <= self.CLAMD_TIMEOUT_SECONDS <= 600:
            raise ConfigError("PAX_CLAMD_TIMEOUT_SECONDS must be from 1 to 600 seconds")
        if self.CLAMD_MAX_BYTES < 1:
            raise ConfigError("PAX_CLAMD_MAX_BYTES must be a positive number of bytes")
        if not 0 <= self.OIDC_CLOCK_SKEW_SECONDS <= 600:
            raise ConfigError("PAX_OIDC_CLOCK_SKEW_SECONDS must be from 0 to 600 seconds")
        if not 5 <= self.PASSWORD_RESET_MINUTES <= 24 * 60:
            raise ConfigError("PAX_PASSWORD_RESET_MINUTES must be between 5 and 1440 minutes")
        if not 1 <= self.INVITATION_DAYS <= 60:
            raise ConfigError("PAX_INVITATION_DAYS must be between 1 and 60 days")
        if not 0 <= self.STEPUP_MINUTES <= 60:
            raise ConfigError("PAX_STEPUP_MINUTES must be between 0 and 60 minutes")
        days = [d.strip() for d in (self.MEETING_REMINDER_DAYS or "").split(",") if d.strip()]
        if not all(d.isdigit() and 1 <= int(d) <= 60 for d in days):
            raise ConfigError("PAX_MEETING_REMINDER_DAYS must be whole numbers of days from 1 to 60, e.g. '7,1'")
        if not 1 <= self.MEETING_MAX_DELEGATION <= 200:
            raise ConfigError("PAX_MEETING_MAX_DELEGATION must be a whole number from 1 to 200")
        for name in ("LOGIN_LIMIT_PER_ACCOUNT", "LOGIN_LIMIT_PER_ADDRESS", "CALENDAR_FEED_LIMIT"):
            try:
                from limits import parse_many

                parse_many(getattr(self, name) or "")
            except ValueError:
                raise ConfigError(f"PAX_{name} must be a rate such as '5 per minute'") from None
        if not 0 <= self.MAX_SESSIONS_PER_ACCOUNT <= 100:
            raise ConfigError("PAX_MAX_SESSIONS_PER_ACCOUNT must be a whole number from 0 (no limit) to 100")
        for name in ("ALERT_REFUSALS", "ALERT_DOWNLOADS"):
            if not 0 <= getattr(self, name) <= 100000:
                raise ConfigError(f"PAX_{name} must be a whole number from 0 (no alert) to 100000")
        for name in ("ALERT_REFUSALS_WINDOW_MINUTES", "ALERT_DOWNLOADS_WINDOW_MINUTES"):
            if not 1 <= getattr(self, name) <= 24 * 60:
                raise ConfigError(f"PAX_{name} must be between 1 and 1440 minutes")
        if not 1 <= self.STATS_MIN_ORGANISATIONS <= 1000:
            raise ConfigError("PAX_STATS_MIN_ORGANISATIONS must be a whole number from 1 to 1000")
        if not 1 <= self.STATS_DAILY_COMBINATIONS <= 10000:
            raise ConfigError("PAX_STATS_DAILY_COMBINATIONS must be a whole number from 1 to 10000")
        for network in filter(None, (n.strip() for n in (self.OUTBOUND_ALLOW_NETWORKS or "").split(","))):
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError:
                raise ConfigError(
                    f"PAX_OUTBOUND_ALLOW_NETWORKS must list networks such as 10.20.0.0/16, got {network!r}"
                ) from None
        breached = urlsplit(self.BREACHED_PASSWORD_URL or "")
        if breached.scheme not in ("https", "http") or not breached.hostname or breached.query:
            raise ConfigError(
                "PAX_BREACHED_PASSWORD_URL must be an https:// address such as https://api.pwnedpasswords.com/range"
            )
        if not 1 <= self.BREACHED_PASSWORD_TIMEOUT_SECONDS <= 30:
            raise ConfigError("PAX_BREACHED_PASSWORD_TIMEOUT_SECONDS must be from 1 to 30 seconds")
        if not 1 <= self.OUTBOUND_TIMEOUT_SECONDS <= 60:
            raise ConfigError("PAX_OUTBOUND_TIMEOUT_SECONDS must be from 1 to 60 seconds")
        if not 1024 <= self.OUTBOUND_MAX_BYTES <= 16 * 1024 * 1024:
            raise ConfigError("PAX_OUTBOUND_MAX_BYTES must be from 1024 to 16777216 bytes")
        if not 0 <= self.OUTBOUND_MAX_REDIRECTS <= 10:
            raise ConfigError("PAX_OUTBOUND_MAX_REDIRECTS must be from 0 to 10")
        contact = urlsplit(self.SECURITY_CONTACT)
        if (
            contact.scheme not in ("mailto", "https", "tel")
            or not (contact.path or contact.netloc)
            or any(c.isspace() for c in self.SECURITY_CONTACT)
        ):
            raise ConfigError("PAX_SECURITY_CONTACT must be an e-mail address or a mailto:, https: or tel: URI")
        local, _, domain = self.SUPPORT_CONTACT.partition("@")
        if not local or not domain or any(c.isspace() or c in "<>\"'@" for c in local + domain):
            raise ConfigError("PAX_SUPPORT_CONTACT must be an e-mail address")
        policy = self.SECURITY_POLICY_URL
        if policy and (urlsplit(policy).scheme != "https" or any(c.isspace() for c in policy)):
            raise ConfigError("PAX_SECURITY_POLICY_URL must be an https:// address")
        for name, limit in RETENTION_LIMITS.items():
            value = getattr(self, name)
            if not 0 <= value <= limit:
                raise ConfigError(f"PAX_{name} must be between 0 and {limit}, got {value}")
        if not 1 <= self.DRAFT_RETENTION_DAYS <= 3660:
            raise ConfigError(f"PAX_DRAFT_RETENTION_DAYS must be between 1 and 3660, got {self.DRAFT_RETENTION_DAYS}")


class DevelopmentConfig(Config):
    """``make run``: SQLite, local blob directory, generated keyring, demo data."""

    ENV_NAME = "development"
    LOCAL_RUN = True


class TestingConfig(Config):
    ENV_NAME = "testing"
    TESTING = True
    LOCAL_RUN = True

    def __init__(self) -> None:
        super().__init__()
        self.RATELIMIT_ENABLED = _env_bool("PAX_RATELIMIT_ENABLED", False)
        self.ARGON2_PROFILE = _env("PAX_ARGON2_PROFILE", "CHEAPEST")


class ProductionConfig(Config):
    ENV_NAME = "production"

    def check(self) -> None:
        super().check()
        if self.SECRET_KEY == INSECURE_DEFAULT_SECRET or len(self.SECRET_KEY or "") < 32:
            raise ConfigError("PAX_SECRET_KEY must be set to a random value of at least 32 characters in production")
        if self.DEBUG:
            raise ConfigError("PAX_DEBUG must be off in production")
        if self.OUTBOUND_ALLOW_HTTP:
            raise ConfigError(
                "PAX_OUTBOUND_ALLOW_HTTP must be off in production: identity providers are reached over https"
            )
        if self.ARGON2_PROFILE != "RFC_9106_LOW_MEMORY":
            raise ConfigError("PAX_ARGON2_PROFILE must be RFC_9106_LOW_MEMORY in production")
        if self.KEYS_BACKEND == "file" and not Path(self.KEYS_FILE).is_file():
            raise ConfigError(f"no KEK keyring at {self.KEYS_FILE}: set PAX_KEYS_FILE to the operator's keyring file")


CONFIGS: dict[str, type[Config]] = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def config_from_env() -> Config:
    """The configuration named by ``PAX_ENV`` (default: development)."""
    load_dotenv_once()
    name = (_env("PAX_ENV", "development") or "development").lower()
    if name not in CONFIGS:
        raise ConfigError(f"PAX_ENV must be one of {', '.join(sorted(CONFIGS))}, got {name!r}")
    return CONFIGS[name]()
