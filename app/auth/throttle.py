"""Sign-in throttling that fits port offices: strict per account, generous per client address.

Many colleagues sign in from behind one NAT address at shift start, so the per-address limit
(``PAX_LOGIN_LIMIT_PER_ADDRESS``) is generous; guessing one account's password is stopped by the
per-account limit (``PAX_LOGIN_LIMIT_PER_ACCOUNT``), keyed on the normalised e-mail address typed,
which exists for any address, known or not, so its answer never tells which accounts exist.

The lockout after repeated failures is kept on the account row for known accounts
(``app.auth.services.record_failure``); for an address that names no account the same count and
lockout are kept here, in the rate-limit storage (Redis when configured), so both get the same
answer after the same number of failures.
"""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime, timedelta

from flask import current_app, request
from flask_babel import gettext as _

from app.extensions import limiter
from app.ratelimits import ResilientStorage, local_time, resilient_storage

#: How long the failure count of an unknown address is kept (a known account's never expires).
UNKNOWN_FAILURES_KEPT = timedelta(days=1)


def email_key(email: str | None) -> str:
    """The throttling key of a typed address: never the address itself (Redis holds no e-mails)."""
    normalised = (email or "").strip().lower()
    return "acct:" + hashlib.sha256(normalised.encode()).hexdigest()[:32]


def submitted_account() -> str:
    """Flask-Limiter key of the per-account limit: the e-mail address sent with the form."""
    return email_key(request.form.get("email"))


def address_limit() -> str:
    return current_app.config["LOGIN_LIMIT_PER_ADDRESS"]


def account_limit() -> str:
    return current_app.config["LOGIN_LIMIT_PER_ACCOUNT"]


def _retry_at() -> float:
    current = limiter.current_limit
    return float(current.reset_at) if current is not None else time.time() + 60


def account_message() -> str:
    return _("Too many attempts for this account; try again at %(time)s (Brussels time).", time=local_time(_retry_at()))


def address_message() -> str:
    return _(
        "Too many attempts from your network; try again at %(time)s (Brussels time).", time=local_time(_retry_at())
    )


def failed_attempt(response) -> bool:  # type: ignore[no-untyped-def]
    """Only refused sign-ins count towards the per-account limit (a success redirects)."""
    return bool(response.status_code >= 400)


# --- lockout of addresses that name no account ------------------------------------------------------


def _storage() -> ResilientStorage:
    """The rate-limit storage (``RATELIMIT_STORAGE_URI``: Redis or memory), made once per app;
    used even when rate limiting itself is off, since the lockout does not depend on it."""
    store = current_app.extensions.get("pax_login_failures")
    if store is None:
        store = resilient_storage(current_app)  # process memory while Redis is down
        current_app.extensions["pax_login_failures"] = store
    return store


def _prefix() -> str:
    return (current_app.config.get("RATELIMIT_KEY_PREFIX") or "") + "pax-lockout:"


def unknown_locked_until(email: str) -> datetime | None:
    """When the lockout of an address that names no account ends, or None."""
    store = _storage()
    key = _prefix() + "lock:" + email_key(email)
    if not store.get(key):
        return None
    return datetime.fromtimestamp(store.get_expiry(key), UTC)


def unknown_failure(email: str) -> None:
    """Count a failed sign-in for an address that names no account; the limit locks it for the
    same time and with the same answer as a real account."""
    store = _storage()
    count_key = _prefix() + "count:" + email_key(email)
    failures = store.incr(count_key, int(UNKNOWN_FAILURES_KEPT.total_seconds()))
    if failures >= current_app.config["LOGIN_MAX_FAILURES"]:
        store.clear(count_key)
        store.incr(_prefix() + "lock:" + email_key(email), current_app.config["LOGIN_LOCKOUT_MINUTES"] * 60)


def lockout_message(until: datetime | None) -> str:
    """The one lockout answer, for known and unknown addresses alike."""
    if until:
        return _(
            "Too many failed sign-in attempts. For your security this account is locked; try again after "
            "%(time)s (Brussels time).",
            time=local_time(until),
        )
    return _(
        "Too many failed sign-in attempts. For your security this account is locked; try again after a few minutes."
    )
