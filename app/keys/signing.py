"""The portal's Ed25519 signing key: it signs meeting-pack manifests so recipients can verify them offline.

The private key is held by the key backend (``app.keys.backend``): the keyring's
``pack_signing_ed25519`` purpose key (32 random bytes, used as the Ed25519 seed), or an Ed25519
key pair inside the PKCS#11 token (``CKM_EDDSA``); never in the database. The public
key is published at ``GET /api/v1/pack-key``; ``key_id`` names it in every manifest, so a
recipient holding several published keys knows which one to use.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from app.keys.backend import backend

PURPOSE = "pack_signing_ed25519"
ALGORITHM = "Ed25519"


def sign_manifest(manifest: bytes) -> bytes:
    """The raw 64-byte Ed25519 signature over exactly ``manifest``."""
    return backend().sign_ed25519(manifest)


def public_key_raw() -> bytes:
    """The 32 raw bytes of the public key (RFC 8032 encoding)."""
    return backend().ed25519_public_key()


def key_id_of(public_key: bytes) -> str:
    """A short name of a public key: the first 16 hex digits of the SHA-256 of its raw bytes."""
    return hashlib.sha256(public_key).hexdigest()[:16]


def key_id() -> str:
    """The id of the portal's current signing key, as written in manifests."""
    return key_id_of(public_key_raw())


def public_key_b64() -> str:
    return base64.b64encode(public_key_raw()).decode("ascii")


def verify(public_key: bytes, signature: bytes, message: bytes) -> bool:
    """Whether ``signature`` is a valid Ed25519 signature of ``message`` under the raw ``public_key``.

    Needs neither the portal nor its keyring: the offline check ``packs verify --public-key`` uses.
    """
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True
