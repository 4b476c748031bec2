"""Markdown to safe HTML: markdown-it-py renders (raw HTML off), nh3 sanitises what comes out."""

from __future__ import annotations

from html import unescape

import nh3
from markdown_it import MarkdownIt

_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")

ALLOWED_TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "del", "code", "pre",
    "blockquote", "ul", "ol", "li", "a", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}, "th": {"align"}, "td": {"align"}}


def render(markdown: str) -> str:
    """HTML that can be shown as is: no script, no event handlers, only http(s) and mailto links."""
    html = _md.render(markdown or "")
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )


def plain_text(html: str) -> str:
    """The readable text of sanitised HTML: what search indexes and quotes in snippets."""
    return unescape(nh3.clean(html or "", tags=set())).strip()
