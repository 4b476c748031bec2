"""The optional breached-password check (ASVS 5.0 v5.0.0-6.2.12): Have I Been Pwned's Pwned
Passwords range API, by k-anonymity.

Off unless ``BREACHED_PASSWORD_CHECK``. The SHA-1 of the password is computed here; only its
first 5 hexadecimal digits are sent (``BREACHED_PASSWORD_URL`` + ``/`` + prefix, with
``Add-Padding: true``), and the answer, every known suffix with its count (``SUFFIX:COUNT``
lines, padding entries counting 0), is searched here. The password, its hash and the prefix are
never logged. The request goes through the outbound guard (``app.outbound``), so an internal
mirror on a private network must be listed in ``OUTBOUND_ALLOW_NETWORKS``.

When the service cannot be reached or answers wrongly, the check fails open: the password is
judged by the other rules alone and a warning is logged. A member setting a password after a
reset or an invitation would otherwise be locked out by a third party's outage, and the rules
that always apply (length, common passwords, context words) still hold.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from urllib.parse import urlsplit

import requests
from flask import current_app, has_app_context

from app.outbound import OutboundRefused, current_policy, guard

log = logging.getLogger("pax.auth")

DEFAULT_URL = "https://api.pwnedpasswords.com/range"


def breach_count(password: str) -> int | None:
    """How many times ``password`` appears in the breach corpus (0: not found), or None when the
    check is off or could not be made (outside an app, service unreachable, answer unreadable)."""
    if not has_app_context() or not current_app.config.get("BREACHED_PASSWORD_CHECK"):
        return None
    digest = hashlib.sha1(password.encode("utf-8"), usedforsecurity=False).hexdigest().upper()
    prefix, suffix = digest[:5], digest[5:]
    base = str(current_app.config["BREACHED_PASSWORD_URL"]).rstrip("/")
    host = urlsplit(base).hostname or "?"
    policy = dataclasses.replace(
        current_policy(), timeout=float(current_app.config["BREACHED_PASSWORD_TIMEOUT_SECONDS"])
    )
    try:
        with guard(requests.Session(), policy) as session:
            response = session.get(
                f"{base}/{prefix}", headers={"Add-Padding": "true", "User-Agent": "PAX-password-check"}
            )
            response.raise_for_status()
            lines = response.text.splitlines()
    except (OutboundRefused, requests.RequestException, UnicodeDecodeError) as exc:
        reason = exc.reason if isinstance(exc, OutboundRefused) else type(exc).__name__
        log.warning("breached-password check at %s failed (%s): password judged without it", host, reason)
        return None
    counts = {}
    for line in lines:
        candidate, _, count = line.strip().partition(":")
        if len(candidate) == 35 and count.strip().isdigit():
            counts[candidate.upper()] = int(count)
    if not counts:
        log.warning("breached-password check at %s gave no range list: password judged without it", host)
        return None
    return counts.get(suffix, 0)
