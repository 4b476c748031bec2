"""Rendered HTML fragments kept per process, keyed by everything they show.

A list page is mostly post cards (``app.clusters.cards.post_card``), and rendering a card's
macros costs more than loading the post. A card shows nothing that depends on who reads it, so
once the policy has let a post into a page its card can come from here. The key holds the post's
identity, version and timestamps and every related value the card prints, so an edit, a rename
or a reused id is a miss, never stale HTML; an entry is only ever reached through a post, or a
post's card columns (``app.clusters.queries.CARD_COLUMNS``), that the reader's policy-filtered
query has just returned.

Every page's site header and footer are kept the same way (``site_chrome``), keyed by exactly
the values they print: a header holds its reader's name, e-mail, organisation and role, and is
found again only under those values, in the reader's language.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, request
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

from app.htmlcache.lru import LruCache
from app.i18n import current_language

#: Cards of the most recently shown posts; a card is about 1.5 KB.
CAPACITY = 4096


def fragments() -> LruCache[Markup]:
    return current_app.extensions["pax_fragments"]


#: Stands in for the CSRF token in a rendered header (base.html passes it as ``csrf``); each
#: request puts its own token there.
CSRF_SLOT = "pax-csrf-token-slot"
#: Headers of the most recent readers and pages (about 7 KB each).
CHROME_CAPACITY = 1024


def site_chrome(name: str, **shown: Any) -> Markup:
    """A macro of templates/_chrome.html, rendered once per set of arguments. The macros read
    nothing but their arguments (and url_for), so the arguments, which are what the fragment
    shows, are its key: a reader's name, role or unread count changing is a different entry."""
    key = (name, request.script_root, current_language(), *sorted(shown.items()))

    def render() -> Markup:
        macro = getattr(current_app.jinja_env.get_template("_chrome.html").module, name)
        return macro(**shown)

    html = current_app.extensions["pax_chrome"].get(key, render)
    return html.replace(CSRF_SLOT, generate_csrf()) if CSRF_SLOT in html else html


def register(app: Flask) -> None:
    app.extensions["pax_fragments"] = LruCache[Markup](CAPACITY)
    app.extensions["pax_chrome"] = LruCache[Markup](CHROME_CAPACITY)
    app.jinja_env.globals["site_chrome"] = site_chrome
    app.jinja_env.globals["csrf_slot"] = CSRF_SLOT
