"""``GET /search``: full-text search over visible posts, each hit a post summary with a snippet and a rank."""

from __future__ import annotations

import math
from typing import Any

from flask import Response, jsonify

from app.api.auth import api_user, token_required
from app.api.blueprint import bp
from app.api.inputs import pagination, post_filters, query_text, raise_if
from app.api.posts import FILTER_PARAMS, POST_SUMMARY_PROPERTIES, post_summary_json, q_param
from app.api.serializers import page_json
from app.api.spec import PAGE_PARAMS, error_answers, list_of, ok, operation
from app.clusters.search import Hit
from app.clusters.search import search as search_visible


@bp.get("/search")
@token_required("read")
def search() -> Response:
    """Full-text search over visible posts: summaries with a highlighted snippet and a rank."""
    errors: dict[str, str] = {}
    page, per_page = pagination(errors)
    filters = post_filters(errors)
    q = query_text(errors, required=True)
    raise_if(errors)
    assert q is not None
    result = search_visible(api_user(), q, filters, page, per_page, details=True)
    return jsonify(page_json(result, [hit_json(hit) for hit in result.items]))


def hit_json(hit: Hit) -> dict[str, Any]:
    """A search hit: the post's summary, an HTML snippet with ``<mark>`` around matches, its rank,
    and whether it holds one of the query's identifiers exactly."""
    rank = hit.rank if math.isfinite(hit.rank) else 0.0
    return {**post_summary_json(hit.post), "snippet": str(hit.snippet), "rank": rank, "exact": hit.exact}


# --- OpenAPI -------------------------------------------------------------------------------------

TAG = {"name": "search", "description": "Full-text search."}

SCHEMAS: dict[str, Any] = {
    "SearchHit": {
        "type": "object",
        "required": [*POST_SUMMARY_PROPERTIES, "snippet", "rank", "exact"],
        "additionalProperties": False,
        "properties": {
            **POST_SUMMARY_PROPERTIES,
            "snippet": {"type": "string", "description": "HTML: escaped text with <mark> around the matches."},
            "rank": {
                "type": "number",
                "description": "The backend's relevance score; items are already in rank order.",
            },
            "exact": {
                "type": "boolean",
                "description": (
                    "The post holds a container number, IMO number, UN/LOCODE or tag of the query exactly, "
                    "whatever its spacing or case; such hits come first, with rank 0."
                ),
            },
        },
    },
    "SearchResults": list_of("SearchHit"),
}

PATHS: dict[str, Any] = {
    "/search": {
        "get": operation(
            "search",
            "Full-text search over the titles, tags and text of visible posts, and exact identifiers "
            "(container, IMO, UN/LOCODE, tag) in their incident details and tags.",
            "read",
            {
                "200": ok("A page of hits, best first (at most 1,000 are ranked).", "SearchResults"),
                **error_answers(401, 422, 429),
            },
            parameters=[q_param(required=True), *PAGE_PARAMS, *FILTER_PARAMS],
        )
    },
}
