"""The cluster and post pages' blueprint and the attachments' one; their views are in ``routes``
and ``attachment_routes``."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("clusters", __name__)
attachments_bp = Blueprint("attachments", __name__)
