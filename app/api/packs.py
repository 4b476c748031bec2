"""Meeting packs over the API: the streamed, signed zip, and the public key that verifies it.

``GET /meetings/{id}/pack`` answers what the meeting page's download button answers (the same
``pack_response``); ``GET /pack-key`` is public, since recipients verify packs offline and the
key is no secret.
"""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify

from app.api.auth import api_user, token_required
from app.api.blueprint import bp
from app.api.inputs import id_or_404
from app.api.spec import ERROR_CONTENT, error_answers, ok, operation, path_id
from app.errors import ApiError
from app.keys.signing import ALGORITHM, key_id, public_key_b64
from app.meetings.pack import EMPTY_MESSAGE, PackEmpty, build_pack, pack_response
from app.policy import meeting_or_404

#: Recipients and their tools may cache the key briefly; a rotated key shows within minutes.
PACK_KEY_MAX_AGE = 300


@bp.get("/meetings/<meeting_id>/pack")
@token_required("read")
def meeting_pack(meeting_id: str) -> Response:
    user = api_user()
    # Meeting ids are parsed like post ids: anything that cannot be an id is simply not found.
    meeting = meeting_or_404(user, id_or_404(meeting_id))
    try:
        pack = build_pack(user, meeting)
    except PackEmpty:
        raise ApiError(404, EMPTY_MESSAGE, code="pack_empty") from None
    return pack_response(pack, user)


@bp.get("/pack-key")
def pack_key() -> Response:
    """The public key that verifies ``manifest.sig`` in every pack; no token needed."""
    response = jsonify({"algorithm": ALGORITHM, "public_key": public_key_b64(), "key_id": key_id()})
    response.headers["Cache-Control"] = f"public, max-age={PACK_KEY_MAX_AGE}"
    return response


# --- OpenAPI -------------------------------------------------------------------------------------

TAG = {"name": "packs", "description": "Signed meeting packs and the key that verifies them offline."}

PATHS: dict[str, Any] = {
    "/meetings/{meeting_id}/pack": {
        "parameters": [path_id("meeting_id", "meeting")],
        "get": operation(
            "packs_download",
            "The meeting pack: one zip of the meeting documents the caller may see, streamed.",
            "read",
            {
                "200": {
                    "description": "A zip (entries stored, Content-Length known) holding `index.html` (the "
                    "agenda with links), `manifest.json` (meeting, generated_at, recipient, files with name, "
                    "size, sha256 and tlp, withheld, key_id), `manifest.sig` (base64 Ed25519 signature over "
                    "the exact bytes of manifest.json) and the documents, numbered in agenda order. Every "
                    "download is audited. A failure while streaming ends the body early (short of "
                    "Content-Length): discard such a zip.",
                    "headers": {
                        "Content-Length": {"schema": {"type": "string"}},
                        "Content-Disposition": {"schema": {"type": "string"}},
                    },
                    "content": {
                        "application/zip": {"schema": {"type": "string", "contentMediaType": "application/zip"}}
                    },
                },
                **error_answers(401, 429),
                "404": {
                    "description": "No such meeting, or one the caller may not see (code `not_found`); or a "
                    "meeting none of whose documents the caller may see (code `pack_empty`): no empty zip.",
                    "content": ERROR_CONTENT,
                },
                "500": {
                    "description": "A document failed its integrity check; nothing of the pack was sent.",
                    "content": ERROR_CONTENT,
                },
                "503": {
                    "description": "A document's key or the file store is unavailable.",
                    "content": ERROR_CONTENT,
                },
            },
        ),
    },
    "/pack-key": {
        "get": operation(
            "packs_key",
            "The portal's public key for verifying meeting packs offline.",
            None,
            {
                "200": ok(
                    "The Ed25519 public key; verify manifest.sig over manifest.json's exact bytes with it.",
                    "PackKey",
                    headers={"Cache-Control": {"schema": {"type": "string"}}},
                ),
                **error_answers(429),
            },
        )
    },
}

SCHEMAS: dict[str, Any] = {
    "PackKey": {
        "type": "object",
        "required": ["algorithm", "public_key", "key_id"],
        "properties": {
            "algorithm": {"const": ALGORITHM},
            "public_key": {
                "type": "string",
                "contentEncoding": "base64",
                "description": "The raw 32-byte Ed25519 public key (RFC 8032), base64.",
            },
            "key_id": {
                "type": "string",
                "pattern": "^[0-9a-f]{16}$",
                "description": "First 16 hex digits of the SHA-256 of the raw public key; each manifest names "
                "the key that signed it.",
            },
        },
        "additionalProperties": False,
    }
}
