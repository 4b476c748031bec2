"""Comparing two versions of a post, word by word, for the history page.

The texts are split into words, spaces and punctuation, and ``difflib`` finds what changed;
each side is then written as HTML with escaped text, removals in ``<del>`` on the earlier side
and additions in ``<ins>`` on the later one, each also saying so in words for screen readers
(never colour alone). Only versions the reader may see are loaded (``visible_post_versions``);
the current version is the post itself, already loaded through the policy.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from markupsafe import Markup, escape

from app.clusters.models import Post, PostVersion
from app.extensions import db
from app.markings import Tlp
from app.policy import refuse, visible_post_versions

_TOKENS = re.compile(r"\s+|\w+|[^\w\s]")
#: Beyond this many tokens on a side, texts are compared line by line (the word diff is quadratic).
MAX_WORD_TOKENS = 20_000


@dataclass(frozen=True)
class Side:
    """One version as the comparison shows it."""

    number: int
    title: str
    body: str
    tlp: Tlp
    law_enforcement_only: bool
    current: bool


@dataclass(frozen=True)
class Comparison:
    earlier: Side
    later: Side
    title: tuple[Markup, Markup]
    body: tuple[Markup, Markup]
    changed: bool


def _tokens(text: str) -> list[str]:
    tokens = _TOKENS.findall(text)
    if len(tokens) > MAX_WORD_TOKENS:
        return text.splitlines(keepends=True)
    return tokens


_DELETED = Markup('<del><span class="ecl-u-sr-only">[{}: </span>{}<span class="ecl-u-sr-only">]</span></del>')
_INSERTED = Markup('<ins><span class="ecl-u-sr-only">[{}: </span>{}<span class="ecl-u-sr-only">]</span></ins>')


def word_diff(old: str, new: str) -> tuple[Markup, Markup]:
    """``old`` with its removed words in ``<del>`` and ``new`` with its added words in ``<ins>``."""
    a, b = _tokens(old), _tokens(new)
    # What a screen reader says before a removed or an added passage, in the reader's language.
    removed_word, added_word = _("removed"), _("added")
    left: list[Markup] = []
    right: list[Markup] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        removed, added = "".join(a[i1:i2]), "".join(b[j1:j2])
        if op == "equal":
            left.append(escape(removed))
            right.append(escape(added))
            continue
        if removed:
            left.append(_DELETED.format(removed_word, removed))
        if added:
            right.append(_INSERTED.format(added_word, added))
    return Markup("").join(left), Markup("").join(right)


def _side(user: Any, post: Post, number: int) -> Side:
    if number == post.version:
        return Side(number, post.title, post.body, post.tlp, post.law_enforcement_only, True)
    version = db.session.scalar(
        sa.select(PostVersion).where(
            PostVersion.post_id == post.id, PostVersion.version == number, visible_post_versions(user)
        )
    )
    if version is None:
        refuse(user, 404, ("post_version", f"{post.id}/{number}"), "view")
    return Side(number, version.title, version.body, version.tlp, version.law_enforcement_only, False)


def compare_versions(user: Any, post: Post, first: int, second: int) -> Comparison:
    """The two versions, earlier first, compared; a version the user may not see (or that does
    not exist) is 404, as the post would be."""
    low, high = sorted((first, second))
    earlier, later = _side(user, post, low), _side(user, post, high)
    title = word_diff(earlier.title, later.title)
    body = word_diff(earlier.body, later.body)
    changed = (earlier.title, earlier.body) != (later.title, later.body)
    return Comparison(earlier, later, title, body, changed)
