"""The key-encryption keyring: KEKs and purpose keys that live outside the database.

The keyring is a JSON file (``PAX_KEYS_FILE``) readable only by the portal's user. It holds
the key-encryption keys (one active, older ones kept until no wrapped key uses them) and the
purpose keys later features derive from it (audit chain HMAC, cross-match HMAC, pack
signing). Local runs generate one with 0600 permissions on first start.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import stat
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from app.keys.backend import FILE, KeyMissing, KeyUnavailable

FORMAT_VERSION = 1
PURPOSE_KEYS = ("audit_hmac", "match_hmac", "pack_signing_ed25519", "secrets_hmac")


class KeyringError(KeyUnavailable):
    """The keyring is missing, unreadable, malformed or lacks a key that is asked for."""


class UnknownKey(KeyringError, KeyMissing):
    """The keyring does not hold the KEK or purpose key asked for."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (ValueError, TypeError) as exc:
        raise KeyringError(f"keyring entry {what} is not valid base64") from exc


def new_kek_id() -> str:
    return f"kek-{datetime.now(UTC):%Y%m%d%H%M%S}-{secrets.token_hex(3)}"


@dataclass
class Keyring:
    path: Path
    active_kek_id: str
    keks: dict[str, bytes] = field(default_factory=dict)
    kek_created: dict[str, str] = field(default_factory=dict)
    purpose_keys: dict[str, bytes] = field(default_factory=dict)
    #: The file's modification time when read, so a running portal picks up a rotation.
    loaded_mtime: float = 0.0
    kind = FILE

    @classmethod
    def generate(cls, path: Path) -> Keyring:
        kid = new_kek_id()
        ring = cls(
            path=path,
            active_kek_id=kid,
            keks={kid: secrets.token_bytes(32)},
            kek_created={kid: datetime.now(UTC).isoformat()},
            purpose_keys={name: secrets.token_bytes(32) for name in PURPOSE_KEYS},
        )
        ring.save()
        return ring

    @classmethod
    def load(cls, path: Path) -> Keyring:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise KeyringError(f"no keyring at {path}") from exc
        except (OSError, ValueError) as exc:
            raise KeyringError(f"keyring at {path} is unreadable or not JSON") from exc
        if not isinstance(raw, dict) or raw.get("format") != FORMAT_VERSION:
            raise KeyringError(f"keyring at {path} has an unknown format")
        try:
            keks = {kid: _unb64(entry["key"], kid) for kid, entry in raw["keks"].items()}
            created = {kid: entry.get("created_at", "") for kid, entry in raw["keks"].items()}
            purpose = {name: _unb64(value, name) for name, value in raw.get("keys", {}).items()}
            active = raw["active_kek"]
        except (KeyError, TypeError, AttributeError) as exc:
            raise KeyringError(f"keyring at {path} is missing a required entry") from exc
        if active not in keks:
            raise KeyringError(f"keyring at {path} names an active KEK it does not hold")
        if any(len(key) != 32 for key in keks.values()):
            raise KeyringError(f"keyring at {path} holds a KEK that is not 256 bits")
        # Purpose keys added by later versions are created on load so old keyrings keep working.
        missing = [name for name in PURPOSE_KEYS if name not in purpose]
        ring = cls(path=path, active_kek_id=active, keks=keks, kek_created=created, purpose_keys=purpose)
        if missing:
            for name in missing:
                ring.purpose_keys[name] = secrets.token_bytes(32)
            ring.save()
        ring.loaded_mtime = path.stat().st_mtime
        return ring

    def refresh(self) -> None:
        """Re-read the file if another process (``keys rotate``) has replaced it since."""
        try:
            mtime = self.path.stat().st_mtime
        except OSError:
            return
        if mtime != self.loaded_mtime:
            fresh = Keyring.load(self.path)
            self.active_kek_id, self.keks, self.kek_created = fresh.active_kek_id, fresh.keks, fresh.kek_created
            self.purpose_keys, self.loaded_mtime = fresh.purpose_keys, fresh.loaded_mtime

    def add_kek(self) -> str:
        """Create a KEK, make it the active one and save; the old ones stay until retired."""
        kid = new_kek_id()
        while kid in self.keks:
            kid = new_kek_id()
        self.keks[kid] = secrets.token_bytes(32)
        self.kek_created[kid] = datetime.now(UTC).isoformat()
        self.active_kek_id = kid
        self.save()
        return kid

    def retire_kek(self, kid: str) -> bool:
        if kid == self.active_kek_id:
            raise KeyringError("the active KEK cannot be retired")
        self.keks.pop(kid, None)
        self.kek_created.pop(kid, None)
        self.save()
        return True

    @classmethod
    def load_or_create(cls, path: Path, create: bool) -> Keyring:
        if path.is_file() or not create:
            return cls.load(path)
        return cls.generate(path)

    def save(self) -> None:
        """Write atomically with 0600 permissions; the previous file is replaced, never truncated."""
        document = {
            "format": FORMAT_VERSION,
            "active_kek": self.active_kek_id,
            "keks": {
                kid: {"key": _b64(key), "created_at": self.kek_created.get(kid, "")} for kid, key in self.keks.items()
            },
            "keys": {name: _b64(value) for name, value in self.purpose_keys.items()},
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, stat.S_IRUSR | stat.S_IWUSR)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=2)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.path)
        self.loaded_mtime = self.path.stat().st_mtime

    @property
    def active_kek(self) -> bytes:
        return self.keks[self.active_kek_id]

    def kek(self, kid: str) -> bytes:
        try:
            return self.keks[kid]
        except KeyError as exc:
            raise UnknownKey(f"the keyring does not hold KEK {kid}") from exc

    def purpose_key(self, name: str) -> bytes:
        try:
            return self.purpose_keys[name]
        except KeyError as exc:
            raise UnknownKey(f"the keyring does not hold the {name} key") from exc

    # --- the key-backend interface (app.keys.backend.KeyBackend) ---------------------------------

    @property
    def description(self) -> str:
        return f"keyring file {self.path}"

    def kek_ids(self) -> dict[str, str]:
        return {kid: self.kek_created.get(kid, "") for kid in self.keks}

    def encrypt(self, kid: str, nonce: bytes, plaintext: bytes, aad: bytes) -> bytes:
        return AESGCM(self.kek(kid)).encrypt(nonce, plaintext, aad)

    def decrypt(self, kid: str, nonce: bytes, ciphertext: bytes, aad: bytes) -> bytes:
        try:
            return AESGCM(self.kek(kid)).decrypt(nonce, ciphertext, aad)
        except InvalidTag:
            raise ValueError("the sealed value does not open") from None

    def hmac_sha256(self, purpose: str, data: bytes, custody: str | None = None) -> bytes:
        if custody not in (None, FILE):
            raise KeyUnavailable(f"the {purpose} key of custody {custody} is not in the keyring file")
        return hmac.new(self.purpose_key(purpose), data, hashlib.sha256).digest()

    def sign_ed25519(self, message: bytes) -> bytes:
        return Ed25519PrivateKey.from_private_bytes(self.purpose_key("pack_signing_ed25519")).sign(message)

    def ed25519_public_key(self) -> bytes:
        key = Ed25519PrivateKey.from_private_bytes(self.purpose_key("pack_signing_ed25519"))
        return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
