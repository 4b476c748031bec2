"""argon2id password hashing (argon2-cffi's defaults follow RFC 9106's recommendations)."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

#: Named argon2id parameter sets; tests use CHEAPEST so thousands of accounts stay fast.
PROFILES = {"RFC_9106_LOW_MEMORY": profiles.RFC_9106_LOW_MEMORY, "CHEAPEST": profiles.CHEAPEST}

_hasher = PasswordHasher.from_parameters(profiles.RFC_9106_LOW_MEMORY)
#: Verified against when the e-mail is unknown, so a wrong e-mail costs the same time as a wrong
#: password. Made on first use: hashing at start-up would cost every worker the 64 MiB argon2
#: needs, even one that never checks a password (API and file traffic).
_dummy_hash: str | None = None


def configure(profile: str) -> None:
    """Select the argon2id parameters (``PAX_ARGON2_PROFILE``); existing hashes keep verifying."""
    global _hasher, _dummy_hash
    if profile not in PROFILES:
        raise ValueError(f"unknown argon2 profile {profile!r}; choose one of {', '.join(PROFILES)}")
    _hasher = PasswordHasher.from_parameters(PROFILES[profile])
    _dummy_hash = None


def _dummy() -> str:
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = _hasher.hash(secrets.token_urlsafe(16))
    return _dummy_hash


MIN_PASSWORD_LENGTH = 12


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; always spends one argon2 verification."""
    try:
        return _hasher.verify(password_hash or _dummy(), password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def generate_password() -> str:
    """A random password for accounts created without one (printed once by the CLI)."""
    return secrets.token_urlsafe(18)


def password_problem(password: str) -> str | None:
    """Why a new password is not acceptable, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Use at least {MIN_PASSWORD_LENGTH} characters."
    if len(password) > 1024:
        return "Use at most 1024 characters."
    return None
