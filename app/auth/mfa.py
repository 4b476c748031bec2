"""TOTP second factor (RFC 6238, pyotp) with single-use recovery codes.

A code is accepted once only: the time step of the last accepted code is stored and a code
for that step or an earlier one is refused, which pyotp's ``verify()`` alone does not do.
Recovery codes are random (80 bits), shown once, and stored as argon2id hashes with the password
hasher (``app.auth.passwords``), each with its own salt (ASVS 5.0 v5.0.0-6.5.2). Codes stored before
that as HMAC-SHA256 under a keyring key (64 hex digits) keep working until used or replaced.
"""

from __future__ import annotations

import base64
import hmac
import secrets
from datetime import datetime

import pyotp
import segno
import sqlalchemy as sa

from app.audit.services import record
from app.auth.models import RecoveryCode, User
from app.auth.passwords import hash_password, verify_password
from app.db import utcnow
from app.extensions import db
from app.keys.backend import FILE, backend
from app.keys.sealed import SealError, seal, unseal

ISSUER = "PAX European Ports Alliance"
RECOVERY_CODE_COUNT = 10
#: Codes from one step before or after now are accepted, for clock drift.
VALID_WINDOW = 1


def secret_context(user: User) -> str:
    """What a TOTP seed is sealed under (``app.keys.sealed``); rotation re-seals with it too."""
    return f"totp-secret:{user.id}"


def new_secret() -> str:
    return pyotp.random_base32()


def enrolment_secret(user: User, sealed: str | None) -> tuple[str, str]:
    """The secret being enrolled and its sealed form, kept in the session across page reloads.

    ``sealed`` is what the caller stored last time (or None); a value that does not open for
    this user starts a new secret.
    """
    context = f"totp-enrol:{user.id}"
    if sealed:
        try:
            return unseal(sealed, context).decode(), sealed
        except SealError:
            pass
    secret = new_secret()
    return secret, seal(secret.encode(), context)


def provisioning_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def qr_data_uri(uri: str) -> str:
    """An SVG QR code as a data: URI (the CSP allows data: images, not inline script)."""
    return segno.make(uri, error="m").svg_data_uri(scale=5, dark="#000", light="#fff")


def _accepted_step(secret: str, code: str, last_step: int | None, now: datetime | None = None) -> int | None:
    code = "".join(code.split())
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now or utcnow())
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        if last_step is not None and step <= last_step:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def enrol(user: User, secret: str, code: str) -> list[str] | None:
    """Confirm enrolment with a first code; returns the recovery codes to show once, or None.
    A confirmed enrolment is an ``auth.mfa_enrol`` audit event."""
    step = _accepted_step(secret, code, None)
    if step is None:
        return None
    user.totp_secret_sealed = seal(secret.encode(), secret_context(user))
    user.totp_last_step = step
    user.mfa_enrolled_at = utcnow()
    record("auth.mfa_enrol", actor=user, target=("user", user.id), target_org=user.organisation_id)
    return replace_recovery_codes(user)


def verify_totp(user: User, code: str) -> bool:
    if not user.totp_secret_sealed:
        return False
    secret = unseal(user.totp_secret_sealed, secret_context(user)).decode()
    step = _accepted_step(secret, code, user.totp_last_step)
    if step is None:
        return False
    user.totp_last_step = step
    return True


def _normalised_code(code: str) -> str:
    """What is hashed: the code without spaces or dashes, lower case (as typed from the sheet)."""
    return "".join(code.split()).replace("-", "").lower()


def _legacy_recovery_hash(code: str) -> str:
    """The HMAC-SHA256 form codes had before they were argon2id hashes."""
    # Made under the keyring file, before codes were argon2id hashes; on a token the file's key was
    # imported (non-extractable) by ``keys migrate``.
    data = b"recovery:" + _normalised_code(code).encode()
    return backend().hmac_sha256("secrets_hmac", data, FILE).hex()


def _is_legacy(code_hash: str) -> bool:
    return not code_hash.startswith("$")


def replace_recovery_codes(user: User) -> list[str]:
    """Replace the account's recovery codes with ``RECOVERY_CODE_COUNT`` new ones, returned to be
    shown once; only their argon2id hashes are kept."""
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = base64.b32encode(secrets.token_bytes(10)).decode().lower()
        code = f"{raw[:4]}-{raw[4:8]}-{raw[8:12]}-{raw[12:16]}"
        codes.append(code)
        db.session.add(RecoveryCode(user_id=user.id, code_hash=hash_password(_normalised_code(code))))
    db.session.flush()
    return codes


def use_recovery_code(user: User, code: str) -> bool:
    """Accept an unused recovery code once.

    A salted hash cannot be looked up, so the code is verified against the account's unused
    codes, at most ``RECOVERY_CODE_COUNT`` of them: the work per attempt is bounded whatever is
    typed. The matching row is claimed with a conditional update, so two simultaneous uses of one
    code accept it once."""
    normalised = _normalised_code(code)
    if not normalised or len(normalised) > 64:
        return False
    rows = db.session.execute(
        sa.select(RecoveryCode.id, RecoveryCode.code_hash)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
        .order_by(RecoveryCode.id)
        .limit(RECOVERY_CODE_COUNT)
    ).all()
    legacy = _legacy_recovery_hash(code) if any(_is_legacy(h) for _id, h in rows) else None
    match = None
    for row_id, code_hash in rows:
        if _is_legacy(code_hash):
            found = legacy is not None and hmac.compare_digest(code_hash, legacy)
        else:
            found = verify_password(code_hash, normalised)
        if found:
            match = row_id
            break
    if match is None:
        return False
    claimed = db.session.execute(
        sa.update(RecoveryCode)
        .where(RecoveryCode.id == match, RecoveryCode.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return claimed.rowcount == 1


def recovery_codes_left(user: User) -> int:
    return (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(RecoveryCode)
            .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
        )
        or 0
    )
