"""JSON Schemas (draft 2020-12) of what /api/v1 answers and accepts: the OpenAPI document's components.

Enumerations come from the models so they cannot drift; ``tests/test_api_openapi.py`` validates
real responses against these schemas.
"""

from __future__ import annotations

from typing import Any

from app.api.inputs import MAX_PER_PAGE
from app.auth.models import GlobalRole
from app.clusters.models import MembershipRole, ModusOperandi, PostType, Substance
from app.clusters.validation import MAX_BODY, MAX_CONTAINERS, MAX_RECIPIENTS, MAX_TAGS, MAX_TITLE
from app.crossmatch.models import IdentifierKind
from app.directory.models import OrgType
from app.markings import Tlp


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


_string_list = {"type": "array", "items": {"type": "string"}}
_timestamp = {"type": "string", "format": "date-time", "description": "ISO 8601 with UTC offset."}


def _list_of(item: str, capped: bool = True) -> dict[str, Any]:
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


_POST_SUMMARY_PROPERTIES: dict[str, Any] = {
    "id": {"type": "integer", "minimum": 1},
    "type": {"enum": PostType.values()},
    "cluster": {"type": "string", "description": "The cluster's slug."},
    "title": {"type": "string", "maxLength": MAX_TITLE},
    "tlp": {"enum": Tlp.values()},
    "law_enforcement_only": {"type": "boolean"},
    "tags": _string_list,
    "author": {
        "description": "Null when the author's account no longer exists.",
        "anyOf": [ref("Author"), {"type": "null"}],
    },
    "organisation": {"type": "string", "description": "The author's organisation when the post was written."},
    "version": {"type": "integer", "minimum": 1},
    "created_at": _timestamp,
    "updated_at": _timestamp,
    "url": {"type": "string", "description": "The post's page in the portal, relative to its base URL."},
}

_POST_PROPERTIES: dict[str, Any] = {
    **_POST_SUMMARY_PROPERTIES,
    "body": {"type": "string", "maxLength": MAX_BODY, "description": "Markdown, as written."},
    "body_html": {"type": "string", "description": "The Markdown rendered and sanitised: safe to show as is."},
    "recipient_orgs": {**_string_list, "description": "Named recipient organisations (AMBER, AMBER+STRICT)."},
    "recipient_users": {**_string_list, "description": "E-mail addresses of named recipients (RED)."},
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
    "ClusterList": _list_of("Cluster", capped=False),
    "Author": {
        "type": "object",
        "required": ["name", "organisation"],
        "additionalProperties": False,
        "properties": {"name": {"type": "string"}, "organisation": {"type": "string"}},
    },
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
        "required": [name for name in _POST_PROPERTIES if name != "matches"],
        "additionalProperties": False,
        "properties": _POST_PROPERTIES,
    },
    "PostList": _list_of("Post"),
    "Match": {
        "type": "object",
        "required": ["kind", "identifier", "indexed_at", "post_id", "url", "organisation"],
        "additionalProperties": False,
        "description": "Another organisation's incident note shares an identifier with this one. Nothing of that "
        "note is given beyond what its marking already shows the caller.",
        "properties": {
            "kind": {"enum": IdentifierKind.values()},
            "identifier": {"type": "string", "description": "The caller's own value, from this note."},
            "indexed_at": {**_timestamp, "description": "When the other note's identifier was indexed."},
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
    "SearchHit": {
        "type": "object",
        "required": [*_POST_SUMMARY_PROPERTIES, "snippet", "rank"],
        "additionalProperties": False,
        "properties": {
            **_POST_SUMMARY_PROPERTIES,
            "snippet": {"type": "string", "description": "HTML: escaped text with <mark> around the matches."},
            "rank": {
                "type": "number",
                "description": "The backend's relevance score; items are already in rank order.",
            },
        },
    },
    "SearchResults": _list_of("SearchHit"),
    "Attachment": {
        "type": "object",
        "required": ["id", "post_id", "filename", "size", "sha256", "media_type", "created_at", "url"],
        "additionalProperties": False,
        "description": "A file of a post. The name, type and digest are stored encrypted; they are null only "
        "if the file's key cannot be opened (the administrators are alerted).",
        "properties": {
            "id": {"type": "integer"},
            "post_id": {"type": "integer"},
            "filename": {"type": ["string", "null"], "description": "Sanitised: no path, no control characters."},
            "size": {"type": "integer", "minimum": 0, "description": "Bytes."},
            "sha256": {"type": ["string", "null"], "pattern": "^[0-9a-f]{64}$"},
            "media_type": {"type": ["string", "null"], "description": "Sniffed from the content, not declared."},
            "created_at": {"type": "string", "format": "date-time"},
            "url": {"type": "string", "description": "Where to download it (GET, read scope)."},
        },
    },
    "AttachmentUpload": {
        "type": "object",
        "required": ["file"],
        "properties": {"file": {"type": "string", "contentMediaType": "application/octet-stream"}},
    },
}
