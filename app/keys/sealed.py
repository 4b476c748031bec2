"""Small secrets sealed under the keyring's active KEK (IdP client secrets, TOTP seeds).

AES-256-GCM from ``cryptography``; the caller's ``context`` (for example
``"idp-client-secret:7"``) is bound as associated data, so a sealed value copied into
another row or column does not open. The KEK id travels with the value so rotation can
re-seal old values while they keep opening.
"""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app

from app.keys.keyring import Keyring, KeyringError

PREFIX = "v1"


class SealError(RuntimeError):
    """A sealed value does not open: wrong context, wrong or missing KEK, or tampering."""


def keyring() -> Keyring:
    ring: Keyring = current_app.extensions["pax_keyring"]
    ring.refresh()
    return ring


def seal(plaintext: bytes, context: str, ring: Keyring | None = None) -> str:
    ring = ring or keyring()
    nonce = os.urandom(12)
    ciphertext = AESGCM(ring.active_kek).encrypt(nonce, plaintext, context.encode())
    return ".".join([PREFIX, ring.active_kek_id, base64.urlsafe_b64encode(nonce + ciphertext).decode()])


def unseal(sealed: str, context: str, ring: Keyring | None = None) -> bytes:
    ring = ring or keyring()
    try:
        prefix, kid, payload = sealed.split(".", 2)
        if prefix != PREFIX:
            raise ValueError(prefix)
        blob = base64.urlsafe_b64decode(payload.encode())
        return AESGCM(ring.kek(kid)).decrypt(blob[:12], blob[12:], context.encode())
    except (ValueError, InvalidTag, KeyringError) as exc:
        raise SealError(f"sealed value for {context.split(':')[0]} does not open") from exc


def sealed_kek_id(sealed: str) -> str:
    return sealed.split(".", 2)[1]
