"""The administration blueprint; its views live in ``routes`` and the ``*_routes`` modules."""

from __future__ import annotations

from flask import Blueprint
from flask_login import login_required

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
@login_required
def require_sign_in() -> None:
    """Every administration page needs a signed-in user; each view then asks the policy."""
