from __future__ import annotations

from flask import Blueprint
from werkzeug.exceptions import NotFound

from app.extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")
# The API authenticates with bearer tokens, never with the session cookie, so CSRF does not apply.
csrf.exempt(bp)


@bp.route("/", defaults={"path": ""})
@bp.route("/<path:path>")
def unknown(path: str) -> None:
    """Anything under /api/v1 without a route answers the uniform JSON 404."""
    raise NotFound()
