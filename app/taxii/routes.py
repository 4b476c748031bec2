"""TAXII 2.1 under /taxii2/ (README, "STIX and TAXII"): discovery, one API root ``pax``, its
collections, their objects, manifest and versions. Read only: nothing here accepts a POST.

Every view authenticates a personal access token with read scope (``app.api.auth``) and reads
through ``app.taxii.queries``, whose rows are ``app.policy.visible_posts`` of the token's owner.
Each pull (a page of objects or of a manifest, or one object) is one ``taxii.pull`` audit event
naming the STIX ids and post ids served, never their content; one object asked for by id is also
a ``post.view`` (via taxii) of its AMBER, AMBER+STRICT or RED post, as ``GET /api/v1/posts/{id}``
is. Errors are TAXII error objects (``taxii_errors``).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

from flask import Response, current_app, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import NotFound

from app.api.auth import api_user, token_required
from app.audit.services import record, record_view
from app.errors import ApiError
from app.taxii.blueprint import bp


class _OnFirstUse:
    """``app.taxii.queries`` imported at the first TAXII request, not when the portal starts:
    with ``stix2`` it weighs some 35 MiB, which every worker would carry for nothing."""

    def __getattr__(self, name: str) -> Any:
        from app.taxii import queries as loaded

        return getattr(loaded, name)


queries: Any = _OnFirstUse()

TAXII_MEDIA_TYPE = "application/taxii+json;version=2.1"
API_ROOT = "pax"
#: Objects in one page when the client names no limit, and the most it may ask for.
DEFAULT_LIMIT = 100
MAX_LIMIT = 500
_STIX_ID = re.compile(r"^[a-z][a-z0-9-]{1,62}--[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_ACCEPTABLE = ("application/taxii+json", "application/json", "*/*", "application/*")
COLLECTION = "/" + API_ROOT + "/collections/<collection_id>/"


def taxii(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    text = body if isinstance(body, str) else json.dumps(body)
    response = Response(text, status=status, headers=headers or {})
    response.headers["Content-Type"] = TAXII_MEDIA_TYPE
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.before_request
def _acceptable() -> None:
    """TAXII clients ask for ``application/taxii+json;version=2.1``; anything else they name is 406."""
    accept = request.headers.get("Accept", "")
    if accept and not any(kind in accept for kind in _ACCEPTABLE):
        raise ApiError(406, _("This service answers in %(media_type)s only.", media_type=TAXII_MEDIA_TYPE))
    if "version=" in accept and "version=2.1" not in accept and "*/*" not in accept:
        raise ApiError(406, _("This service speaks TAXII 2.1 only."))


@bp.route("/")
@token_required("read")
def discovery() -> Response:
    return taxii(
        {
            "title": "PAX, European Ports Alliance exchange",
            "description": "Incident notes and best practices as STIX 2.1, each token seeing what its owner may see.",
            "contact": current_app.config.get("SECURITY_CONTACT") or current_app.config["BASE_URL"],
            "default": f"/taxii2/{API_ROOT}/",
            "api_roots": [f"/taxii2/{API_ROOT}/"],
        }
    )


@bp.route(f"/{API_ROOT}/")
@token_required("read")
def api_root() -> Response:
    return taxii(
        {
            "title": "PAX",
            "description": "One collection per cluster, and one for law-enforcement-only notes. Read only.",
            "versions": [TAXII_MEDIA_TYPE],
            "max_content_length": int(current_app.config["MAX_CONTENT_LENGTH"]),
        }
    )


@bp.route(f"/{API_ROOT}/collections/")
@token_required("read")
def collections() -> Response:
    return taxii({"collections": [c.as_taxii() for c in queries.collections()]})


def _collection(collection_id: str) -> queries.Collection:
    found = queries.collection(collection_id)
    if found is None:
        raise ApiError(404, _("There is no such collection."))
    return found


@bp.route(COLLECTION)
@token_required("read")
def collection(collection_id: str) -> Response:
    return taxii(_collection(collection_id).as_taxii())


# --- parameters --------------------------------------------------------------------------------


def _timestamp(value: str, name: str) -> datetime:
    text = value.strip()
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})", text):
        raise ApiError(400, _("%(name)s must be a time such as 2026-01-31T12:00:00.000Z.", name=name))
    seconds, _dot, rest = text.partition(".")
    if rest:  # Python reads at most microseconds
        digits = re.match(r"\d+", rest).group(0)  # type: ignore[union-attr]
        text = f"{seconds}.{digits[:6].ljust(6, '0')}{rest[len(digits) :]}"
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
    except (ValueError, OverflowError):
        raise ApiError(400, _("%(name)s must be a time such as 2026-01-31T12:00:00.000Z.", name=name)) from None


def _listed(name: str) -> list[str] | None:
    values = [v.strip() for raw in request.args.getlist(name) for v in raw.split(",") if v.strip()]
    return values or None


def _filters(object_id: str | None = None) -> queries.Filters:
    from app.taxii.stix import TYPES, timestamp

    filters = queries.Filters()
    added_after = request.args.get("added_after")
    if added_after is not None:
        filters.added_after = _timestamp(added_after, "added_after")
    types = _listed("match[type]")
    if types is not None:
        unknown = sorted(set(types) - TYPES)
        if unknown:
            raise ApiError(
                400,
                _(
                    "This service has no objects of type %(type)s; it has %(types)s.",
                    type=repr(unknown[0][:40]),
                    types=", ".join(sorted(TYPES)),
                ),
            )
        filters.types = frozenset(types)
    ids = [object_id] if object_id is not None else _listed("match[id]")
    if ids is not None:
        if len(ids) > MAX_LIMIT or not all(_STIX_ID.fullmatch(value) for value in ids):
            raise ApiError(400, _("match[id] must be STIX identifiers such as report--<UUID>."))
        filters.ids = frozenset(ids)
    versions = _listed("match[version]")
    if versions is not None and not {"last", "first", "all"} & set(versions):
        filters.versions = frozenset(timestamp(_timestamp(v, "match[version]")) for v in versions)
    spec_versions = _listed("match[spec_version]")
    if spec_versions is not None:
        filters.spec_versions = frozenset(spec_versions)
    for name in request.args:
        if name.startswith("match[") and name not in (
            "match[type]",
            "match[id]",
            "match[version]",
            "match[spec_version]",
        ):
            raise ApiError(400, _("This service does not filter on %(name)s.", name=name[:40]))
    return filters


def _limit() -> int:
    raw = request.args.get("limit")
    if raw is None:
        return DEFAULT_LIMIT
    if not raw.strip().isdigit() or len(raw.strip()) > 9 or not 1 <= int(raw) <= MAX_LIMIT:
        raise ApiError(400, _("limit must be a whole number from 1 to %(max)s.", max=MAX_LIMIT))
    return int(raw)


def _start() -> queries.Cursor | None:
    raw = request.args.get("next")
    if raw is None:
        return None
    try:
        return queries.Cursor.decode(raw.strip())
    except queries.BadCursor:
        raise ApiError(400, _("next must be a value this service gave in an earlier page.")) from None


def _pull(collection_id: str, object_id: str | None = None) -> tuple[queries.Collection, queries.Page]:
    """One page of what the token's owner may see, and its audit event (ids only). For one
    object, its one version PAX keeps (an object shared by several posts is the same object)."""
    where = _collection(collection_id)
    filters, limit, start = _filters(object_id), _limit(), _start()
    user = api_user()
    if object_id is not None:
        found = queries.page(user, where, filters, 1, None)
        found.next = None
    else:
        found = queries.page(user, where, filters, limit, start)
    record(
        "taxii.pull",
        actor=user,
        target=("taxii_collection", where.key),
        endpoint=request.endpoint,
        count=len(found.entries),
        object_ids=[entry.obj.id for entry in found.entries],
        post_ids=found.post_ids,
    )
    if object_id is not None:
        # One object asked for by id, as one post opened through the API: an AMBER, AMBER+STRICT
        # or RED post is a view its organisation sees. Pages are lists, audited as one pull.
        for post in found.posts.values():
            record_view(user, "post", post, via="taxii")
    return where, found


def _date_headers(found: queries.Page) -> dict[str, str]:
    from app.taxii.stix import timestamp

    if not found.entries:
        return {}
    return {
        "X-TAXII-Date-Added-First": timestamp(found.entries[0].date_added),
        "X-TAXII-Date-Added-Last": timestamp(found.entries[-1].date_added),
    }


# --- objects, manifest, versions ------------------------------------------------------------------


@bp.route(COLLECTION + "objects/")
@token_required("read")
def objects(collection_id: str) -> Response:
    _where, found = _pull(collection_id)
    return taxii(queries.envelope_json(found), headers=_date_headers(found))


@bp.route(COLLECTION + "manifest/")
@token_required("read")
def manifest(collection_id: str) -> Response:
    _where, found = _pull(collection_id)
    return taxii(queries.manifest(found), headers=_date_headers(found))


@bp.route(COLLECTION + "objects/<object_id>/")
@token_required("read")
def get_object(collection_id: str, object_id: str) -> Response:
    _where, found = _pull(collection_id, object_id)
    if not found.entries:
        raise ApiError(404, _("There is no such object in this collection."))
    return taxii(queries.envelope_json(found), headers=_date_headers(found))


@bp.route(COLLECTION + "objects/<object_id>/versions/")
@token_required("read")
def versions(collection_id: str, object_id: str) -> Response:
    _where, found = _pull(collection_id, object_id)
    if not found.entries:
        raise ApiError(404, _("There is no such object in this collection."))
    body = {
        "more": False,
        "versions": [e.version for e in found.entries],
    }
    return taxii(body, headers=_date_headers(found))


@bp.route("/<path:path>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def unknown(path: str) -> None:
    """Anything else under /taxii2/ is a TAXII 404; a known address asked with another method
    (adding objects, deleting them: not offered) is 405."""
    from werkzeug.exceptions import HTTPException, MethodNotAllowed

    adapter = current_app.create_url_adapter(request)
    if request.method != "GET" and adapter is not None:
        try:
            endpoint = adapter.match(request.path, method="GET")[0]
        except HTTPException:
            endpoint = None
        if endpoint is not None and endpoint != request.endpoint:
            raise MethodNotAllowed(valid_methods=["GET"])
    raise NotFound()


#: The title of a TAXII error object: the status's reason phrase, in the reader's language.
STATUS_TITLES: dict[int, Any] = {
    400: _l("Bad Request"),
    401: _l("Unauthorized"),
    403: _l("Forbidden"),
    404: _l("Not Found"),
    405: _l("Method Not Allowed"),
    406: _l("Not Acceptable"),
    409: _l("Conflict"),
    412: _l("Precondition Failed"),
    413: _l("Request Entity Too Large"),
    415: _l("Unsupported Media Type"),
    422: _l("Unprocessable Entity"),
    429: _l("Too Many Requests"),
    500: _l("Internal Server Error"),
    503: _l("Service Unavailable"),
    507: _l("Insufficient Storage"),
}


@bp.after_app_request
def taxii_errors(response: Response) -> Response:
    """Under /taxii2/, every error the portal answers (the API's uniform JSON, which the error
    handlers give here too) becomes a TAXII error object with the TAXII media type."""
    if not (request.path == "/taxii2" or request.path.startswith("/taxii2/")) or response.status_code < 400:
        return response
    message = ""
    try:
        body = json.loads(response.get_data(as_text=True))
        message = str(body.get("error", {}).get("message", ""))
    except (ValueError, AttributeError):
        pass
    status = response.status_code
    title = STATUS_TITLES.get(status)
    if title is None:
        try:
            title = HTTPStatus(status).phrase
        except ValueError:
            title = _("Error")
    error = {
        "title": str(title),
        "description": message or _("The request could not be answered."),
        "http_status": str(status),
    }
    response.set_data(json.dumps(error))
    response.headers["Content-Type"] = TAXII_MEDIA_TYPE
    return response
