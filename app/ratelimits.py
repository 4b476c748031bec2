"""Rate limits that survive their store going away.

With ``PAX_REDIS_URL`` the limits are counted in Redis, shared by every app server. When Redis
cannot be reached, Flask-Limiter's in-memory fallback counts them in each process instead
(``RATELIMIT_IN_MEMORY_FALLBACK_ENABLED``), so sign-in and the API keep answering; it checks
Redis again with a growing pause (at most about half a minute) and goes back to it by itself.
While Redis stays away a warning is logged once a minute, not once a request. The sign-in
lockout of addresses that name no account (``app.auth.throttle``) uses ``resilient_storage`` for
the same behaviour.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, Response
from limits.storage import MemoryStorage, Storage, storage_from_string

log = logging.getLogger("pax.ratelimits")

#: Seconds between two warnings while the rate-limit store stays unreachable.
#: Times in rate-limit, throttling and lockout messages are Brussels time, as the Alliance's meetings are.
BRUSSELS = ZoneInfo("Europe/Brussels")
WARN_EVERY = 60.0
#: How long a request waits for Redis before counting in-process instead (seconds).
REDIS_TIMEOUT = 0.5


class _Warning:
    """One warning per ``WARN_EVERY`` for the whole process, whoever notices the outage."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = float("-inf")
        self.down = False

    def store_down(self, detail: str) -> None:
        now = time.monotonic()
        with self._lock:
            self.down = True
            if now - self._last < WARN_EVERY:
                return
            self._last = now
        log.warning(
            "rate-limit store unreachable (%s): limits are counted in this process until it returns", detail[:200]
        )

    def store_back(self) -> None:
        with self._lock:
            was_down, self.down = self.down, False
            self._last = float("-inf")
        if was_down:
            log.warning("rate-limit store reachable again: limits are shared through it again")


WARNING = _Warning()


def configure(app: Flask) -> None:
    """Settings for ``limiter.init_app``: the in-memory fallback, and short Redis timeouts so that
    an unreachable Redis costs a request half a second at most, once."""
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    if str(app.config.get("RATELIMIT_STORAGE_URI", "")).startswith(("redis://", "rediss://", "redis+")):
        app.config.setdefault(
            "RATELIMIT_STORAGE_OPTIONS", {"socket_connect_timeout": REDIS_TIMEOUT, "socket_timeout": REDIS_TIMEOUT}
        )


def watch(app: Flask, limiter: Any) -> None:
    """After ``limiter.init_app``: warn (once a minute) while the limiter counts in memory."""
    # A new application starts on its store (several apps share the limiter in tests and tools).
    limiter._storage_dead = False

    @app.after_request
    def _rate_limit_store_state(response: Response) -> Response:
        if getattr(limiter, "_storage_dead", False):
            WARNING.store_down("Flask-Limiter fell back to in-memory counting")
        elif WARNING.down and limiter.enabled:
            WARNING.store_back()
        return response


class ResilientStorage:
    """A ``limits`` storage that answers from process memory while the configured one is down."""

    def __init__(self, primary: Storage) -> None:
        self.primary = primary
        self.memory = MemoryStorage()

    def _call(self, name: str, *args: Any) -> Any:
        try:
            return getattr(self.primary, name)(*args)
        except Exception as exc:  # Redis down, timed out, refused: count here instead
            WARNING.store_down(f"{type(exc).__name__}: {exc}")
            return getattr(self.memory, name)(*args)

    def get(self, key: str) -> int:
        return int(self._call("get", key))

    def get_expiry(self, key: str) -> float:
        return float(self._call("get_expiry", key))

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        return int(self._call("incr", key, expiry, amount))

    def clear(self, key: str) -> None:
        self._call("clear", key)


def resilient_storage(app: Flask) -> ResilientStorage:
    """The rate-limit store named by ``RATELIMIT_STORAGE_URI``, falling back to process memory."""
    uri = app.config.get("RATELIMIT_STORAGE_URI") or "memory://"
    return ResilientStorage(storage_from_string(uri, **(app.config.get("RATELIMIT_STORAGE_OPTIONS") or {})))


def local_time(moment: datetime | float) -> str:
    """``09:14`` in Brussels time, for messages."""
    if not isinstance(moment, datetime):
        moment = datetime.fromtimestamp(moment, UTC)
    return moment.astimezone(BRUSSELS).strftime("%H:%M")
