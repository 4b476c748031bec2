"""The /api/v1 blueprint object, apart from its views so every API module can register on it."""

from __future__ import annotations

from flask import Blueprint

from app.extensions import csrf, limiter

bp = Blueprint("api", __name__, url_prefix="/api/v1")
# The API authenticates with bearer tokens, never with the session cookie, so CSRF does not apply.
csrf.exempt(bp)
# Guessing tokens is slowed per client address, across the whole API (one shared counter, not one
# per route); only refused attempts count, but once over the limit every API call waits.
limiter.shared_limit(
    "30 per minute", scope="api-token-guessing", deduct_when=lambda response: response.status_code == 401
)(bp)
