"""Workplan pages: by cluster, timeline, item with history, curation forms, exports."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("workplan", __name__, url_prefix="/workplan")
