"""Conditional requests in the API: an item's version as a strong ``ETag``, and ``If-Match``
honoured (412 when it names another version), so a client cannot overwrite a change it has not seen.

The version is the one ``app.concurrency`` compares and sets on every save.
"""

from __future__ import annotations

import hashlib
from typing import Any

from flask import Response, request
from flask_babel import gettext

from app.concurrency import describe
from app.errors import ApiError


def N_(text: str) -> str:
    """Marks a msgid for extraction; ``gettext`` translates it where it is used."""
    return text


PRECONDITION_FAILED = (
    "This {what} has changed since the version your If-Match names (it is now {etag}); "
    "fetch it again and resend your change."
)
#: ``PRECONDITION_FAILED`` per kind of item the API serves, each a whole sentence to translate.
PRECONDITION_FAILED_TEXTS: dict[str, str] = {
    "post": N_(
        "This post has changed since the version your If-Match names (it is now %(etag)s); fetch it again and "
        "resend your change."
    ),
    "attachment": N_(
        "This attachment has changed since the version your If-Match names (it is now %(etag)s); fetch it "
        "again and resend your change."
    ),
    "meeting": N_(
        "This meeting has changed since the version your If-Match names (it is now %(etag)s); fetch it again "
        "and resend your change."
    ),
    "meeting document": N_(
        "This meeting document has changed since the version your If-Match names (it is now %(etag)s); fetch "
        "it again and resend your change."
    ),
    "workplan item": N_(
        "This workplan item has changed since the version your If-Match names (it is now %(etag)s); fetch it "
        "again and resend your change."
    ),
}


def precondition_failed(what: str, current: str) -> str:
    text = PRECONDITION_FAILED_TEXTS.get(what)
    if text is None:
        return PRECONDITION_FAILED.format(what=what, etag=current)
    return gettext(text, etag=current)


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
    raise ApiError(412, precondition_failed(describe(item), current), code="precondition_failed")
