"""The key-backend interface every key use goes through: operations in, results out, never key bytes.

Two backends implement it: the JSON keyring file (``app.keys.keyring.Keyring``, the default,
``PAX_KEYS_BACKEND=file``) and a PKCS#11 token (``app.keys.pkcs11.Pkcs11Backend``,
``PAX_KEYS_BACKEND=pkcs11``), where the keys are created non-extractable and every operation runs
inside the token. Callers name keys by purpose (``audit_hmac``, ``match_hmac``, ``secrets_hmac``)
or by KEK id; ``custody`` names which backend a purpose key was created in, so values made under
the keyring file (audit records, match digests, legacy recovery-code hashes) still verify after a
move to a token (``keys migrate --to pkcs11``).
"""

from __future__ import annotations

from typing import Protocol

from flask import current_app

#: The purpose keys: HMAC-SHA256 keys for the audit chain, the cross-match index and the legacy
#: recovery-code hashes, and the Ed25519 pack-signing key.
HMAC_PURPOSES = ("audit_hmac", "match_hmac", "secrets_hmac")
FILE = "file"
PKCS11 = "pkcs11"


class KeyUnavailable(RuntimeError):
    """A key operation cannot run now: the token is absent, refuses the PIN, or lacks the key.

    Requests that need a key answer 503 (``app.errors``); commands stop with one line."""


class KeyMissing(KeyUnavailable):
    """The backend is reachable but does not hold the key asked for (a retired or foreign KEK)."""


class KeyBackend(Protocol):
    #: ``file`` or ``pkcs11``: the custody of the keys this backend creates.
    kind: str

    @property
    def description(self) -> str:
        """Where the keys are, in words for ``keys status`` (a path, a token label)."""

    @property
    def active_kek_id(self) -> str: ...

    def kek_ids(self) -> dict[str, str]:
        """Every KEK this backend can use, with its creation time (ISO 8601, or empty)."""

    def refresh(self) -> None:
        """Pick up KEKs another process (``keys rotate``) added or retired."""

    def encrypt(self, kid: str, nonce: bytes, plaintext: bytes, aad: bytes) -> bytes:
        """AES-256-GCM under KEK ``kid``: ciphertext with its 16-byte tag."""

    def decrypt(self, kid: str, nonce: bytes, ciphertext: bytes, aad: bytes) -> bytes:
        """Open what ``encrypt`` made; raises ``KeyUnavailable`` or ``ValueError`` (does not open)."""

    def hmac_sha256(self, purpose: str, data: bytes, custody: str | None = None) -> bytes:
        """HMAC-SHA256 of ``data`` under the purpose key, as created in ``custody`` (default: own)."""

    def sign_ed25519(self, message: bytes) -> bytes: ...

    def ed25519_public_key(self) -> bytes:
        """The raw 32-byte public key (RFC 8032)."""

    def add_kek(self) -> str:
        """Create a KEK, make it the active one; returns its id."""

    def retire_kek(self, kid: str) -> bool:
        """Destroy a KEK nothing uses any more; False when this backend leaves it (the keyring
        file's KEKs, seen through the token backend, go with the file)."""


def backend() -> KeyBackend:
    """The application's key backend (refreshed, so a rotation by another process is seen)."""
    keys: KeyBackend = current_app.extensions["pax_keys"]
    keys.refresh()
    return keys


def starting_custody(keys: KeyBackend) -> str:
    """The custody of values made before any ``keys migrate`` recorded one: the keyring file's,
    unless the backend is a token with no keyring file beside it (a fresh token installation)."""
    if keys.kind == FILE or getattr(keys, "legacy", None) is not None:
        return FILE
    return PKCS11
