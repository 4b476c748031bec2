"""Indexing incident notes' identifiers as keyed hashes, and finding hits between organisations."""

from __future__ import annotations

from app.clusters.models import Post


def index_note(post: Post) -> None:
    """Replace ``post``'s entries in the match index with its current identifiers."""
    # Filled in by the cross-match work (issue 7, part 4).
