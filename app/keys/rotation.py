"""Key state, KEK rotation and the move to a token (``keys status``, ``keys rotate``, ``keys migrate``).

Rotation adds a KEK, makes it active (new files and secrets are wrapped under it at once), then
rewraps every data key and re-seals every small secret in batches, committing after each, so
it can be interrupted at any point and resumed with ``keys rotate --resume``: every file stays
readable because the old KEK is kept until nothing uses it. Blobs are never touched.

Both work on either key backend (``app.keys.backend``). ``keys migrate --to pkcs11`` moves an
installation from the keyring file to a token with the portal running (already started with
``PAX_KEYS_BACKEND=pkcs11``, the keyring file still beside it): it creates the keys in the token,
then rewraps and re-seals in committed batches exactly as a rotation does (interrupt it and run
it again), re-keys the match index, and records the audit chain's switch to the token's key.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from app.audit import chain
from app.audit.services import record
from app.auth import mfa, sso
from app.auth.models import IdentityProvider, User
from app.crossmatch.services import index_custody, record_custody, rekey_index
from app.drafts.models import Draft
from app.extensions import db
from app.files.services import kek_usage, rewrap_batch
from app.keys.backend import PKCS11, KeyBackend, KeyUnavailable
from app.keys.sealed import keyring, seal, sealed_kek_id, unseal
from app.keys.signing import key_id_of


@dataclass
class KekState:
    kid: str
    created_at: str
    active: bool
    files: int
    secrets: int

    @property
    def in_use(self) -> bool:
        return self.active or bool(self.files or self.secrets)


@dataclass
class KeysStatus:
    #: Where the keys are, in words (the keyring file's path, or the token).
    keys_file: str
    active_kek_id: str
    keks: list[KekState]
    #: KEK ids that wrapped data keys or secrets name but the keyring lacks: those cannot be read.
    unknown: dict[str, int] = field(default_factory=dict)
    backend: str = "file"
    #: Whose keys the match index and the audit chain's newest records are under.
    match_index: str = "file"
    audit_chain: str = "file"

    @property
    def pending(self) -> int:
        """Data keys and secrets not yet under the active KEK."""
        return sum(k.files + k.secrets for k in self.keks if not k.active) + sum(self.unknown.values())


#: Every column holding a value sealed with ``app.keys.sealed``, with the context it was sealed under.
_SEALED_COLUMNS: list[tuple[type, str, Callable[[Any], str]]] = [
    (User, "totp_secret_sealed", mfa.secret_context),
    (IdentityProvider, "client_secret_sealed", lambda provider: sso.secret_context(provider.id)),
    (Draft, "fields_sealed", lambda draft: draft.seal_context),
]


def _secret_usage() -> Counter[str]:
    usage: Counter[str] = Counter()
    for model, column, _context in _SEALED_COLUMNS:
        for value in db.session.scalars(sa.select(getattr(model, column)).where(getattr(model, column).is_not(None))):
            usage[sealed_kek_id(value)] += 1
    return usage


def status() -> KeysStatus:
    ring = keyring()
    files = kek_usage()
    secrets = _secret_usage()
    active = ring.active_kek_id
    created = ring.kek_ids()
    keks = [
        KekState(kid, created[kid], kid == active, files.get(kid, 0), secrets.get(kid, 0))
        for kid in sorted(created, key=lambda k: (created[k], k))
    ]
    unknown = {kid: files.get(kid, 0) + secrets.get(kid, 0) for kid in set(files) | set(secrets) if kid not in created}
    audit = chain.head_custody(db.session.connection(), chain.AuditKeys(ring))
    return KeysStatus(ring.description, active, keks, unknown, ring.kind, index_custody(), audit)


def _reseal_batch(ring: KeyBackend, batch_size: int) -> int:
    done = 0
    for model, column, context in _SEALED_COLUMNS:
        attr = getattr(model, column)
        rows = db.session.scalars(
            sa.select(model)
            .where(attr.is_not(None), sa.not_(attr.startswith(f"v1.{ring.active_kek_id}.", autoescape=True)))
            .limit(batch_size - done)
        ).all()
        for row in rows:
            setattr(row, column, seal(unseal(getattr(row, column), context(row), ring), context(row), ring))
        done += len(rows)
        if done >= batch_size:
            break
    db.session.flush()
    return done


@dataclass
class RotationResult:
    new_kek_id: str | None
    rewrapped: int = 0
    resealed: int = 0
    retired: list[str] = field(default_factory=list)


def rotate(
    resume: bool = False, batch_size: int = 500, after_batch: Callable[[RotationResult], None] | None = None
) -> RotationResult:
    """Add a KEK (unless resuming) and move everything onto the active KEK, batch by batch.

    Each batch is committed before the next starts; ``after_batch`` is called after each
    commit (progress output, and the tests' way to interrupt a rotation halfway).
    """
    ring = keyring()
    result = RotationResult(new_kek_id=None if resume else ring.add_kek())
    if result.new_kek_id:
        record("keys.rotate", new_kek_id=result.new_kek_id)
        db.session.commit()
    _move_all(ring, result, batch_size, after_batch)
    current = status()
    for kek in current.keks:
        if not kek.in_use and ring.retire_kek(kek.kid):
            result.retired.append(kek.kid)
    record(
        "keys.rewrap",
        active_kek_id=ring.active_kek_id,
        rewrapped=result.rewrapped,
        resealed=result.resealed,
        retired_kek_ids=result.retired,
    )
    db.session.commit()
    return result


def _move_all(
    ring: KeyBackend, result: RotationResult, batch_size: int, after_batch: Callable[[RotationResult], None] | None
) -> None:
    """Rewrap and re-seal onto the active KEK, one committed batch at a time, until nothing is left."""
    while True:
        files = rewrap_batch(batch_size)
        secrets = _reseal_batch(ring, batch_size)
        if not files and not secrets:
            break
        result.rewrapped += files
        result.resealed += secrets
        db.session.commit()
        if after_batch:
            after_batch(result)


@dataclass
class MigrationResult(RotationResult):
    created: list[str] = field(default_factory=list)
    rekeyed: int = 0
    audit_switched: bool = False


def migrate(
    to: str = PKCS11, batch_size: int = 500, after_batch: Callable[[RotationResult], None] | None = None
) -> MigrationResult:
    """Move every key use from the keyring file to the token the portal is configured with.

    Safe to interrupt and to run again: each step finds what is left (keys not yet created, data
    keys and secrets not under a token KEK, an index or chain not yet switched) and does only that.
    """
    ring = keyring()
    if to != PKCS11 or ring.kind != PKCS11:
        raise KeyUnavailable("set PAX_KEYS_BACKEND=pkcs11 (and the token settings) and restart the portal first")
    legacy = getattr(ring, "legacy", None)
    result = MigrationResult(new_kek_id=None)
    result.created = ring.ensure_keys()  # type: ignore[attr-defined]
    if legacy is not None:
        result.created += ring.import_legacy_hmac(legacy)  # type: ignore[attr-defined]
    # The index's custody row exists before anything moves: notes indexed meanwhile then wait on it.
    record_custody(index_custody())
    if result.created:
        details: dict[str, Any] = {"created": result.created, "active_kek_id": ring.active_kek_id}
        if legacy is not None:
            details["previous_pack_key_id"] = key_id_of(legacy.ed25519_public_key())
        record("keys.migrate", to=PKCS11, **details)
    db.session.commit()
    _move_all(ring, result, batch_size, after_batch)
    result.rekeyed = rekey_index(PKCS11)
    db.session.commit()
    connection = db.session.connection()
    if chain.head_custody(connection, chain.AuditKeys(ring)) != PKCS11:
        record(chain.SWITCH_ACTION, custody=PKCS11)
        db.session.flush()
        chain.switch_custody(db.session.connection(), PKCS11)
        result.audit_switched = True
    record(
        "keys.migrated",
        to=PKCS11,
        rewrapped=result.rewrapped,
        resealed=result.resealed,
        index_entries=result.rekeyed,
        audit_switched=result.audit_switched,
    )
    db.session.commit()
    return result
