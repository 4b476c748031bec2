"""The meeting pack download from the meeting page."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("packs", __name__, url_prefix="/meetings")
