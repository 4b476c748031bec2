"""Posts over the API: list, create, read, edit, delete (README, "API"); what a post's
JSON holds (with its cross-match hits); and the OpenAPI description of both.

Views only translate: the policy loads and authorises (``post_or_404``: hidden is 404, visible
but not editable is 403, as is a service's ``NotAllowed``), ``parse_post`` validates, the services
write. Any error raises, which rolls the request's transaction back, so a refused request leaves
nothing behind.
"""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, url_for
from flask_babel import lazy_gettext as _l

from app.api.attachments import attachment_json
from app.api.auth import api_user, token_required
from app.api.blueprint import bp
from app.api.inputs import id_or_404, json_object, pagination, post_filters, query_text, raise_if
from app.api.serializers import page_json, timestamp
from app.api.spec import (
    PAGE_PARAMS,
    STRINGS,
    TIMESTAMP,
    WRITE_BODY,
    error_answers,
    list_of,
    location_header,
    ok,
    operation,
    path_id,
    query_param,
    ref,
)
from app.audit.services import record_view
from app.clusters import services
from app.clusters.models import ModusOperandi, Post, PostType, Substance
from app.clusters.queries import AttachmentRow, attachment_list, attachment_lists, feed
from app.clusters.search import MAX_QUERY
from app.clusters.search import search as search_visible
from app.clusters.validation import (
    MAX_BODY,
    MAX_CONTAINERS,
    MAX_RECIPIENTS,
    MAX_TAGS,
    MAX_TITLE,
    IncidentInput,
    PostInput,
    parse_post,
)
from app.crossmatch.models import IdentifierKind
from app.crossmatch.queries import Hit, hits
from app.errors import ApiError
from app.etags import check_if_match, etag, with_etag
from app.markings import Tlp
from app.policy import can, post_or_404
from app.validation import ValidationError

INVALID_POST = _l("The post is not valid; see fields.")


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
    attachments = attachment_lists(api_user(), posts)
    return jsonify(page_json(result, [post_json(p, attachments[p.id]) for p in posts]))


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
    data = with_matches(post_json(post, attachment_list(api_user(), post)), api_user(), post)
    return jsonify(data), 201, {"Location": url_for("api.get_post", post_id=post.id), "ETag": etag(post)}


@bp.get("/posts/<post_id>")
@token_required("read")
def get_post(post_id: str) -> Response:
    post = post_or_404(api_user(), id_or_404(post_id))
    record_view(api_user(), "post", post, via="api")
    user = api_user()
    return with_etag(jsonify(with_matches(post_json(post, attachment_list(user, post)), user, post)), post)


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
    return with_etag(jsonify(with_matches(post_json(post, attachment_list(user, post)), user, post)), post)


@bp.delete("/posts/<post_id>")
@token_required("write")
def delete_post(post_id: str) -> Response:
    user = api_user()
    post = post_or_404(user, id_or_404(post_id), need="delete_post")
    check_if_match(post)
    services.delete_post(user, post)
    return Response(status=204)


# --- what the API answers ---------------------------------------------------------------------------


def incident_json(post: Post) -> dict[str, Any] | None:
    incident = post.incident
    if incident is None:
        return None
    return {
        "port_locode": incident.port_locode,
        "occurred_on": incident.occurred_on.isoformat(),
        "modus_operandi": incident.modus_operandi.value,
        "substance": incident.substance.value,
        "quantity_kg": float(incident.quantity_kg) if incident.quantity_kg is not None else None,
        "container_numbers": incident.container_numbers,
        "vessel_imo": incident.vessel_imo,
    }


def post_summary_json(post: Post) -> dict[str, Any]:
    """A post without its text: what search hits carry."""
    organisation = post.author_org.name
    return {
        "id": post.id,
        "type": post.type.value,
        "cluster": post.cluster.slug,
        "title": post.title,
        "tlp": post.tlp.value,
        "law_enforcement_only": post.law_enforcement_only,
        "tags": sorted(post.tag_names),
        # The account may be gone (its posts stay); the organisation that shared it is kept.
        "author": {"name": post.author.name, "organisation": organisation} if post.author is not None else None,
        "organisation": organisation,
        "version": post.version,
        "created_at": timestamp(post.created_at),
        "updated_at": timestamp(post.updated_at),
        "url": f"/posts/{post.id}",
    }


def post_json(post: Post, attachments: list[AttachmentRow]) -> dict[str, Any]:
    """A whole post, as ``GET /posts/{id}`` answers it, with the ``attachments`` its reader may see
    (``attachment_list``)."""
    data = post_summary_json(post)
    data.update(
        {
            "body": post.body,
            "body_html": post.body_html,
            "recipient_orgs": sorted(r.organisation.name for r in post.recipient_orgs),
            "recipient_users": sorted(r.user.email for r in post.recipient_users),
            "workplan_item_id": post.workplan_item_id,
            "incident": incident_json(post),
            "attachments": [attachment_json(row.attachment, row.meta) for row in attachments],
        }
    )
    return data


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


def post_to_input(post: Post) -> PostInput:
    """The stored post as the validated input that would recreate it (the base of a PATCH)."""
    incident = None
    if post.incident is not None:
        i = post.incident
        incident = IncidentInput(
            port_locode=i.port_locode,
            occurred_on=i.occurred_on,
            modus_operandi=i.modus_operandi,
            substance=i.substance,
            quantity_kg=i.quantity_kg,
            container_numbers=i.container_numbers,
            vessel_imo=i.vessel_imo,
        )
    return PostInput(
        type=post.type,
        cluster=post.cluster.slug,
        title=post.title,
        body=post.body,
        tlp=post.tlp,
        law_enforcement_only=post.law_enforcement_only,
        recipient_orgs=sorted(r.organisation.name for r in post.recipient_orgs),
        recipient_users=sorted(r.user.email for r in post.recipient_users),
        tags=sorted(post.tag_names),
        workplan_item_id=post.workplan_item_id,
        incident=incident,
    )


# --- OpenAPI -------------------------------------------------------------------------------------

TAG = {"name": "posts", "description": "Best practices, incident notes and deliverables."}

FILTER_PARAMS = [
    query_param("cluster", "A cluster's slug (see /clusters); an unknown slug is 422.", {"type": "string"}),
    query_param("type", "Only posts of this type.", {"enum": PostType.values()}),
    query_param("tlp", "Only posts with this TLP marking (encode '+' as %2B).", {"enum": Tlp.values()}),
    query_param("tag", "Only posts with this tag.", {"type": "string"}),
]


def q_param(required: bool) -> dict[str, Any]:
    """The search words: optional for ``/posts``, required for ``/search``."""
    return query_param(
        "q",
        "Words to search for in titles, tags and text (punctuation and operators are ignored).",
        {"type": "string", "maxLength": MAX_QUERY, **({"minLength": 1} if required else {})},
        required=required,
    )


POST_ID = path_id("post_id", "post")

POST_SUMMARY_PROPERTIES: dict[str, Any] = {
    "id": {"type": "integer", "minimum": 1},
    "type": {"enum": PostType.values()},
    "cluster": {"type": "string", "description": "The cluster's slug."},
    "title": {"type": "string", "maxLength": MAX_TITLE},
    "tlp": {"enum": Tlp.values()},
    "law_enforcement_only": {"type": "boolean"},
    "tags": STRINGS,
    "author": {
        "description": "Null when the author's account no longer exists.",
        "anyOf": [ref("Author"), {"type": "null"}],
    },
    "organisation": {"type": "string", "description": "The author's organisation when the post was written."},
    "version": {"type": "integer", "minimum": 1},
    "created_at": TIMESTAMP,
    "updated_at": TIMESTAMP,
    "url": {"type": "string", "description": "The post's page in the portal, relative to its base URL."},
}

POST_PROPERTIES: dict[str, Any] = {
    **POST_SUMMARY_PROPERTIES,
    "body": {"type": "string", "maxLength": MAX_BODY, "description": "Markdown, as written."},
    "body_html": {"type": "string", "description": "The Markdown rendered and sanitised: safe to show as is."},
    "recipient_orgs": {**STRINGS, "description": "Named recipient organisations (AMBER, AMBER+STRICT)."},
    "recipient_users": {**STRINGS, "description": "E-mail addresses of named recipients (RED)."},
    "workplan_item_id": {"type": ["integer", "null"]},
    "incident": {"anyOf": [ref("Incident"), {"type": "null"}], "description": "Incident notes only."},
    "attachments": {"type": "array", "items": ref("Attachment"), "description": "Files, with the post's marking."},
    "matches": {
        "type": "array",
        "items": ref("Match"),
        "description": "Incident notes only, and only for the note's author, their organisation's focal point and, "
        "in a law-enforcement organisation, its members: cross-match hits with other organisations' notes, newest "
        "first. Absent for everyone else.",
    },
}

_INPUT_PROPERTIES: dict[str, Any] = {
    "type": {"enum": PostType.values()},
    "cluster": {"type": "string", "description": "The cluster's slug; the caller must contribute to it."},
    "title": {"type": "string", "minLength": 1, "maxLength": MAX_TITLE},
    "body": {"type": "string", "minLength": 1, "maxLength": MAX_BODY, "description": "Markdown."},
    "tlp": {"enum": Tlp.values()},
    "law_enforcement_only": {"type": ["boolean", "null"], "default": False},
    "recipient_orgs": {
        "type": ["array", "null"],
        "items": {"type": "string"},
        "maxItems": MAX_RECIPIENTS,
        "description": "Organisation names; AMBER and AMBER+STRICT only.",
    },
    "recipient_users": {
        "type": ["array", "null"],
        "items": {"type": "string"},
        "maxItems": MAX_RECIPIENTS,
        "description": "E-mail addresses of active members; RED only.",
    },
    "tags": {"type": ["array", "null"], "items": {"type": "string"}, "maxItems": MAX_TAGS},
    "workplan_item_id": {
        "type": ["integer", "null"],
        "minimum": 1,
        "description": "Required for deliverables, refused for other types.",
    },
    "incident": {
        "anyOf": [ref("IncidentInput"), {"type": "null"}],
        "description": "Required for incident notes, refused for other types; replaced as a whole by PATCH.",
    },
}

SCHEMAS: dict[str, Any] = {
    "Incident": {
        "type": "object",
        "required": [
            "port_locode",
            "occurred_on",
            "modus_operandi",
            "substance",
            "quantity_kg",
            "container_numbers",
            "vessel_imo",
        ],
        "additionalProperties": False,
        "properties": {
            "port_locode": {"type": "string", "pattern": "^[A-Z]{2}[A-Z2-9]{3}$", "examples": ["BEANR"]},
            "occurred_on": {"type": "string", "format": "date"},
            "modus_operandi": {"enum": ModusOperandi.values()},
            "substance": {"enum": Substance.values()},
            "quantity_kg": {"type": ["number", "null"], "minimum": 0},
            "container_numbers": {
                "type": "array",
                "items": {"type": "string", "pattern": "^[A-Z0-9]{3}[UJZR][0-9]{7}$"},
                "description": "ISO 6346, compact, check digit verified.",
            },
            "vessel_imo": {"type": ["string", "null"], "pattern": "^[0-9]{7}$"},
        },
    },
    "IncidentInput": {
        "type": "object",
        "required": ["port_locode", "occurred_on", "modus_operandi", "substance"],
        "additionalProperties": False,
        "properties": {
            "port_locode": {"type": "string", "description": "UN/LOCODE, e.g. BEANR.", "examples": ["BEANR"]},
            "occurred_on": {"type": "string", "format": "date", "description": "Not in the future."},
            "modus_operandi": {"enum": ModusOperandi.values()},
            "substance": {"enum": Substance.values()},
            "quantity_kg": {"type": ["number", "string", "null"], "minimum": 0},
            "container_numbers": {
                "type": ["array", "null"],
                "items": {"type": "string", "examples": ["CSQU3054383"]},
                "maxItems": MAX_CONTAINERS,
                "description": "ISO 6346 with a valid check digit; spaces and lower case are accepted.",
            },
            "vessel_imo": {
                "type": ["string", "null"],
                "description": "7 digits with a valid IMO check digit; an 'IMO' prefix is accepted.",
                "examples": ["9074729"],
            },
        },
    },
    "Post": {
        "type": "object",
        "required": [name for name in POST_PROPERTIES if name != "matches"],
        "additionalProperties": False,
        "properties": POST_PROPERTIES,
    },
    "PostList": list_of("Post"),
    "Match": {
        "type": "object",
        "required": ["kind", "identifier", "indexed_at", "post_id", "url", "organisation"],
        "additionalProperties": False,
        "description": "Another organisation's incident note shares an identifier with this one. Nothing of that "
        "note is given beyond what its marking already shows the caller.",
        "properties": {
            "kind": {"enum": IdentifierKind.values()},
            "identifier": {"type": "string", "description": "The caller's own value, from this note."},
            "indexed_at": {**TIMESTAMP, "description": "When the other note's identifier was indexed."},
            "post_id": {"type": ["integer", "null"], "description": "The other note, only if the caller may see it."},
            "url": {"type": ["string", "null"], "description": "Its page, only if the caller may see it."},
            "organisation": {
                "type": ["string", "null"],
                "description": "The other note's organisation, for law-enforcement callers and those who may see "
                "the note; null otherwise.",
            },
        },
    },
    "PostCreate": {
        "type": "object",
        "required": ["type", "cluster", "title", "body", "tlp"],
        "additionalProperties": False,
        "properties": _INPUT_PROPERTIES,
    },
    "PostPatch": {
        "type": "object",
        "description": "Only the fields to change; the others keep their values.",
        "additionalProperties": False,
        "properties": _INPUT_PROPERTIES,
    },
}

PATHS: dict[str, Any] = {
    "/posts": {
        "get": operation(
            "posts_list",
            "Visible posts, newest first; with q, full-text matches, best first.",
            "read",
            {"200": ok("A page of posts.", "PostList"), **error_answers(401, 422, 429)},
            parameters=[*PAGE_PARAMS, *FILTER_PARAMS, q_param(required=False)],
        ),
        "post": operation(
            "posts_create",
            "Publish a post in a cluster the caller contributes to.",
            "write",
            {
                "201": ok("The post as stored.", "Post", headers=location_header("The post's API URL.")),
                **WRITE_BODY,
            },
            body="PostCreate",
            description="An incident note needs `incident`; a deliverable needs `workplan_item_id`. "
            "A caller who is not a contributor or coordinator of the cluster gets 403.",
        ),
    },
    "/posts/{post_id}": {
        "parameters": [POST_ID],
        "get": operation(
            "posts_get",
            "One visible post.",
            "read",
            {"200": ok("The post.", "Post"), **error_answers(401, 404, 429)},
        ),
        "patch": operation(
            "posts_update",
            "Change some fields of a post (its author or the author's organisation's focal point).",
            "write",
            {"200": ok("The post after the change.", "Post"), **error_answers(404), **WRITE_BODY},
            body="PostPatch",
            description="The previous state is kept as a version; a change that changes nothing makes no "
            "version. A post the caller cannot see is 404; one they see but may not edit is 403.",
        ),
        "delete": operation(
            "posts_delete",
            "Delete a post with its versions and comments (its author or the organisation's focal point).",
            "write",
            {"204": {"description": "Deleted."}, **error_answers(401, 403, 404, 429)},
        ),
    },
}
