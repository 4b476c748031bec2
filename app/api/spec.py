"""Building blocks of the OpenAPI document that every API resource module describes itself with.

Each resource module (``posts``, ``meetings``, ...) keeps its routes, its serializers and its
``PATHS`` and ``SCHEMAS`` together, written with these helpers; ``app.api.openapi`` assembles
them into the one document. Nothing here knows a resource.
"""

from __future__ import annotations

from typing import Any

from app.api.inputs import JSON_MAX_BYTES, MAX_PAGE, MAX_PER_PAGE
from app.files.sniff import ALLOWED as ALLOWED_FILES
from app.routing import MAX_ID

JSON = "application/json"
#: A stored file is served with the media type sniffed at upload, one of those the portal accepts.
FILE_CONTENT: dict[str, Any] = {media_type: {"schema": {"type": "string"}} for media_type in sorted(ALLOWED_FILES)}
TIMESTAMP: dict[str, Any] = {"type": "string", "format": "date-time", "description": "ISO 8601 with UTC offset."}
STRINGS: dict[str, Any] = {"type": "array", "items": {"type": "string"}}

#: The documented error answers: status to (component name, description).
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


def ref(name: str) -> dict[str, str]:
    """A reference to the schema ``name`` of the document's components."""
    return {"$ref": f"#/components/schemas/{name}"}


def content(schema: dict[str, Any]) -> dict[str, Any]:
    """A JSON body with ``schema``."""
    return {JSON: {"schema": schema}}


#: The uniform error body, for answers described in place rather than by ``errors``.
ERROR_CONTENT: dict[str, Any] = content(ref("Error"))


def ok(description: str, schema: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    """A successful answer whose body is the component schema ``schema``."""
    response: dict[str, Any] = {"description": description, "content": content(ref(schema))}
    if headers:
        response["headers"] = headers
    return response


def error_answers(*statuses: int) -> dict[str, Any]:
    """The shared error answers of these statuses, by reference."""
    return {str(status): {"$ref": f"#/components/responses/{ERROR_RESPONSES[status][0]}"} for status in statuses}


def file_download(description: str) -> dict[str, Any]:
    """The answers of a stored file's download: the bytes, a byte range, and the file failures."""
    return {
        "200": {
            "description": "The whole file, with Content-Disposition naming it. Every download is audited.",
            "content": FILE_CONTENT,
        },
        "206": {"description": description, "content": FILE_CONTENT},
        "416": {"description": "The range lies outside the file."},
        **error_answers(401, 404, 429),
        "500": {
            "description": "The stored file failed its integrity check; nothing of it was sent.",
            "content": ERROR_CONTENT,
        },
        "503": {"description": "The file's key or the file store is unavailable.", "content": ERROR_CONTENT},
    }


#: What refuses a streamed upload besides the shared errors.
UPLOAD_FAILURES: dict[str, Any] = {
    "503": {"description": "The file store is unavailable.", "content": ERROR_CONTENT},
    "507": {
        "description": "The file store is full (code `storage_full`); nothing of the file was kept.",
        "content": ERROR_CONTENT,
    },
}


def path_id(name: str, what: str) -> dict[str, Any]:
    """The path parameter ``name``: the id of a ``what``."""
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": f"The {what}'s id.",
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
    }


def query_param(name: str, description: str, schema: dict[str, Any], required: bool = False) -> dict[str, Any]:
    """A query parameter."""
    return {"name": name, "in": "query", "required": required, "description": description, "schema": schema}


def location_header(description: str) -> dict[str, Any]:
    """The ``Location`` header of a 201."""
    return {"Location": {"description": description, "schema": {"type": "string"}}}


PAGE_PARAMS = [
    query_param("page", "Page number, from 1.", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1}),
    query_param(
        "per_page",
        f"Items per page, at most {MAX_PER_PAGE}.",
        {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE, "default": 20},
    ),
]


def list_of(item: str, capped: bool = True) -> dict[str, Any]:
    """A page of ``item``s: ``items``, ``page``, ``per_page``, ``total`` (and ``total_capped``)."""
    properties: dict[str, Any] = {
        "items": {"type": "array", "items": ref(item)},
        "page": {"type": "integer", "minimum": 1},
        "per_page": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE},
        "total": {"type": "integer", "minimum": 0, "description": "Counted up to 1,000."},
    }
    required = ["items", "page", "per_page", "total"]
    if capped:
        properties["total_capped"] = {
            "type": "boolean",
            "description": "True when there are more than `total` (1,000) matches.",
        }
        required.append("total_capped")
    return {"type": "object", "required": required, "properties": properties, "additionalProperties": False}


#: How downloads of PDFs marked AMBER or stricter differ (``app.files.watermark``).
STAMPED_PDF_NOTE = (
    "A PDF marked AMBER, AMBER+STRICT or RED is sent as a copy stamped on every page with the marking, the "
    "caller's name and organisation, the date and a forensic reference, also sent in the `X-Pax-Watermark` "
    "header and kept in the download's audit event (`flask audit trace REF`); such a copy is sent whole "
    "(no ranges). A PDF that cannot be opened for stamping is 422 `file_not_stampable`, never sent unstamped."
)


def operation(
    operation_id: str,
    summary: str,
    scope: str | None,
    responses: dict[str, Any],
    parameters: list[dict[str, Any]] | None = None,
    body: str | None = None,
    description: str | None = None,
) -> dict[str, Any]:
    """One operation; its tag is the start of ``operation_id``, ``scope`` None makes it public."""
    described: dict[str, Any] = {"operationId": operation_id, "summary": summary, "tags": [operation_id.split("_")[0]]}
    if description:
        described["description"] = description
    if scope is None:
        described["security"] = []
    else:
        described["x-required-scope"] = scope
    if parameters:
        described["parameters"] = parameters
    if body:
        described["requestBody"] = {"required": True, "content": content(ref(body))}
    described["responses"] = responses
    return described


def multipart(schema: str) -> dict[str, Any]:
    """The request body of an upload: multipart form data described by ``schema``."""
    return {"required": True, "content": {"multipart/form-data": {"schema": ref(schema)}}}


READ = error_answers(401, 429)
WRITE_BODY = error_answers(400, 401, 403, 413, 415, 422, 429)
