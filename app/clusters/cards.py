"""Post cards from the HTML cache: a list page's cards rendered once per post version
(``app.htmlcache.fragments`` says what keys them and why that is safe)."""

from __future__ import annotations

from typing import Any

from flask import current_app, request
from markupsafe import Markup

from app.clusters.queries import PostCard, card_identity
from app.htmlcache.fragments import fragments
from app.i18n import current_language


def post_card(item: Any, heading_level: int = 2, show_cluster: bool = True) -> Markup:
    """``pax.post_item`` for a post or a ``PostCard`` (no custom description), rendered once per
    version; a ``PostCard`` whose card is here needs no post loaded at all."""
    # Links are built under the request's prefix (a reverse proxy may mount PAX below /), and the
    # card's own words (its kind, "by", dates) are in the reader's language.
    shown = (heading_level, show_cluster, request.script_root)
    language = current_language()
    if isinstance(item, PostCard):
        found = fragments().find(("post_item", language, *item.identity, *shown))
        if found is not None:
            return found
        loaded = item.post
        if loaded is None:
            return Markup("")
        item = loaded
    post = item

    def render() -> Markup:
        macro = current_app.jinja_env.get_template("macros/pax.html").module.post_item  # type: ignore[attr-defined]
        return macro(post, heading_level=heading_level, show_cluster=show_cluster)

    # Keyed by the post as loaded now, so a card is never filed under an older version's key.
    return fragments().get(("post_item", language, *card_identity(post), *shown), render)
