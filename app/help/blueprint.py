"""The help blueprint; its views are in ``routes``."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("help", __name__, url_prefix="/help")
