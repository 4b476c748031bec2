"""The OpenAPI 3.1 document of /api/v1, written by hand and served at ``/api/v1/openapi.json``.

Every route under /api/v1 appears here (``tests/test_api_openapi.py`` checks both ways) and the
response schemas are what the views answer (checked against real responses). Each resource
module describes its own operations (``PATHS``), the schemas only it uses (``SCHEMAS``) and its
tag (``TAG``) beside its views, with the helpers of ``app.api.spec``; this module puts them
together in ``RESOURCES`` order and adds what they share: the error body, the error answers,
authentication and the ETag/If-Match rules of versioned items.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from flask import Response, jsonify

from app.api import attachments, audit, clusters, me, meeting_documents, meetings, packs, posts, search, stats, workplan
from app.api.blueprint import bp
from app.api.spec import ERROR_RESPONSES, JSON, content, error_answers, operation, ref

#: The resource modules, in the order of the document's tags.
RESOURCES: tuple[ModuleType, ...] = (
    me,
    clusters,
    posts,
    attachments,
    search,
    audit,
    meetings,
    meeting_documents,
    packs,
    stats,
    workplan,
)

SHARED_SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "additionalProperties": False,
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message", "fields"],
                "additionalProperties": False,
                "properties": {
                    "code": {"type": "string", "examples": ["validation_failed", "not_found"]},
                    "message": {"type": "string"},
                    "fields": {
                        "type": "object",
                        "description": "Field name (nested ones as `incident.port_locode`; `_` for the whole "
                        "body) to message.",
                        "additionalProperties": {"type": "string"},
                    },
                },
            }
        },
    },
    "Author": {
        "type": "object",
        "required": ["name", "organisation"],
        "additionalProperties": False,
        "properties": {"name": {"type": "string"}, "organisation": {"type": "string"}},
    },
}

OWN_PATHS: dict[str, Any] = {
    "/openapi.json": {
        "get": operation(
            "openapi",
            "This document.",
            None,
            {
                "200": {"description": "The OpenAPI 3.1 document.", "content": content({"type": "object"})},
                **error_answers(429),
            },
        )
    },
}


def _error_response(status: int) -> dict[str, Any]:
    _name, description = ERROR_RESPONSES[status]
    response: dict[str, Any] = {"description": description, "content": content(ref("Error"))}
    if status == 401:
        response["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"}}}
    if status == 429:
        response["headers"] = {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "string"}}}
    return response


# --- optimistic concurrency: ETag and If-Match (``app.concurrency``) ------------------------------------

#: Items the API edits: their GET (and a change's answer) sends an ETag; PATCH, PUT and DELETE honour
#: If-Match. The paths that create them send the new item's ETag with 201.
VERSIONED_PATHS = frozenset(
    {
        "/posts/{post_id}",
        "/meetings/{meeting_id}",
        "/meeting-documents/{document_id}",
        "/workplan/items/{item_id}",
        "/attachments/{attachment_id}",
    }
)
CREATING_PATHS = frozenset({"/posts", "/meetings", "/workplan/items", "/posts/{post_id}/attachments"})
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
        for method, described in item.items():
            if method == "parameters":
                continue
            responses = described["responses"]
            sends_tag = (path in VERSIONED_PATHS and method in ("get", "patch", "put")) or (
                path in CREATING_PATHS and method == "post"
            )
            for status in ("200", "201"):
                # A file download's own ETag names its bytes (If-Range), not the item's version.
                described_json = JSON in responses.get(status, {}).get("content", {})
                if sends_tag and status in responses and "$ref" not in responses[status] and described_json:
                    answer = responses[status]
                    responses[status] = {**answer, "headers": {**answer.get("headers", {}), **ETAG_HEADER}}
            if path in VERSIONED_PATHS and method in ("patch", "put", "delete"):
                described["parameters"] = [*described.get("parameters", []), IF_MATCH]
                responses.update(error_answers(409, 412))
    return paths


def build_document(resources: tuple[ModuleType, ...] = RESOURCES) -> dict[str, Any]:
    """The whole document from the resource modules' ``TAG``, ``PATHS`` and ``SCHEMAS``."""
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = dict(SHARED_SCHEMAS)
    tags: list[dict[str, str]] = []
    for module in resources:
        overlap = (set(module.PATHS) & set(paths)) | (set(module.SCHEMAS) & set(schemas))
        assert not overlap, f"OpenAPI entries defined twice: {sorted(overlap)}"
        paths.update(module.PATHS)
        schemas.update(module.SCHEMAS)
        if getattr(module, "TAG", None):
            tags.append(module.TAG)
    paths.update(OWN_PATHS)
    tags.append({"name": "openapi", "description": "This document."})
    return {
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
        "tags": tags,
        "paths": with_concurrency(paths),
        "components": {
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "pax_<43 characters>",
                    "description": "A personal access token with scope read or write.",
                }
            },
            "schemas": schemas,
            "responses": {name: _error_response(status) for status, (name, _d) in ERROR_RESPONSES.items()},
        },
    }


DOCUMENT: dict[str, Any] = build_document()


@bp.get("/openapi.json")
def openapi() -> Response:
    """The API's OpenAPI 3.1 document; public, so tools can read it before holding a token."""
    return jsonify(DOCUMENT)
