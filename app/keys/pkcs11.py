"""The PKCS#11 key backend: every PAX key lives in a token (an HSM, or SoftHSM2) and never leaves it.

Keys are found by label, all created with ``CKA_TOKEN=true``, ``CKA_SENSITIVE=true`` and
``CKA_EXTRACTABLE=false``, so the token uses them but never hands out their bytes:

    pax:kek:<kid>              AES-256, CKM_AES_GCM (data-key wrapping and sealed secrets)
    pax:hmac:<purpose>         generic secret, CKM_SHA256_HMAC (audit chain, match index)
    pax:hmac-file:<purpose>    the keyring file's HMAC key, imported by ``keys migrate`` so audit
                               records and recovery-code hashes made before the move still verify
    pax:ed25519                Ed25519 key pair, CKM_EDDSA (pack manifests)

The active KEK is the newest ``pax:kek:`` (ids sort by creation time). Sessions are pooled per
process (``app.keys.pkcs11_sessions``).
Until ``keys migrate --to pkcs11`` has finished, the keyring file (``PAX_KEYS_FILE``), when
present, still opens what it wrapped; nothing new is ever made under it.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from app.keys.backend import FILE, HMAC_PURPOSES, PKCS11, KeyMissing, KeyUnavailable
from app.keys.keyring import Keyring
from app.keys.pkcs11_sessions import TokenSessions, pkcs11_module, token_trouble

KEK_PREFIX = "pax:kek:"
HMAC_PREFIX = "pax:hmac:"
LEGACY_HMAC_PREFIX = "pax:hmac-file:"
ED25519_LABEL = "pax:ed25519"
KID_PREFIX = "hsm-"
_ED25519_OID = "1.3.101.112"


def new_kid() -> str:
    return f"{KID_PREFIX}{datetime.now(UTC):%Y%m%d%H%M%S}-{secrets.token_hex(3)}"


def kid_created(kid: str) -> str:
    try:
        return datetime.strptime(kid[len(KID_PREFIX) :].split("-")[0], "%Y%m%d%H%M%S").replace(tzinfo=UTC).isoformat()
    except ValueError:
        return ""


class Pkcs11Backend:
    """``app.keys.backend.KeyBackend`` over a PKCS#11 token."""

    kind = PKCS11

    def __init__(
        self, module: str, token_label: str, pin: str, pool_size: int = 4, legacy: Keyring | None = None
    ) -> None:
        self.module = module
        self.token_label = token_label
        self.sessions = TokenSessions(module, token_label, pin, pool_size)
        #: The keyring file of an installation being moved to the token; None once it is gone.
        self.legacy = legacy

    def check(self) -> None:
        """Open a session now: a start-up error names the missing module, token or wrong PIN."""
        self.sessions.check()

    def close(self) -> None:
        self.sessions.close()

    # --- the interface ------------------------------------------------------------------------------

    @property
    def description(self) -> str:
        return f"PKCS#11 token {self.token_label!r} via {self.module}"

    def _labels(self, prefix: str) -> list[str]:
        pkcs11 = pkcs11_module()
        with self.sessions.lease() as lease:
            labels = [
                obj.label for obj in lease.session.get_objects({pkcs11.Attribute.CLASS: pkcs11.ObjectClass.SECRET_KEY})
            ]
        return sorted(label for label in labels if label.startswith(prefix))

    def token_kek_ids(self) -> list[str]:
        return [label[len(KEK_PREFIX) :] for label in self._labels(KEK_PREFIX)]

    @property
    def active_kek_id(self) -> str:
        kids = self.token_kek_ids()
        if not kids:
            raise KeyMissing(f"the token {self.token_label!r} holds no KEK: run 'keys migrate --to pkcs11'")
        return kids[-1]

    def kek_ids(self) -> dict[str, str]:
        ids = {kid: kid_created(kid) for kid in self.token_kek_ids()}
        if self.legacy is not None:
            ids.update(self.legacy.kek_ids())
        return ids

    def refresh(self) -> None:
        if self.legacy is not None:
            if not self.legacy.path.is_file():
                self.legacy = None
            else:
                self.legacy.refresh()

    def _gcm(self, nonce: bytes, aad: bytes) -> Any:
        from pkcs11.mechanisms import GCMParams

        return GCMParams(nonce, aad, 128)

    def encrypt(self, kid: str, nonce: bytes, plaintext: bytes, aad: bytes) -> bytes:
        if not kid.startswith(KID_PREFIX):
            raise KeyMissing("nothing new is sealed under the keyring file once the token is the backend")
        mechanism = pkcs11_module().Mechanism.AES_GCM
        param = self._gcm(nonce, aad)
        return bytes(
            self.sessions.with_key(
                KEK_PREFIX + kid, lambda key: key.encrypt(plaintext, mechanism=mechanism, mechanism_param=param)
            )
        )

    def decrypt(self, kid: str, nonce: bytes, ciphertext: bytes, aad: bytes) -> bytes:
        if not kid.startswith(KID_PREFIX):
            if self.legacy is None:
                raise KeyMissing(f"KEK {kid} was in the keyring file, which is gone")
            return self.legacy.decrypt(kid, nonce, ciphertext, aad)
        pkcs11 = pkcs11_module()
        mechanism = pkcs11.Mechanism.AES_GCM
        param = self._gcm(nonce, aad)

        def open_(key: Any) -> bytes:
            try:
                return bytes(key.decrypt(ciphertext, mechanism=mechanism, mechanism_param=param))
            except token_trouble():
                raise
            except pkcs11.exceptions.PKCS11Error:
                # The tag does not verify (SoftHSM2 says CKR_GENERAL_ERROR, others ENCRYPTED_DATA_INVALID).
                raise ValueError("the sealed value does not open") from None

        return self.sessions.with_key(KEK_PREFIX + kid, open_)

    def hmac_sha256(self, purpose: str, data: bytes, custody: str | None = None) -> bytes:
        mechanism = pkcs11_module().Mechanism.SHA256_HMAC
        if custody in (None, PKCS11):
            label = HMAC_PREFIX + purpose
        elif custody == FILE:
            if self.legacy is not None:
                # The same key as its copy in the token (``import_legacy_hmac``), without a token call.
                return self.legacy.hmac_sha256(purpose, data)
            label = LEGACY_HMAC_PREFIX + purpose
        else:
            raise KeyMissing(f"unknown key custody {custody}")
        return bytes(self.sessions.with_key(label, lambda key: key.sign(data, mechanism=mechanism)))

    def sign_ed25519(self, message: bytes) -> bytes:
        mechanism = pkcs11_module().Mechanism.EDDSA
        return bytes(
            self.sessions.with_key(ED25519_LABEL, lambda key: key.sign(message, mechanism=mechanism), "PRIVATE_KEY")
        )

    def ed25519_public_key(self) -> bytes:
        pkcs11 = pkcs11_module()

        def raw(key: Any) -> bytes:
            point = bytes(key[pkcs11.Attribute.EC_POINT])
            # CKA_EC_POINT is the DER OCTET STRING around the 32 bytes (04 20 ...), or the bytes themselves.
            return point[2:] if len(point) == 34 and point[:2] == b"\x04\x20" else point

        return self.sessions.with_key(ED25519_LABEL, raw, "PUBLIC_KEY")

    # --- creating keys (keys migrate, keys rotate) ---------------------------------------------------

    def _private(self) -> dict[Any, Any]:
        attribute = pkcs11_module().Attribute
        return {attribute.TOKEN: True, attribute.SENSITIVE: True, attribute.EXTRACTABLE: False, attribute.PRIVATE: True}

    def add_kek(self) -> str:
        pkcs11 = pkcs11_module()
        existing = self.token_kek_ids()
        kid = new_kid()
        while existing and kid <= existing[-1]:
            kid = new_kid()
        with self.sessions.lease() as lease:
            lease.session.generate_key(
                pkcs11.KeyType.AES,
                256,
                label=KEK_PREFIX + kid,
                store=True,
                capabilities=pkcs11.MechanismFlag.ENCRYPT | pkcs11.MechanismFlag.DECRYPT,
                template=self._private(),
            )
        return kid

    def retire_kek(self, kid: str) -> bool:
        if not kid.startswith(KID_PREFIX):
            return False  # the keyring file's KEKs go with the file
        if kid == self.active_kek_id:
            raise KeyUnavailable("the active KEK cannot be retired")
        self.sessions.with_key(KEK_PREFIX + kid, lambda key: key.destroy())
        return True

    def ensure_keys(self) -> list[str]:
        """Create in the token whatever key is missing (a KEK, the HMAC keys, the signing pair);
        returns the labels created."""
        pkcs11 = pkcs11_module()
        attribute = pkcs11.Attribute
        created: list[str] = []
        if not self.token_kek_ids():
            created.append(KEK_PREFIX + self.add_kek())
        present = set(self._labels("pax:"))
        with self.sessions.lease() as lease:
            for purpose in HMAC_PURPOSES:
                label = HMAC_PREFIX + purpose
                if label in present:
                    continue
                lease.session.generate_key(
                    pkcs11.KeyType.GENERIC_SECRET,
                    256,
                    label=label,
                    store=True,
                    capabilities=pkcs11.MechanismFlag.SIGN | pkcs11.MechanismFlag.VERIFY,
                    template=self._private(),
                )
                created.append(label)
            try:
                lease.session.get_key(object_class=pkcs11.ObjectClass.PRIVATE_KEY, label=ED25519_LABEL)
            except pkcs11.exceptions.NoSuchKey:
                from pkcs11.util.ec import encode_named_curve_parameters

                params = lease.session.create_domain_parameters(
                    pkcs11.KeyType.EC_EDWARDS,
                    {attribute.EC_PARAMS: encode_named_curve_parameters(_ED25519_OID)},
                    local=True,
                )
                params.generate_keypair(
                    store=True,
                    label=ED25519_LABEL,
                    public_template={attribute.TOKEN: True},
                    private_template=self._private(),
                )
                created.append(ED25519_LABEL)
        return created

    def import_legacy_hmac(self, ring: Keyring) -> list[str]:
        """Put the keyring file's audit and recovery-code HMAC keys in the token, non-extractable, so
        what they MACed before the move still verifies once the file is deleted. Nothing new is MACed
        under them."""
        pkcs11 = pkcs11_module()
        attribute = pkcs11.Attribute
        present = set(self._labels(LEGACY_HMAC_PREFIX))
        imported = []
        with self.sessions.lease() as lease:
            for purpose in ("audit_hmac", "secrets_hmac"):
                label = LEGACY_HMAC_PREFIX + purpose
                if label in present:
                    continue
                lease.session.create_object(
                    {
                        attribute.CLASS: pkcs11.ObjectClass.SECRET_KEY,
                        attribute.KEY_TYPE: pkcs11.KeyType.GENERIC_SECRET,
                        attribute.LABEL: label,
                        attribute.VALUE: ring.purpose_key(purpose),
                        attribute.SIGN: True,
                        attribute.VERIFY: True,
                        **self._private(),
                    }
                )
                imported.append(label)
        return imported

    def key_objects(self) -> list[dict[str, Any]]:
        """Every PAX key object in the token with its custody attributes (for tests and ``keys status``)."""
        pkcs11 = pkcs11_module()
        attribute = pkcs11.Attribute
        found = []
        with self.sessions.lease() as lease:
            for object_class in (pkcs11.ObjectClass.SECRET_KEY, pkcs11.ObjectClass.PRIVATE_KEY):
                for obj in lease.session.get_objects({attribute.CLASS: object_class}):
                    if obj.label.startswith("pax:"):
                        found.append(
                            {
                                "label": obj.label,
                                "extractable": bool(obj[attribute.EXTRACTABLE]),
                                "sensitive": bool(obj[attribute.SENSITIVE]),
                                "object": obj,
                            }
                        )
        return found


def load(config: Any, legacy: Keyring | None) -> Pkcs11Backend:
    """The backend described by the settings; the PIN from ``PAX_PKCS11_PIN_FILE`` or ``PAX_PKCS11_PIN``."""
    return Pkcs11Backend(
        module=config["PKCS11_MODULE"],
        token_label=config["PKCS11_TOKEN_LABEL"],
        pin=config["PKCS11_PIN"],
        pool_size=config["PKCS11_POOL_SIZE"],
        legacy=legacy,
    )
