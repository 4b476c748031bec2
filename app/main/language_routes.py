"""Choosing the language PAX speaks: the header's language selector and its page without script.

A choice is kept for the browser (the ``pax_lang`` cookie) and, for a signed-in member, on their
account, so mail follows it too. The choice is a plain link (as on the Europa sites), so it is
taken only from PAX's own pages: a link from another site changes nothing.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit

from flask import abort, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from app.audit.services import record
from app.auth.routes import safe_next
from app.i18n import remember_language, valid_language
from app.main.blueprint import bp
from app.security import from_this_site


@bp.route("/language")
def languages() -> str:
    return render_template("main/language.html", back=_back())


def _back() -> str:
    """Where the reader was: the page that linked here (PAX sends its own pages' addresses only
    to itself), else their start page."""
    asked = safe_next(request.args.get("next"))
    if asked:
        return asked
    if request.referrer:
        parts = urlsplit(request.referrer)
        if parts.netloc == request.host and parts.path != url_for("main.languages"):
            # Without the page's own ?lang=, which would otherwise outrank the choice just made.
            query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "lang"])
            path = parts.path + (f"?{query}" if query else "")
            kept = safe_next(path)
            if kept:
                return kept
    return url_for("main.dashboard" if current_user.is_authenticated else "main.landing")


@bp.route("/language/<code>")
def choose_language(code: str) -> Response:
    if not valid_language(code):
        abort(404)
    response = redirect(_back())
    if not from_this_site(typed=True):
        return response
    remember_language(response, code)
    if current_user.is_authenticated and current_user.language != code:
        current_user.language = code
        record("auth.language_change", actor=current_user, target=("user", current_user.id), language=code)
    return response
