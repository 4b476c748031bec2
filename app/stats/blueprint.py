"""The statistics pages' blueprint; its views are in ``routes``."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("stats", __name__, url_prefix="/stats")
