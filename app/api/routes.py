"""/api/v1 routes (CONTRACT.md). Every route authenticates with a bearer token."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify
from werkzeug.exceptions import NotFound
from werkzeug.wrappers import Response

from app.api.auth import api_user, token_required
from app.clusters.queries import clusters_with_membership
from app.extensions import csrf, limiter

bp = Blueprint("api", __name__, url_prefix="/api/v1")
# The API authenticates with bearer tokens, never with the session cookie, so CSRF does not apply.
csrf.exempt(bp)
# Guessing tokens is slowed per client address; only refused attempts count.
limiter.limit("30 per minute", deduct_when=lambda response: response.status_code == 401)(bp)


def cluster_json(cluster: Any, role: Any = None) -> dict[str, Any]:
    return {
        "slug": cluster.slug,
        "name": cluster.name,
        "description": cluster.description,
        "my_role": role.value if role is not None else None,
    }


@bp.route("/me")
@token_required("read")
def me() -> Response:
    user = api_user()
    org = user.organisation
    memberships = [
        {"cluster": cluster.slug, "role": role.value} for cluster, role in clusters_with_membership(user) if role
    ]
    return jsonify(
        {
            "id": user.id,
            "email": user.email,
            "name": user.name,
            "role": user.role.value,
            "focal_point": user.is_focal_point,
            "organisation": {
                "name": org.name,
                "type": org.type.value,
                "country": org.country,
                "law_enforcement": org.is_law_enforcement,
            },
            "memberships": memberships,
        }
    )


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
