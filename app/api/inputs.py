"""Reading what an API caller sends: query parameters and JSON bodies, refused with the uniform error.

Query parameters are checked strictly (digits only for numbers, exact enum values) and every bad
one is named in ``fields``. JSON bodies must be declared as JSON (415), fit in ``JSON_MAX_BYTES``
(413), parse as strict JSON (400: no NaN, no Infinity) and be an object (422). Then
``app.validation.unsafe_text_errors`` refuses strings no backend can store or the validators choke on, so
nothing a caller sends reaches the database as an unhandled error.
"""

from __future__ import annotations

import json
import re
from typing import Any

import sqlalchemy as sa
from flask import abort, current_app, request
from flask_babel import format_number
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.clusters.models import Cluster, PostType
from app.clusters.queries import PostFilter
from app.clusters.search import MAX_QUERY
from app.clusters.validation import TAG_RE
from app.errors import ApiError
from app.extensions import db
from app.files.uploads import UploadRefused
from app.markings import Tlp
from app.routing import MAX_ID, SLUG
from app.validation import unsafe_text_errors

DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 100
MAX_PAGE = 100_000
#: A post's Markdown is at most 100,000 characters; JSON escapes may use 12 bytes for one of them.
JSON_MAX_BYTES = 2 * 1024 * 1024

_NUMBER = re.compile(r"[0-9]{1,9}")
#: ISO 6346 is written with the 26 letters and 10 digits only (spaces are separators).

VALIDATION_MESSAGE = _l("Some of the values sent are not valid; see fields.")


def _int_arg(name: str, default: int, low: int, high: int, errors: dict[str, str]) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not _NUMBER.fullmatch(raw) or not low <= int(raw) <= high:
        errors[name] = _(
            "Give a whole number from %(low)s to %(high)s.", low=format_number(low), high=format_number(high)
        )
        return default
    return int(raw)


def pagination(errors: dict[str, str]) -> tuple[int, int]:
    """``page`` (from 1) and ``per_page`` (1 to 100, default 20)."""
    page = _int_arg("page", 1, 1, MAX_PAGE, errors)
    per_page = _int_arg("per_page", DEFAULT_PER_PAGE, 1, MAX_PER_PAGE, errors)
    return page, per_page


def cluster_id_from_slug(slug: str, errors: dict[str, str]) -> int | None:
    cluster_id = db.session.scalar(sa.select(Cluster.id).where(Cluster.slug == slug)) if SLUG.fullmatch(slug) else None
    if cluster_id is None:
        slugs = db.session.scalars(sa.select(Cluster.slug).order_by(Cluster.position)).all()
        errors["cluster"] = _("Unknown cluster; choose one of: %(slugs)s.", slugs=", ".join(slugs))
    return cluster_id


def post_filters(errors: dict[str, str]) -> PostFilter:
    """``cluster`` (slug), ``type``, ``tlp`` and ``tag`` as a feed filter."""
    filters = PostFilter()
    args = request.args
    if cluster := args.get("cluster"):
        filters.cluster_id = cluster_id_from_slug(cluster, errors)
    if type_ := args.get("type"):
        if type_ in PostType.values():
            filters.type = PostType(type_)
        else:
            errors["type"] = _("Choose one of: %(values)s.", values=", ".join(PostType.values()))
    if tlp := args.get("tlp"):
        # An unencoded '+' in a query string arrives as a space.
        tlp = tlp.replace(" ", "+")
        if tlp in Tlp.values():
            filters.tlp = Tlp(tlp)
        else:
            errors["tlp"] = _("Choose one of: %(values)s (encode '+' as %%2B).", values=", ".join(Tlp.values()))
    if tag := args.get("tag"):
        tag = tag.strip().lower().lstrip("#")
        if TAG_RE.fullmatch(tag):
            filters.tag = tag
        else:
            errors["tag"] = _("A tag has letters, digits and hyphens, at most 40.")
    return filters


def query_text(errors: dict[str, str], required: bool = False) -> str | None:
    """The ``q`` parameter: words to search for, at most 500 characters."""
    q = (request.args.get("q") or "").strip()
    if len(q) > MAX_QUERY:
        errors["q"] = _("Search for at most %(max)s characters.", max=MAX_QUERY)
        return None
    if not q:
        if required:
            errors["q"] = _("Give the words to search for.")
        return None
    return q


def raise_if(errors: dict[str, str], message: Any = VALIDATION_MESSAGE) -> None:
    if errors:
        raise ApiError(422, str(message), errors)


# --- JSON bodies ---------------------------------------------------------------------------------


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not allowed in JSON")


def json_object() -> dict[str, Any]:
    """The request's JSON object, or the uniform error saying what is wrong with the body."""
    if not request.is_json:
        raise ApiError(415, _("Send the body as JSON, and declare it as JSON in the request's headers."))
    app_limit = current_app.config.get("MAX_CONTENT_LENGTH")
    request.max_content_length = min(app_limit, JSON_MAX_BYTES) if app_limit else JSON_MAX_BYTES
    data = request.get_data(cache=False)  # 413 past the limit
    if not data.strip():
        raise ApiError(400, _("The request body is empty: send a JSON object."))
    try:
        value = json.loads(data, parse_constant=_no_constants)
    except RecursionError:
        raise ApiError(400, _("The JSON is nested too deeply.")) from None
    except ValueError as exc:  # JSONDecodeError, bad UTF-8, oversized integers
        raise ApiError(400, _("The request body is not valid JSON: %(reason)s", reason=exc)[:300]) from None
    if not isinstance(value, dict):
        raise ApiError(422, _("Send a JSON object."), {"_": _json_type(value)})
    errors = unsafe_text_errors(value)
    raise_if(errors)
    return value


def _json_type(value: Any) -> str:
    """Why the body is not an object, as a whole sentence per kind of JSON value."""
    if value is None:
        return _("Expected a JSON object, got null.")
    if isinstance(value, bool):
        return _("Expected a JSON object, got a boolean.")
    if isinstance(value, int | float):
        return _("Expected a JSON object, got a number.")
    if isinstance(value, str):
        return _("Expected a JSON object, got a string.")
    if isinstance(value, list):
        return _("Expected a JSON object, got an array.")
    return _("Expected a JSON object, got an object.")


def id_or_404(raw: str) -> int:
    """An id from the URL (post, attachment, meeting...); anything that cannot be an id is simply not found."""
    if not _NUMBER.fullmatch(raw) or not 1 <= int(raw) <= MAX_ID:
        abort(404)
    return int(raw)


def upload_refused(exc: UploadRefused, invalid: str | None = None) -> ApiError:
    """The uniform error for a refused upload: refused form fields are named (with ``invalid`` as
    the message), a refused file is ``file``; a refusal of the caller or the store names nothing."""
    if exc.fields:
        return ApiError(exc.status, invalid or _("The upload is not valid; see fields."), exc.fields)
    message = str(exc.message)
    return ApiError(exc.status, message, {} if exc.status in (403, 503, 507) else {"file": message})
