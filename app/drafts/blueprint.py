"""The drafts blueprint (``/drafts/``); its views and request hooks are in ``app.drafts.routes``."""

from flask import Blueprint

bp = Blueprint("drafts", __name__, url_prefix="/drafts")
