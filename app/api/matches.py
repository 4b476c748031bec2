"""Cross-match hits in the API: the ``matches`` field of an incident note's JSON.

Present only for those the ``see_matches`` rule admits (the note's author, their organisation's
focal point and, in a law-enforcement organisation, its members), with what the post page
shows: never the other note's title, text or identifiers.
"""

from __future__ import annotations

from typing import Any

from app.api.serializers import timestamp
from app.clusters.models import Post
from app.crossmatch.queries import Hit, hits
from app.policy import can


def match_json(hit: Hit) -> dict[str, Any]:
    return {
        "kind": hit.kind.value,
        "identifier": hit.identifier,
        "indexed_at": timestamp(hit.indexed_at),
        "post_id": hit.post_id,
        "url": f"/posts/{hit.post_id}" if hit.post_id is not None else None,
        "organisation": hit.organisation,
    }


def with_matches(data: dict[str, Any], user: Any, post: Post) -> dict[str, Any]:
    """``data`` (a post's JSON) with ``matches`` added when ``user`` may see the note's hits."""
    if can(user, "see_matches", post):
        data["matches"] = [match_json(hit) for hit in hits(user, post)]
    return data
