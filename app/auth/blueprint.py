"""The sign-in, onboarding, account and identity-link blueprints; their views are in ``routes``,
``onboarding_routes``, ``account`` and ``link_routes``."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("auth", __name__)
onboarding_bp = Blueprint("onboarding", __name__)
account_bp = Blueprint("account", __name__, url_prefix="/account")
identity_links_bp = Blueprint("identity_links", __name__, url_prefix="/account/identity-links")
