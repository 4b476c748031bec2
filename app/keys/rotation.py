"""Keyring state and KEK rotation (``keys status``, ``keys rotate``).

Rotation adds a KEK, makes it active (new files and secrets are wrapped under it at once), then
rewraps every data key and re-seals every small secret in batches, committing after each, so
it can be interrupted at any point and resumed with ``keys rotate --resume``: every file stays
readable because the old KEK is kept until nothing uses it. Blobs are never touched.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from app.audit.services import record
from app.auth import mfa, sso
from app.auth.models import IdentityProvider, User
from app.drafts.models import Draft
from app.extensions import db
from app.files.services import kek_usage, rewrap_batch
from app.keys.keyring import Keyring
from app.keys.sealed import keyring, seal, sealed_kek_id, unseal


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
    keys_file: str
    active_kek_id: str
    keks: list[KekState]
    #: KEK ids that wrapped data keys or secrets name but the keyring lacks: those cannot be read.
    unknown: dict[str, int] = field(default_factory=dict)

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
    keks = [
        KekState(kid, ring.kek_created.get(kid, ""), kid == ring.active_kek_id, files.get(kid, 0), secrets.get(kid, 0))
        for kid in sorted(ring.keks, key=lambda k: ring.kek_created.get(k, ""))
    ]
    unknown = {
        kid: files.get(kid, 0) + secrets.get(kid, 0) for kid in set(files) | set(secrets) if kid not in ring.keks
    }
    return KeysStatus(str(ring.path), ring.active_kek_id, keks, unknown)


def _reseal_batch(ring: Keyring, batch_size: int) -> int:
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
    current = status()
    for kek in current.keks:
        if not kek.in_use:
            ring.retire_kek(kek.kid)
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
