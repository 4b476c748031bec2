"""/api/v1 routes (CONTRACT.md). Every route but the OpenAPI document authenticates with a bearer token.

The blueprint lives in ``app.api.blueprint``; importing the feature modules here registers their
views on it, so ``from app.api.routes import bp`` gives the whole API.
"""

from __future__ import annotations

from flask import jsonify
from werkzeug.exceptions import NotFound
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


@bp.route("/", defaults={"path": ""})
@bp.route("/<path:path>")
def unknown(path: str) -> None:
    """Anything under /api/v1 without a route answers the uniform JSON 404."""
    raise NotFound()
