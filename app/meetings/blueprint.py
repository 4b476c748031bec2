"""The ``meetings`` blueprint object, apart from its views so each view module can register on it."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("meetings", __name__, url_prefix="/meetings")
