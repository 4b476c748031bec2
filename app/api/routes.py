"""/api/v1 routes (README, "API"). Every route but the OpenAPI document authenticates with a bearer token.

The blueprint lives in ``app.api.blueprint``; importing the feature modules here registers their
views on it, so ``from app.api.routes import bp`` gives the whole API.
"""

from __future__ import annotations

import contextlib

from flask import current_app, jsonify, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.wrappers import Response

from app.api import attachments, audit, meetings, openapi, packs, posts, stats, workplan  # noqa: F401  (their views register on bp)
from app.api.auth import api_user, token_required
from app.api.blueprint import bp
from app.api.serializers import cluster_json, me_json
from app.clusters.queries import clusters_with_membership

__all__ = ["bp"]


@bp.route("/me")
@token_required("read")
def me() -> Response:
    return jsonify(me_json(api_user()))


@bp.route("/clusters")
@token_required("read")
def clusters() -> Response:
    rows = clusters_with_membership(api_user())
    return jsonify({"items": [cluster_json(c, r) for c, r in rows], "page": 1, "per_page": 100, "total": len(rows)})


_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


@bp.route("/", defaults={"path": ""}, methods=_METHODS)
@bp.route("/<path:path>", methods=_METHODS)
def unknown(path: str) -> None:
    """Anything under /api/v1 without a route answers the uniform JSON 404, whatever the method.

    A path that a real route serves, with a method it does not accept, stays 405.
    """
    adapter = current_app.create_url_adapter(request)
    allowed = []
    for method in _METHODS:
        with contextlib.suppress(HTTPException):
            if adapter is not None and adapter.match(request.path, method=method)[0] != request.endpoint:
                allowed.append(method)
    if allowed:
        raise MethodNotAllowed(valid_methods=allowed)
    raise NotFound()
