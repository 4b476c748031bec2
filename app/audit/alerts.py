"""Security alerts an operator's SIEM can act on: one account refused again and again, or taking
many files in a short time (ASVS 5.0 V16).

Each kind counts per account in the rate-limit storage (Redis with ``PAX_REDIS_URL``, so every
app server adds to the same count; process memory while Redis is away, as for rate limits):

- ``refusals``: answers of the access policy refusing the account (404 for an item it may not
  see, 403 for an action it may not do; ``access.refused`` events), ``PAX_ALERT_REFUSALS``
  within ``PAX_ALERT_REFUSALS_WINDOW_MINUTES``;
- ``downloads``: files handed out (an attachment, a meeting document, each document of a
  meeting pack), ``PAX_ALERT_DOWNLOADS`` within ``PAX_ALERT_DOWNLOADS_WINDOW_MINUTES``.

The window slides (the previous fixed window's count is weighted by how much of it the sliding
window still covers), so a burst across a window's boundary is not missed. Reaching the
threshold raises one alert, and no other alert of that kind for that account until a whole
window has passed: a ``security.alert`` audit event and one WARNING line on the ``pax.security``
logger, ``security.alert kind=<kind> account=<user id> organisation=<id> count=<n>
threshold=<n> window_minutes=<n>``. Neither carries content, names or secrets.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from flask import current_app, g, has_request_context, request

from app.audit.services import record, record_apart
from app.ratelimits import ResilientStorage, resilient_storage

log = logging.getLogger("pax.security")
#: The clock the windows are counted on (tests move it).
now = time.time

#: kind -> (threshold setting, window setting in minutes).
KINDS = {
    "refusals": ("ALERT_REFUSALS", "ALERT_REFUSALS_WINDOW_MINUTES"),
    "downloads": ("ALERT_DOWNLOADS", "ALERT_DOWNLOADS_WINDOW_MINUTES"),
}


def _storage() -> ResilientStorage:
    store = current_app.extensions.get("pax_alert_counters")
    if store is None:
        store = resilient_storage(current_app)
        current_app.extensions["pax_alert_counters"] = store
    return store


def _key(*parts: Any) -> str:
    prefix = current_app.config.get("RATELIMIT_KEY_PREFIX") or ""
    return prefix + "pax-alert:" + ":".join(str(p) for p in parts)


def observe(kind: str, actor: Any, amount: int = 1, *, apart: bool = False) -> bool:
    """Count ``amount`` events of ``kind`` for ``actor`` (an account; anonymous events are not
    counted) and raise the alert when the count in the sliding window reaches the threshold.
    ``apart``: write the alert in a transaction of its own (the request is being refused and
    rolled back); otherwise it is kept with the request's own writes. Whether an alert was raised."""
    threshold_setting, window_setting = KINDS[kind]
    threshold = int(current_app.config.get(threshold_setting, 0))
    actor_id = getattr(actor, "id", None)
    if threshold <= 0 or actor_id is None or amount <= 0:
        return False
    minutes = int(current_app.config[window_setting])
    window = minutes * 60
    moment = now()
    start = int(moment // window) * window
    store = _storage()
    current = store.incr(_key(kind, actor_id, start), 2 * window, amount)
    previous = store.get(_key(kind, actor_id, start - window))
    count = int(previous * (1 - (moment - start) / window)) + current
    if count < threshold:
        return False
    # One alert per account and kind per window: the first to take the marker raises it.
    if store.incr(_key(kind, actor_id, "raised"), window) != 1:
        return False
    _raise(kind, actor, count, threshold, minutes, apart)
    return True


def _raise(kind: str, actor: Any, count: int, threshold: int, minutes: int, apart: bool) -> None:
    org_id = getattr(actor, "organisation_id", None)
    details = {"kind": kind, "count": count, "threshold": threshold, "window_minutes": minutes}
    log.warning(
        "security.alert kind=%s account=%s organisation=%s count=%d threshold=%d window_minutes=%d",
        kind,
        actor.id,
        org_id,
        count,
        threshold,
        minutes,
    )
    target = ("user", actor.id)
    if apart:
        record_apart("security.alert", actor=actor, target=target, target_org=org_id, outcome="ok", **details)
    else:
        record("security.alert", actor=actor, target=target, target_org=org_id, **details)


def request_actor() -> Any:
    """The account behind this request: an API token's owner, else the signed-in member, else None."""
    if not has_request_context():
        return None
    if (api_user := g.get("api_user")) is not None:
        return api_user
    from flask_login import current_user

    return current_user if getattr(current_user, "is_authenticated", False) else None


def access_refused(
    actor: Any, status: int, target: tuple[str, Any] | None = None, need: str | None = None, reason: str | None = None
) -> None:
    """The access policy refused ``actor`` (``status`` 403 or 404): an ``access.refused`` event
    (denied; what was asked for, never its content) in a transaction of its own, since the
    request is answered with an error and rolled back; and one more towards the refusals alert.
    Called by the error handlers once the request's own changes are rolled back."""
    actor = actor if getattr(actor, "is_authenticated", False) else None
    if target is not None:  # an id from the address (a cluster's slug) may be anything: bounded
        target = (str(target[0])[:32], str(target[1])[:64])
    record_apart(
        "access.refused",
        actor=actor,
        target=target,
        outcome="denied",
        status=status,
        need=need,
        reason=reason,
        endpoint=request.endpoint if has_request_context() else None,
    )
    if actor is not None:
        try:
            observe("refusals", actor, apart=True)
        except Exception:  # an alert that cannot be counted must not turn a refusal into a 500
            log.exception("could not count a refusal towards the security alerts")


def downloaded(actor: Any, files: int = 1) -> None:
    """``actor`` is handed ``files`` files in this request (its audit event is written with it)."""
    try:
        observe("downloads", actor, files)
    except Exception:
        log.exception("could not count a download towards the security alerts")
