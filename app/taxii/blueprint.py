"""The /taxii2/ blueprint object (TAXII 2.1, read only), apart from its views."""

from __future__ import annotations

import hashlib

from flask import Blueprint, current_app, request

from app.extensions import csrf, limiter

bp = Blueprint("taxii", __name__, url_prefix="/taxii2")
# Bearer tokens, never the session cookie: CSRF does not apply (and nothing here writes).
csrf.exempt(bp)


def _token_key() -> str:
    """Pulls are counted per token (a digest of the header, never the secret itself)."""
    header = request.headers.get("Authorization", "")
    return "taxii:" + hashlib.sha256(header.encode()).hexdigest()[:32]


def _taxii_limit() -> str:
    return str(current_app.config["TAXII_RATE_LIMIT"])


limiter.limit(_taxii_limit, key_func=_token_key)(bp)
# Guessing tokens is slowed per client address, as on /api/v1; only refused attempts count.
limiter.shared_limit(
    "30 per minute", scope="taxii-token-guessing", deduct_when=lambda response: response.status_code == 401
)(bp)
