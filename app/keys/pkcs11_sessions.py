"""Sessions to a PKCS#11 token, pooled per process (one gunicorn worker), for ``app.keys.pkcs11``.

Each operation borrows a logged-in session and the key objects already looked up through it; a
session that fails because the token went away is dropped, and the next operation finds the
token and logs in afresh, so a token that comes back is used again without a restart. The module
is loaded, the token found and the PIN checked on first use (``check`` at start-up).
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any, TypeVar

from app.keys.backend import KeyMissing, KeyUnavailable

T = TypeVar("T")

#: python-pkcs11 initialises the module with ``C_Initialize(NULL)``: by the standard, the process
#: then promises not to call it from two threads at once (SoftHSM2 turns its own locking off and
#: crashes otherwise). Every call into the token holds this lock; each call takes microseconds,
#: and gunicorn's sync workers are processes, each with its own module and sessions.
_CALLS = threading.RLock()


def pkcs11_module() -> Any:
    try:
        import pkcs11
    except ImportError as exc:  # pragma: no cover - pinned in requirements.txt
        raise KeyUnavailable("python-pkcs11 is not installed") from exc
    return pkcs11


def token_trouble() -> tuple[type[BaseException], ...]:
    """Errors that say the token or the session is gone, not that one operation's input was bad."""
    exc = pkcs11_module().exceptions
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


def _find_token(lib: Any, label: str) -> Any:
    """The token labelled ``label``, slot by slot: a slot whose token was just removed fails on its
    own (SoftHSM2 says CKR_GENERAL_ERROR) without hiding the others."""
    pkcs11 = pkcs11_module()
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


class Lease:
    """One logged-in session and the key objects already looked up through it."""

    def __init__(self, session: Any):
        self.session = session
        self.objects: dict[tuple[str, str], Any] = {}


class TokenSessions:
    """The pool of sessions to one token."""

    def __init__(self, module: str, token_label: str, pin: str, pool_size: int = 4) -> None:
        self.module = module
        self.token_label = token_label
        self._pin = pin
        self.pool_size = pool_size
        self._idle: queue.LifoQueue[Lease] = queue.LifoQueue()
        self._open = 0
        self._lock = threading.Lock()
        self._token: Any = None
        self._login: Any = None

    def _get_token(self) -> Any:
        pkcs11 = pkcs11_module()
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
        pkcs11 = pkcs11_module()
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

    def _new_lease(self) -> Lease:
        pkcs11 = pkcs11_module()
        with self._lock:
            self._log_in()
        try:
            session = self._get_token().open(rw=True)
        except pkcs11.exceptions.PKCS11Error as exc:
            self._token = self._login = None
            raise KeyUnavailable(f"the token {self.token_label!r} cannot be opened ({type(exc).__name__})") from exc
        return Lease(session)

    @contextmanager
    def lease(self) -> Iterator[Lease]:
        with _CALLS, self._leased() as lease:
            yield lease

    @contextmanager
    def _leased(self) -> Iterator[Lease]:
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
        except token_trouble() as exc:
            self._discard(lease)
            raise KeyUnavailable(f"the token {self.token_label!r} is unavailable ({type(exc).__name__})") from exc
        except BaseException:
            self._idle.put(lease)
            raise
        else:
            self._idle.put(lease)

    def _discard(self, lease: Lease) -> None:
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

    def with_key(self, label: str, operation: Callable[[Any], T], object_class: str = "SECRET_KEY") -> T:
        pkcs11 = pkcs11_module()
        with self.lease() as lease:
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
        with self.lease():
            pass
