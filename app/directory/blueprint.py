"""The member directory's blueprint; its views are in ``routes``."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("directory", __name__, url_prefix="/directory")
