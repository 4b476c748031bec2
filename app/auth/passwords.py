"""argon2id password hashing (argon2-cffi's defaults follow RFC 9106's recommendations) and the
policy every new password meets, wherever it is set (README "Passwords"):

- 12 to 1024 characters, any characters, no composition rules (ASVS 5.0 v5.0.0-6.2.1, 6.2.5, 6.2.9);
- not one of the common passwords in ``data/common-passwords.txt`` (v5.0.0-6.2.4);
- no context word: PAX's own names, and the account's e-mail, name and organisation words of
  4 letters or more (v5.0.0-6.1.2, 6.2.11); "pax", being short, only where it makes up so much
  of the password that fewer than 12 other characters are left;
- with ``BREACHED_PASSWORD_CHECK`` on, not known from data breaches (``app.auth.breached``,
  v5.0.0-6.2.12).

The lists are compared with Unicode NFKC normalisation and case folding (``comparable``), the
context words also with spaces and punctuation left out; the password itself is hashed and
verified exactly as typed.
"""

from __future__ import annotations

import functools
import re
import secrets
import unicodedata
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from app.auth.breached import breach_count

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


def generate_password(email: str | None = None, name: str | None = None, organisation: str | None = None) -> str:
    """A random password for accounts created without one (printed once by the CLI); drawn again
    in the rare case it happens to contain one of the account's context words."""
    words = context_words(email, name, organisation)
    while True:
        password = secrets.token_urlsafe(18)
        if context_word_in(password, words) is None:
            return password


#: Openwall's list of common passwords, cleaned (``tools/common_passwords.py``).
COMMON_PASSWORDS_FILE = Path(__file__).with_name("data") / "common-passwords.txt"
#: Names of the portal and the Alliance that no password may contain (see also ``context_words``).
PAX_WORDS = ("pax", "european ports alliance", "portal")
#: Context words shorter than this are refused only where they make up most of the password.
MIN_CONTEXT_WORD_LETTERS = 4

COMMON_PASSWORD_MESSAGE = _l("This password is one of the most common passwords; choose another.")


def comparable(text: str) -> str:
    """``text`` as the lists are compared: Unicode NFKC normalised and case-folded."""
    return unicodedata.normalize("NFKC", text).casefold()


def _compact(text: str) -> str:
    """Letters and digits only: "European-Ports Alliance" and "europeanportsalliance" match."""
    return "".join(c for c in text if c.isalnum())


@functools.cache
def common_passwords() -> frozenset[str]:
    """The common passwords, in ``comparable`` form (read once per process)."""
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line for line in lines if line and not line.startswith("#"))


def context_words(email: str | None = None, name: str | None = None, organisation: str | None = None) -> list[str]:
    """The words a password of this account may not contain: ``PAX_WORDS``, and the words of
    ``MIN_CONTEXT_WORD_LETTERS`` letters or more in the e-mail's local part (and the local part
    itself), the person's name and the organisation's name."""
    words = list(PAX_WORDS)
    local = (email or "").rpartition("@")[0] or (email or "")
    for source in (local, name, organisation):
        for word in re.findall(r"[^\W\d_]+", comparable(source or "")):
            if len(word) >= MIN_CONTEXT_WORD_LETTERS and word not in words:
                words.append(word)
    whole = _compact(comparable(local))
    if len(whole) >= MIN_CONTEXT_WORD_LETTERS and whole not in words:
        words.append(whole)
    return words


def account_context(user: Any) -> dict[str, str | None]:
    """``password_problem``'s context for an existing account."""
    organisation = getattr(user, "organisation", None)
    return {"email": user.email, "name": user.name, "organisation": organisation.name if organisation else None}


def context_word_in(password: str, words: list[str]) -> str | None:
    """The first of ``words`` that ``password`` contains, or None. A word shorter than
    ``MIN_CONTEXT_WORD_LETTERS`` ("pax") counts only when the password without it is shorter
    than ``MIN_PASSWORD_LENGTH``: "pax" plus twelve other characters is as strong as those."""
    typed = comparable(password)
    compact = _compact(typed)
    for word in words:
        key = _compact(word)
        if not key or key not in compact:
            continue
        if len(key) >= MIN_CONTEXT_WORD_LETTERS or len(typed.replace(word, "")) < MIN_PASSWORD_LENGTH:
            return word
    return None


def password_problem(
    password: str, *, email: str | None = None, name: str | None = None, organisation: str | None = None
) -> str | None:
    """Why a new password is not acceptable, or None. ``email``, ``name`` and ``organisation``
    are the account's (``account_context``), for the context words."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return ngettext("Use at least %(num)d character.", "Use at least %(num)d characters.", MIN_PASSWORD_LENGTH)
    if len(password) > 1024:
        return ngettext("Use at most %(num)d character.", "Use at most %(num)d characters.", 1024)
    if comparable(password) in common_passwords():
        return str(COMMON_PASSWORD_MESSAGE)
    if word := context_word_in(password, context_words(email, name, organisation)):
        return _(
            'This password contains "%(word)s", which is easy to guess for a PAX account; choose another.', word=word
        )
    if breach_count(password):
        return _("This password appears in published data breaches, so attackers try it; choose another.")
    return None
