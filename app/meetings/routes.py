"""Meeting pages: list, schedule, agenda, minutes, documents, calendar files."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("meetings", __name__, url_prefix="/meetings")
