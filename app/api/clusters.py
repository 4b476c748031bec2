"""``GET /clusters``: the four clusters, with the caller's role in each."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify

from app.api.auth import api_user, token_required
from app.api.blueprint import bp
from app.api.spec import READ, list_of, ok, operation
from app.clusters.models import MembershipRole
from app.clusters.queries import clusters_with_membership


def cluster_json(cluster: Any, role: MembershipRole | None = None) -> dict[str, Any]:
    return {
        "slug": cluster.slug,
        "name": cluster.name,
        "description": cluster.description,
        "my_role": role.value if role is not None else None,
    }


@bp.route("/clusters")
@token_required("read")
def clusters() -> Response:
    rows = clusters_with_membership(api_user())
    return jsonify({"items": [cluster_json(c, r) for c, r in rows], "page": 1, "per_page": 100, "total": len(rows)})


# --- OpenAPI -------------------------------------------------------------------------------------

TAG = {"name": "clusters", "description": "The four clusters of the PPP workplan."}

SCHEMAS: dict[str, Any] = {
    "Cluster": {
        "type": "object",
        "required": ["slug", "name", "description", "my_role"],
        "additionalProperties": False,
        "properties": {
            "slug": {"type": "string"},
            "name": {"type": "string"},
            "description": {"type": "string"},
            "my_role": {"enum": [*MembershipRole.values(), None], "description": "Null when not a member."},
        },
    },
    "ClusterList": list_of("Cluster", capped=False),
}

PATHS: dict[str, Any] = {
    "/clusters": {
        "get": operation(
            "clusters",
            "The four clusters, with the caller's role in each.",
            "read",
            {"200": ok("The clusters in workplan order.", "ClusterList"), **READ},
        )
    },
}
