"""Who hears of what: the fan-out of new posts, meetings and workplan deadlines to members."""

from __future__ import annotations

from app.clusters.models import Post


def announce_post(post: Post) -> None:
    """Notify the cluster's subscribers who may see ``post`` (never its author)."""
    # Filled in by the notifications work (issue 7, part 2).
