"""Conditional requests in the API: an item's version as a strong ``ETag``, and ``If-Match``
honoured (412 when it names another version), so a client cannot overwrite a change it has not seen.

The version is the one ``app.concurrency`` compares and sets on every save.
"""

from __future__ import annotations

import hashlib
from typing import Any

from flask import Response, request

from app.concurrency import describe
from app.errors import ApiError

PRECONDITION_FAILED = (
    "This {what} has changed since the version your If-Match names (it is now {etag}); "
    "fetch it again and resend your change."
)


def etag(item: Any, parts: Any = None) -> str:
    """The item's entity tag: strong, so ``If-Match`` may use it (RFC 9110 8.8.3).

    ``parts``: the versions of what the representation shows besides the item itself (a
    meeting's agenda), folded into the tag so that a change to any of them changes it.
    """
    if parts is None:
        return f'"v{item.version}"'
    digest = hashlib.sha256(repr(parts).encode()).hexdigest()[:12]
    return f'"v{item.version}-{digest}"'


def with_etag(response: Response, item: Any, parts: Any = None) -> Response:
    response.headers["ETag"] = etag(item, parts)
    return response


def check_if_match(item: Any, parts: Any = None) -> None:
    """Honour ``If-Match``: absent means no precondition; ``*`` or the current tag passes; anything
    else is 412. A weakened copy of our tag (``W/"v3"``, as some proxies make) matches too."""
    header = request.headers.get("If-Match")
    if header is None:
        return
    current = etag(item, parts)
    tags = [t.strip().removeprefix("W/") for t in header.split(",")]
    if "*" in tags or current in tags:
        return
    raise ApiError(412, PRECONDITION_FAILED.format(what=describe(item), etag=current), code="precondition_failed")
