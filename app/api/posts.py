"""Posts over the API: list, search, create, read, edit, delete (README, "API").

Views only translate: the policy loads and authorises (``post_or_404``: hidden is 404, visible
but not editable is 403), ``parse_post`` validates, the services write. Any error raises, which
rolls the request's transaction back, so a refused request leaves nothing behind.
"""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, url_for

from app.api.auth import api_user, token_required
from app.api.blueprint import bp
from app.api.inputs import id_or_404, json_object, pagination, post_filters, query_text, raise_if
from app.api.matches import with_matches
from app.api.serializers import hit_json, page_json, post_json, post_to_input
from app.audit.services import record_view
from app.clusters import services
from app.clusters.queries import feed
from app.clusters.search import search as search_visible
from app.clusters.validation import PostInput, parse_post
from app.errors import ApiError
from app.etags import check_if_match, etag, with_etag
from app.policy import NotAllowed, post_or_404
from app.validation import ValidationError

INVALID_POST = "The post is not valid; see fields."


@bp.get("/posts")
@token_required("read")
def list_posts() -> Response:
    """Visible posts, newest first; with ``q``, the full-text matches, best first."""
    errors: dict[str, str] = {}
    page, per_page = pagination(errors)
    filters = post_filters(errors)
    q = query_text(errors)
    raise_if(errors)
    if q:
        result = search_visible(api_user(), q, filters, page, per_page, details=True)
        posts = [hit.post for hit in result.items]
    else:
        result = feed(api_user(), filters, page, per_page, details=True)
        posts = result.items
    return jsonify(page_json(result, [post_json(p) for p in posts]))


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


def _validated(raw: dict[str, Any], partial_of: PostInput | None = None) -> PostInput:
    try:
        return parse_post(raw, partial_of=partial_of)
    except ValidationError as exc:
        raise ApiError(422, INVALID_POST, exc.fields) from None


@bp.post("/posts")
@token_required("write")
def create_post() -> tuple[Response, int, dict[str, str]]:
    data = _validated(json_object())
    try:
        post = services.publish_post(api_user(), data)
    except ValidationError as exc:
        raise ApiError(422, INVALID_POST, exc.fields) from None
    except NotAllowed as exc:
        raise ApiError(403, str(exc)) from None
    data = with_matches(post_json(post), api_user(), post)
    return jsonify(data), 201, {"Location": url_for("api.get_post", post_id=post.id), "ETag": etag(post)}


@bp.get("/posts/<post_id>")
@token_required("read")
def get_post(post_id: str) -> Response:
    post = post_or_404(api_user(), id_or_404(post_id))
    record_view(api_user(), "post", post, via="api")
    return with_etag(jsonify(with_matches(post_json(post), api_user(), post)), post)


@bp.patch("/posts/<post_id>")
@token_required("write")
def update_post(post_id: str) -> Response:
    """Change the fields sent; the others keep their values. An edit that changes nothing is not a version.

    ``If-Match`` (the ETag of a GET) makes it conditional: 412 when the post changed since.
    """
    user = api_user()
    post = post_or_404(user, id_or_404(post_id), need="edit_post")
    check_if_match(post)
    raw = json_object()
    current = post_to_input(post)
    data = _validated(raw, partial_of=current)
    if data != current:
        try:
            services.edit_post(user, post, data)
        except ValidationError as exc:
            raise ApiError(422, INVALID_POST, exc.fields) from None
        except NotAllowed as exc:
            raise ApiError(403, str(exc)) from None
    return with_etag(jsonify(with_matches(post_json(post), user, post)), post)


@bp.delete("/posts/<post_id>")
@token_required("write")
def delete_post(post_id: str) -> Response:
    user = api_user()
    post = post_or_404(user, id_or_404(post_id), need="delete_post")
    check_if_match(post)
    try:
        services.delete_post(user, post)
    except NotAllowed as exc:
        raise ApiError(403, str(exc)) from None
    return Response(status=204)
