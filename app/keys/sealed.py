"""Small secrets sealed under the active KEK (IdP client secrets, TOTP seeds, files' data keys).

AES-256-GCM, run by the key backend (``app.keys.backend``: ``cryptography`` over the keyring
file, or ``CKM_AES_GCM`` inside the PKCS#11 token); the caller's ``context`` (for example
``"idp-client-secret:7"``) is bound as associated data, so a sealed value copied into another
row or column does not open. The KEK id travels with the value so rotation can re-seal old
values while they keep opening; the format is the same on both backends.
"""

from __future__ import annotations

import base64
import binascii
import os

from app.keys.backend import KeyBackend, KeyMissing, backend

PREFIX = "v1"


class SealError(RuntimeError):
    """A sealed value does not open: wrong context, wrong or missing KEK, or tampering."""


def keyring() -> KeyBackend:
    """The application's key backend (named for the keyring it once always was)."""
    return backend()


def seal(plaintext: bytes, context: str, ring: KeyBackend | None = None) -> str:
    ring = ring or backend()
    kid = ring.active_kek_id
    nonce = os.urandom(12)
    ciphertext = ring.encrypt(kid, nonce, plaintext, context.encode())
    return ".".join([PREFIX, kid, base64.urlsafe_b64encode(nonce + ciphertext).decode()])


def unseal(sealed: str, context: str, ring: KeyBackend | None = None) -> bytes:
    """The plaintext; ``SealError`` when the value does not open, ``KeyUnavailable`` (a 503) when
    the token cannot be reached."""
    ring = ring or backend()
    try:
        prefix, kid, payload = sealed.split(".", 2)
        if prefix != PREFIX:
            raise ValueError(prefix)
        blob = base64.urlsafe_b64decode(payload.encode())
        return ring.decrypt(kid, blob[:12], blob[12:], context.encode())
    except (ValueError, binascii.Error, KeyMissing) as exc:
        raise SealError(f"sealed value for {context.split(':')[0]} does not open") from exc


def sealed_kek_id(sealed: str) -> str:
    return sealed.split(".", 2)[1]
