"""The OpenAPI 3.1 document of /api/v1, written by hand and served at ``/api/v1/openapi.json``.

Every route under /api/v1 appears here (``tests/test_api_openapi.py`` checks both ways) and the
response schemas are what the views answer (checked against real responses). Enumerations are
taken from the models so they cannot drift; everything else is spelled out.
"""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify

from app.api.blueprint import bp
from app.api.inputs import JSON_MAX_BYTES, MAX_PAGE, MAX_PER_PAGE
from app.api.openapi_schemas import SCHEMAS, ref
from app.clusters.models import PostType
from app.clusters.search import MAX_QUERY
from app.files.sniff import ALLOWED as ALLOWED_FILES
from app.markings import Tlp
from app.routing import MAX_ID

JSON = "application/json"
#: A stored file is served with the media type sniffed at upload, one of those the portal accepts.
FILE_CONTENT: dict[str, Any] = {media_type: {"schema": {"type": "string"}} for media_type in sorted(ALLOWED_FILES)}


def _content(schema: dict[str, Any]) -> dict[str, Any]:
    return {JSON: {"schema": schema}}


def _ok(description: str, schema: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description, "content": _content(ref(schema))}
    if headers:
        response["headers"] = headers
    return response


def _errors(*statuses: int) -> dict[str, Any]:
    return {str(status): {"$ref": f"#/components/responses/{ERROR_RESPONSES[status][0]}"} for status in statuses}


ERROR_RESPONSES: dict[int, tuple[str, str]] = {
    400: ("BadRequest", "The body is not valid JSON (or is empty)."),
    401: ("Unauthorized", "No token, or an unknown, expired or revoked one, or the account is not active."),
    403: ("Forbidden", "The token's scope or the caller's role does not allow this."),
    404: ("NotFound", "Nothing here, or nothing the caller may see: the two look alike."),
    409: (
        "Conflict",
        "This conflicts with the current state; for an edit, someone else saved a change to the item at the "
        "same moment (code `edit_conflict`) and nothing of this request was saved: fetch it again and resend.",
    ),
    412: (
        "PreconditionFailed",
        "`If-Match` names a version that is no longer the item's current one (code `precondition_failed`); "
        "nothing was changed: fetch the item again (new ETag) and resend.",
    ),
    413: ("PayloadTooLarge", f"The body is larger than the API accepts ({JSON_MAX_BYTES:,} bytes for JSON)."),
    415: ("UnsupportedMediaType", "The body is not declared as application/json."),
    422: ("ValidationFailed", "Some values are not valid; `fields` names each with a message."),
    429: ("RateLimited", "Too many requests (or too many refused tokens) from this address; see Retry-After."),
}


def _error_response(status: int) -> dict[str, Any]:
    _name, description = ERROR_RESPONSES[status]
    response: dict[str, Any] = {"description": description, "content": _content(ref("Error"))}
    if status == 401:
        response["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"}}}
    if status == 429:
        response["headers"] = {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "string"}}}
    return response


def _int_param(name: str, description: str, default: int, maximum: int) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": {"type": "integer", "minimum": 1, "maximum": maximum, "default": default},
    }


def _enum_param(name: str, description: str, values: list[str]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": {"enum": values}}


PAGE_PARAMS = [
    _int_param("page", "Page number, from 1.", 1, MAX_PAGE),
    _int_param("per_page", f"Items per page, at most {MAX_PER_PAGE}.", 20, MAX_PER_PAGE),
]

FILTER_PARAMS = [
    {
        "name": "cluster",
        "in": "query",
        "required": False,
        "description": "A cluster's slug (see /clusters); an unknown slug is 422.",
        "schema": {"type": "string"},
    },
    _enum_param("type", "Only posts of this type.", PostType.values()),
    _enum_param("tlp", "Only posts with this TLP marking (encode '+' as %2B).", Tlp.values()),
    {
        "name": "tag",
        "in": "query",
        "required": False,
        "description": "Only posts with this tag.",
        "schema": {"type": "string"},
    },
]


def _q_param(required: bool) -> dict[str, Any]:
    return {
        "name": "q",
        "in": "query",
        "required": required,
        "description": "Words to search for in titles, tags and text (punctuation and operators are ignored).",
        "schema": {"type": "string", "maxLength": MAX_QUERY, **({"minLength": 1} if required else {})},
    }


POST_ID = {
    "name": "post_id",
    "in": "path",
    "required": True,
    "description": "The post's id.",
    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
}


ATTACHMENT_ID = {
    "name": "attachment_id",
    "in": "path",
    "required": True,
    "description": "The attachment's id.",
    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
}


def _operation(
    operation_id: str,
    summary: str,
    scope: str | None,
    responses: dict[str, Any],
    parameters: list[dict[str, Any]] | None = None,
    body: str | None = None,
    description: str | None = None,
) -> dict[str, Any]:
    operation: dict[str, Any] = {"operationId": operation_id, "summary": summary, "tags": [operation_id.split("_")[0]]}
    if description:
        operation["description"] = description
    if scope is None:
        operation["security"] = []
    else:
        operation["x-required-scope"] = scope
    if parameters:
        operation["parameters"] = parameters
    if body:
        operation["requestBody"] = {"required": True, "content": _content(ref(body))}
    operation["responses"] = responses
    return operation


READ = _errors(401, 429)
WRITE_BODY = _errors(400, 401, 403, 413, 415, 422, 429)

PATHS: dict[str, Any] = {
    "/me": {
        "get": _operation(
            "me",
            "The caller: account, organisation, global role and cluster memberships.",
            "read",
            {"200": _ok("The caller.", "Me"), **READ},
        )
    },
    "/clusters": {
        "get": _operation(
            "clusters",
            "The four clusters, with the caller's role in each.",
            "read",
            {"200": _ok("The clusters in workplan order.", "ClusterList"), **READ},
        )
    },
    "/posts": {
        "get": _operation(
            "posts_list",
            "Visible posts, newest first; with q, full-text matches, best first.",
            "read",
            {"200": _ok("A page of posts.", "PostList"), **_errors(401, 422, 429)},
            parameters=[*PAGE_PARAMS, *FILTER_PARAMS, _q_param(required=False)],
        ),
        "post": _operation(
            "posts_create",
            "Publish a post in a cluster the caller contributes to.",
            "write",
            {
                "201": _ok(
                    "The post as stored.",
                    "Post",
                    headers={"Location": {"description": "The post's API URL.", "schema": {"type": "string"}}},
                ),
                **WRITE_BODY,
            },
            body="PostCreate",
            description="An incident note needs `incident`; a deliverable needs `workplan_item_id`. "
            "A caller who is not a contributor or coordinator of the cluster gets 403.",
        ),
    },
    "/posts/{post_id}": {
        "parameters": [POST_ID],
        "get": _operation(
            "posts_get",
            "One visible post.",
            "read",
            {"200": _ok("The post.", "Post"), **_errors(401, 404, 429)},
        ),
        "patch": _operation(
            "posts_update",
            "Change some fields of a post (its author or the author's organisation's focal point).",
            "write",
            {"200": _ok("The post after the change.", "Post"), **_errors(404), **WRITE_BODY},
            body="PostPatch",
            description="The previous state is kept as a version; a change that changes nothing makes no "
            "version. A post the caller cannot see is 404; one they see but may not edit is 403.",
        ),
        "delete": _operation(
            "posts_delete",
            "Delete a post with its versions and comments (its author or the organisation's focal point).",
            "write",
            {"204": {"description": "Deleted."}, **_errors(401, 403, 404, 429)},
        ),
    },
    "/posts/{post_id}/attachments": {
        "parameters": [POST_ID],
        "post": {
            **_operation(
                "attachments_upload",
                "Attach a file to a post (its author or the author's organisation's focal point).",
                "write",
                {
                    "201": _ok(
                        "The file as stored, encrypted.",
                        "Attachment",
                        headers={"Location": {"description": "The download URL.", "schema": {"type": "string"}}},
                    ),
                    **_errors(400, 401, 403, 404, 413, 415, 429),
                    "503": {"description": "The file store is unavailable.", "content": _content(ref("Error"))},
                    "507": {
                        "description": "The file store is full (code `storage_full`); nothing of the file was kept.",
                        "content": _content(ref("Error")),
                    },
                },
                description="Multipart form data with one part named `file` (the filename is taken from it). "
                "The type is sniffed from the content: PDF, Office and OpenDocument files, PNG, JPEG, GIF, WebP "
                "and TIFF images, text, CSV and ZIP; the name's extension must match it (415 otherwise). "
                "Larger than the portal's limit is 413. The file takes the post's marking and audience.",
            ),
            "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": ref("AttachmentUpload")}}},
        },
    },
    "/attachments/{attachment_id}": {
        "parameters": [ATTACHMENT_ID],
        "get": _operation(
            "attachments_download",
            "The file's bytes, decrypted as they are streamed; supports single byte ranges.",
            "read",
            {
                "200": {
                    "description": "The whole file, with Content-Disposition naming it. Every download is audited.",
                    "content": FILE_CONTENT,
                },
                "206": {
                    "description": "The requested byte range (Range: bytes=a-b), with Content-Range.",
                    "content": FILE_CONTENT,
                },
                "416": {"description": "The range lies outside the file."},
                **_errors(401, 404, 429),
                "500": {
                    "description": "The stored file failed its integrity check; nothing of it was sent.",
                    "content": _content(ref("Error")),
                },
                "503": {
                    "description": "The file's key or the file store is unavailable.",
                    "content": _content(ref("Error")),
                },
            },
        ),
        "delete": _operation(
            "attachments_delete",
            "Remove a file and crypto-shred it (its key is destroyed, then its blob).",
            "write",
            {"204": {"description": "Deleted."}, **_errors(401, 403, 404, 429)},
        ),
    },
    "/search": {
        "get": _operation(
            "search",
            "Full-text search over the titles, tags and text of visible posts.",
            "read",
            {
                "200": _ok("A page of hits, best first (at most 1,000 are ranked).", "SearchResults"),
                **_errors(401, 422, 429),
            },
            parameters=[_q_param(required=True), *PAGE_PARAMS, *FILTER_PARAMS],
        )
    },
    "/openapi.json": {
        "get": _operation(
            "openapi",
            "This document.",
            None,
            {
                "200": {"description": "The OpenAPI 3.1 document.", "content": _content({"type": "object"})},
                **_errors(429),
            },
        )
    },
}

DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
    "info": {
        "title": "PAX API",
        "version": "1.0.0",
        "summary": "The secure exchange portal of the European Ports Alliance, for member organisations' systems.",
        "description": "Authenticate with a personal access token (account page, or `tokens create`) as "
        "`Authorization: Bearer <token>`. Read-scope tokens may call GET; write-scope tokens may also write. "
        'Every error answers `{"error": {"code", "message", "fields"}}`. An item the caller may not see '
        "answers 404, exactly like one that does not exist.",
    },
    "servers": [{"url": "/api/v1"}],
    "security": [{"bearerAuth": []}],
    "tags": [
        {"name": "me", "description": "The caller."},
        {"name": "clusters", "description": "The four clusters of the PPP workplan."},
        {"name": "posts", "description": "Best practices, incident notes and deliverables."},
        {"name": "attachments", "description": "Files of posts, encrypted at rest."},
        {"name": "search", "description": "Full-text search."},
        {"name": "openapi", "description": "This document."},
    ],
    "paths": PATHS,
    "components": {
        "securitySchemes": {
            "bearerAuth": {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "pax_<43 characters>",
                "description": "A personal access token with scope read or write.",
            }
        },
        "schemas": SCHEMAS,
        "responses": {name: _error_response(status) for status, (name, _d) in ERROR_RESPONSES.items()},
    },
}


def register_paths(tag: dict[str, str], paths: dict[str, Any], schemas: dict[str, Any] | None = None) -> None:
    """A feature's API module adds its operations (and schemas) when ``app.api.routes`` imports it."""
    DOCUMENT["tags"].insert(len(DOCUMENT["tags"]) - 1, tag)
    overlap = (set(paths) & set(PATHS)) | (set(schemas or {}) & set(SCHEMAS))
    assert not overlap, f"OpenAPI entries defined twice: {sorted(overlap)}"
    PATHS.update(with_concurrency(paths))
    SCHEMAS.update(schemas or {})


# --- optimistic concurrency: ETag and If-Match (``app.concurrency``) ------------------------------------

#: Items the API edits: their GET (and a change's answer) sends an ETag; PATCH, PUT and DELETE honour
#: If-Match. The paths that create them send the new item's ETag with 201.
VERSIONED_PATHS = frozenset(
    {"/posts/{post_id}", "/meetings/{meeting_id}", "/meeting-documents/{document_id}", "/workplan/items/{item_id}"}
)
CREATING_PATHS = frozenset({"/posts", "/meetings", "/workplan/items"})
ETAG_HEADER = {
    "ETag": {
        "description": 'The item\'s current version as a strong entity tag (for example `"v3"`): send it back '
        "as `If-Match` to change or delete the item only if nobody has changed it since.",
        "schema": {"type": "string"},
    }
}
IF_MATCH = {
    "name": "If-Match",
    "in": "header",
    "required": False,
    "description": "The ETag of the copy this change is based on (or `*`). When the item has changed since, "
    "the answer is 412 and nothing is changed. Without it the change applies to the current version; two "
    "changes at the same moment still never overwrite each other silently: one of them gets 409.",
    "schema": {"type": "string"},
}


def with_concurrency(paths: dict[str, Any]) -> dict[str, Any]:
    """Describe ETag, If-Match, 409 and 412 on the operations of versioned items."""
    for path, item in paths.items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            responses = operation["responses"]
            sends_tag = (path in VERSIONED_PATHS and method in ("get", "patch", "put")) or (
                path in CREATING_PATHS and method == "post"
            )
            for status in ("200", "201"):
                if sends_tag and status in responses and "$ref" not in responses[status]:
                    answer = responses[status]
                    responses[status] = {**answer, "headers": {**answer.get("headers", {}), **ETAG_HEADER}}
            if path in VERSIONED_PATHS and method in ("patch", "put", "delete"):
                operation["parameters"] = [*operation.get("parameters", []), IF_MATCH]
                responses.update(_errors(409, 412))
    return paths


with_concurrency(PATHS)


@bp.get("/openapi.json")
def openapi() -> Response:
    """The API's OpenAPI 3.1 document; public, so tools can read it before holding a token."""
    return jsonify(DOCUMENT)
