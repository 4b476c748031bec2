"""``GET /me``: the caller, their organisation, global role and cluster memberships."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify

from app.api.auth import api_user, token_required
from app.api.blueprint import bp
from app.api.spec import READ, ok, operation
from app.auth.models import GlobalRole
from app.clusters.models import MembershipRole
from app.clusters.queries import clusters_with_membership
from app.directory.models import OrgType


def me_json(user: Any) -> dict[str, Any]:
    org = user.organisation
    memberships = [
        {"cluster": cluster.slug, "role": role.value} for cluster, role in clusters_with_membership(user) if role
    ]
    return {
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


@bp.route("/me")
@token_required("read")
def me() -> Response:
    return jsonify(me_json(api_user()))


# --- OpenAPI -------------------------------------------------------------------------------------

TAG = {"name": "me", "description": "The caller."}

SCHEMAS: dict[str, Any] = {
    "Me": {
        "type": "object",
        "required": ["id", "email", "name", "role", "focal_point", "organisation", "memberships"],
        "additionalProperties": False,
        "properties": {
            "id": {"type": "integer"},
            "email": {"type": "string"},
            "name": {"type": "string"},
            "role": {"enum": GlobalRole.values()},
            "focal_point": {"type": "boolean"},
            "organisation": {
                "type": "object",
                "required": ["name", "type", "country", "law_enforcement"],
                "additionalProperties": False,
                "properties": {
                    "name": {"type": "string"},
                    "type": {"enum": OrgType.values()},
                    "country": {"type": "string", "pattern": "^[A-Z]{2}$"},
                    "law_enforcement": {"type": "boolean"},
                },
            },
            "memberships": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["cluster", "role"],
                    "additionalProperties": False,
                    "properties": {"cluster": {"type": "string"}, "role": {"enum": MembershipRole.values()}},
                },
            },
        },
    },
}

PATHS: dict[str, Any] = {
    "/me": {
        "get": operation(
            "me",
            "The caller: account, organisation, global role and cluster memberships.",
            "read",
            {"200": ok("The caller.", "Me"), **READ},
        )
    },
}
