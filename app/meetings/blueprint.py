"""The meetings blueprint (views in ``routes``, ``agenda_routes``, ``document_routes``) and the
packs' one (``pack_routes``)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("meetings", __name__, url_prefix="/meetings")
packs_bp = Blueprint("packs", __name__, url_prefix="/meetings")
