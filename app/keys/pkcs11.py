"""The PKCS#11 key backend: every PAX key lives in a token (an HSM, or SoftHSM2) and never leaves it.

Keys are found by label, all created with ``CKA_TOKEN=true``, ``CKA_SENSITIVE=true`` and
``CKA_EXTRACTABLE=false``, so the token uses them but never hands out their bytes:

    pax:kek:<kid>              AES-256, CKM_AES_GCM (data-key wrapping and sealed secrets)
    pax:hmac:<purpose>         generic secret, CKM_SHA256_HMAC (audit chain, match index)
    pax:hmac-file:<purpose>    the keyring file's HMAC key, imported by ``keys migrate`` so audit
                               records and recovery-code hashes made before the move still verify
    pax:ed25519                Ed25519 key pair, CKM_EDDSA (pack manifests)

The active KEK is the newest ``pax:kek:`` (ids sort by creation time). Sessions are pooled per
process (one gunicorn worker): each operation borrows a logged-in session, and a session that
fails because the token went away is dropped, so the next request tries the token afresh.
Until ``keys migrate --to pkcs11`` has finished, the keyring file (``PAX_KEYS_FILE``), when
present, still opens what it wrapped; nothing new is ever made under it.
"""

from __future__ import annotations

import os
import queue
import secrets
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from typing import Any, TypeVar

from app.keys.backend import FILE, HMAC_PURPOSES, PKCS11, KeyMissing, KeyUnavailable
from app.keys.keyring import Keyring

KEK_PREFIX = "pax:kek:"
HMAC_PREFIX = "pax:hmac:"
LEGACY_HMAC_PREFIX = "pax:hmac-file:"
ED25519_LABEL = "pax:ed25519"
KID_PREFIX = "hsm-"
_ED25519_OID = "1.3.101.112"

T = TypeVar("T")

#: python-pkcs11 initialises the module with ``C_Initialize(NULL)``: by the standard, the process
#: then promises not to call it from two threads at once (SoftHSM2 turns its own locking off and
#: crashes otherwise). Every call into the token holds this lock; each call takes microseconds,
#: and gunicorn's sync workers are processes, each with its own module and sessions.
_CALLS = threading.RLock()


def _pkcs11() -> Any:
    try:
        import pkcs11
    except ImportError as exc:  # pragma: no cover - pinned in requirements.txt
        raise KeyUnavailable("python-pkcs11 is not installed") from exc
    return pkcs11


def _token_trouble() -> tuple[type[BaseException], ...]:
    """Errors that say the token or the session is gone, not that one operation's input was bad."""
    exc = _pkcs11().exceptions
    return (
        exc.TokenNotPresent,
        exc.TokenNotRecognised,
        exc.DeviceRemoved,
        exc.DeviceError,
        exc.DeviceMemory,
        exc.SessionClosed,
        exc.SessionHandleInvalid,
        exc.UserNotLoggedIn,
        exc.PinIncorrect,
        exc.PinLocked,
        exc.PinExpired,
        exc.NoSuchToken,
    )


def new_kid() -> str:
    return f"{KID_PREFIX}{datetime.now(UTC):%Y%m%d%H%M%S}-{secrets.token_hex(3)}"


def kid_created(kid: str) -> str:
    try:
        return datetime.strptime(kid[len(KID_PREFIX) :].split("-")[0], "%Y%m%d%H%M%S").replace(tzinfo=UTC).isoformat()
    except ValueError:
        return ""


def _find_token(lib: Any, label: str) -> Any:
    """The token labelled ``label``, slot by slot: a slot whose token was just removed fails on its
    own (SoftHSM2 says CKR_GENERAL_ERROR) without hiding the others."""
    pkcs11 = _pkcs11()
    try:
        slots = lib.get_slots(token_present=True)
    except pkcs11.exceptions.PKCS11Error as exc:
        raise KeyUnavailable(f"the PKCS#11 module lists no slots ({type(exc).__name__})") from exc
    for slot in slots:
        try:
            token = slot.get_token()
        except pkcs11.exceptions.PKCS11Error:
            continue
        if token.label == label:
            return token
    raise KeyUnavailable(f"no token labelled {label!r} is present")


class _Lease:
    """One logged-in session and the key objects already looked up through it."""

    def __init__(self, session: Any):
        self.session = session
        self.objects: dict[tuple[str, str], Any] = {}


class Pkcs11Backend:
    """``app.keys.backend.KeyBackend`` over a PKCS#11 token."""

    kind = PKCS11

    def __init__(
        self, module: str, token_label: str, pin: str, pool_size: int = 4, legacy: Keyring | None = None
    ) -> None:
        self.module = module
        self.token_label = token_label
        self._pin = pin
        self.pool_size = pool_size
        #: The keyring file of an installation being moved to the token; None once it is gone.
        self.legacy = legacy
        self._idle: queue.LifoQueue[_Lease] = queue.LifoQueue()
        self._open = 0
        self._lock = threading.Lock()
        self._token: Any = None
        self._login: Any = None

    # --- sessions ---------------------------------------------------------------------------------

    def _get_token(self) -> Any:
        pkcs11 = _pkcs11()
        if self._token is None:
            if not os.path.isfile(self.module):
                raise KeyUnavailable(f"the PKCS#11 module {self.module} does not exist")
            try:
                lib = pkcs11.lib(self.module)
            except (RuntimeError, OSError) as exc:
                raise KeyUnavailable(f"the PKCS#11 module {self.module} does not load") from exc
            self._token = _find_token(lib, self.token_label)
        return self._token

    def _log_in(self) -> None:
        """Log the process in to the token once. PKCS#11 login belongs to the process, not to a
        session: the pooled sessions are opened without the PIN and share it, and this session is
        never closed (closing a logged-in session logs every session out)."""
        pkcs11 = _pkcs11()
        if self._login is not None:
            return
        try:
            self._login = self._get_token().open(user_pin=self._pin, rw=True)
        except pkcs11.exceptions.UserAlreadyLoggedIn:
            self._login = "logged in by another backend of this process"
        except pkcs11.exceptions.PinIncorrect as exc:
            raise KeyUnavailable(f"the token {self.token_label!r} refuses the PIN") from exc
        except pkcs11.exceptions.PinLocked as exc:
            raise KeyUnavailable(f"the token {self.token_label!r} has locked its user PIN") from exc
        except pkcs11.exceptions.PKCS11Error as exc:
            self._token = None
            raise KeyUnavailable(f"the token {self.token_label!r} cannot be opened ({type(exc).__name__})") from exc

    def _new_lease(self) -> _Lease:
        pkcs11 = _pkcs11()
        with self._lock:
            self._log_in()
        try:
            session = self._get_token().open(rw=True)
        except pkcs11.exceptions.PKCS11Error as exc:
            self._token = self._login = None
            raise KeyUnavailable(f"the token {self.token_label!r} cannot be opened ({type(exc).__name__})") from exc
        return _Lease(session)

    @contextmanager
    def _lease(self) -> Iterator[_Lease]:
        with _CALLS, self._leased() as lease:
            yield lease

    @contextmanager
    def _leased(self) -> Iterator[_Lease]:
        try:
            lease = self._idle.get_nowait()
        except queue.Empty:
            with self._lock:
                grow = self._open < self.pool_size
                if grow:
                    self._open += 1
            if grow:
                try:
                    lease = self._new_lease()
                except BaseException:
                    with self._lock:
                        self._open -= 1
                    raise
            else:
                try:
                    lease = self._idle.get(timeout=10)
                except queue.Empty:
                    raise KeyUnavailable("every session to the token is busy") from None
        try:
            yield lease
        except _token_trouble() as exc:
            self._discard(lease)
            raise KeyUnavailable(f"the token {self.token_label!r} is unavailable ({type(exc).__name__})") from exc
        except BaseException:
            self._idle.put(lease)
            raise
        else:
            self._idle.put(lease)

    def _discard(self, lease: _Lease) -> None:
        with self._lock:
            self._open -= 1
        # The session may be gone with the token already: closing it is best effort.
        with suppress(Exception):
            lease.session.close()
        # Find the token and log in afresh next time: a removed token may come back in another slot.
        self._token = self._login = None

    def close(self) -> None:
        """Close every idle session (tests; a worker's exit closes the rest)."""
        while True:
            try:
                lease = self._idle.get_nowait()
            except queue.Empty:
                return
            self._discard(lease)

    def _with_key(self, label: str, operation: Callable[[Any], T], object_class: str = "SECRET_KEY") -> T:
        pkcs11 = _pkcs11()
        with self._lease() as lease:
            for attempt in (1, 2):
                key = lease.objects.get((label, object_class))
                if key is None:
                    try:
                        key = lease.session.get_key(object_class=getattr(pkcs11.ObjectClass, object_class), label=label)
                    except pkcs11.exceptions.NoSuchKey:
                        raise KeyMissing(f"the token holds no key {label}") from None
                    lease.objects[(label, object_class)] = key
                try:
                    return operation(key)
                except (pkcs11.exceptions.ObjectHandleInvalid, pkcs11.exceptions.KeyHandleInvalid):
                    # Destroyed by another process (a retired KEK): look it up again once.
                    lease.objects.pop((label, object_class), None)
                    if attempt == 2:
                        raise KeyMissing(f"the token no longer holds key {label}") from None
        raise AssertionError("unreachable")

    def check(self) -> None:
        """Open a session now: a start-up error names the missing module, token or wrong PIN."""
        with self._lease():
            pass

    # --- the interface ------------------------------------------------------------------------------

    @property
    def description(self) -> str:
        return f"PKCS#11 token {self.token_label!r} via {self.module}"

    def _labels(self, prefix: str) -> list[str]:
        pkcs11 = _pkcs11()
        with self._lease() as lease:
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
        mechanism = _pkcs11().Mechanism.AES_GCM
        param = self._gcm(nonce, aad)
        return bytes(
            self._with_key(
                KEK_PREFIX + kid, lambda key: key.encrypt(plaintext, mechanism=mechanism, mechanism_param=param)
            )
        )

    def decrypt(self, kid: str, nonce: bytes, ciphertext: bytes, aad: bytes) -> bytes:
        if not kid.startswith(KID_PREFIX):
            if self.legacy is None:
                raise KeyMissing(f"KEK {kid} was in the keyring file, which is gone")
            return self.legacy.decrypt(kid, nonce, ciphertext, aad)
        pkcs11 = _pkcs11()
        mechanism = pkcs11.Mechanism.AES_GCM
        param = self._gcm(nonce, aad)

        def open_(key: Any) -> bytes:
            try:
                return bytes(key.decrypt(ciphertext, mechanism=mechanism, mechanism_param=param))
            except _token_trouble():
                raise
            except pkcs11.exceptions.PKCS11Error:
                # The tag does not verify (SoftHSM2 says CKR_GENERAL_ERROR, others ENCRYPTED_DATA_INVALID).
                raise ValueError("the sealed value does not open") from None

        return self._with_key(KEK_PREFIX + kid, open_)

    def hmac_sha256(self, purpose: str, data: bytes, custody: str | None = None) -> bytes:
        mechanism = _pkcs11().Mechanism.SHA256_HMAC
        if custody in (None, PKCS11):
            label = HMAC_PREFIX + purpose
        elif custody == FILE:
            label = LEGACY_HMAC_PREFIX + purpose
            if self.legacy is not None and label not in self._labels(LEGACY_HMAC_PREFIX):
                return self.legacy.hmac_sha256(purpose, data)
        else:
            raise KeyMissing(f"unknown key custody {custody}")
        return bytes(self._with_key(label, lambda key: key.sign(data, mechanism=mechanism)))

    def sign_ed25519(self, message: bytes) -> bytes:
        mechanism = _pkcs11().Mechanism.EDDSA
        return bytes(self._with_key(ED25519_LABEL, lambda key: key.sign(message, mechanism=mechanism), "PRIVATE_KEY"))

    def ed25519_public_key(self) -> bytes:
        pkcs11 = _pkcs11()

        def raw(key: Any) -> bytes:
            point = bytes(key[pkcs11.Attribute.EC_POINT])
            # CKA_EC_POINT is the DER OCTET STRING around the 32 bytes (04 20 ...), or the bytes themselves.
            return point[2:] if len(point) == 34 and point[:2] == b"\x04\x20" else point

        return self._with_key(ED25519_LABEL, raw, "PUBLIC_KEY")

    # --- creating keys (keys migrate, keys rotate) ---------------------------------------------------

    def _private(self) -> dict[Any, Any]:
        attribute = _pkcs11().Attribute
        return {attribute.TOKEN: True, attribute.SENSITIVE: True, attribute.EXTRACTABLE: False, attribute.PRIVATE: True}

    def add_kek(self) -> str:
        pkcs11 = _pkcs11()
        existing = self.token_kek_ids()
        kid = new_kid()
        while existing and kid <= existing[-1]:
            kid = new_kid()
        with self._lease() as lease:
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
        self._with_key(KEK_PREFIX + kid, lambda key: key.destroy())
        return True

    def ensure_keys(self) -> list[str]:
        """Create in the token whatever key is missing (a KEK, the HMAC keys, the signing pair);
        returns the labels created."""
        pkcs11 = _pkcs11()
        attribute = pkcs11.Attribute
        created: list[str] = []
        if not self.token_kek_ids():
            created.append(KEK_PREFIX + self.add_kek())
        present = set(self._labels("pax:"))
        with self._lease() as lease:
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
        pkcs11 = _pkcs11()
        attribute = pkcs11.Attribute
        present = set(self._labels(LEGACY_HMAC_PREFIX))
        imported = []
        with self._lease() as lease:
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
        pkcs11 = _pkcs11()
        attribute = pkcs11.Attribute
        found = []
        with self._lease() as lease:
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
