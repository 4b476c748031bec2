"""Full-text search over the titles, tags and bodies of the posts a user may see.

SQLite uses the FTS5 table ``posts_fts`` (BM25 ranking, ``snippet()``), PostgreSQL the
generated ``search_vector`` column (``ts_rank_cd``, ``ts_headline``); both are made by
migrations. The visibility filter is inside the ranking query.

The work is bounded: only the newest ``WINDOW`` matching posts (visible or not) are ranked, so
a broad query that matches half the archive costs the same as a narrow one, whatever the
archive's size. A first query finds where that window starts; a second ranks the visible
posts inside it and cuts the page (on PostgreSQL it counts them too; SQLite counts apart).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from markupsafe import Markup, escape

from app.clusters.models import Post
from app.clusters.queries import PostFilter, filtered_ids, posts_by_ids
from app.extensions import db
from app.pagination import Page

#: How many of the newest matching posts are considered.
WINDOW = 1000
MAX_TERMS = 12
MAX_QUERY = 500
START, STOP = "\x02", "\x03"


@dataclass
class Hit:
    post: Post
    snippet: Markup
    rank: float


def terms(query: str) -> list[str]:
    """The words searched for; punctuation and operators are ignored."""
    return re.findall(r"\w+", (query or "")[:MAX_QUERY], flags=re.UNICODE)[:MAX_TERMS]


def _highlight(text: str | None) -> Markup:
    escaped = str(escape(text or ""))
    return Markup(escaped.replace(START, "<mark>").replace(STOP, "</mark>"))  # noqa: S704 (escaped above)  # nosec B704


def search(
    user: Any, query: str, filters: PostFilter | None = None, page: int = 1, per_page: int = 20, details: bool = False
) -> Page:
    words = terms(query)
    page = max(1, page)
    if not words:
        return Page(items=[], page=page, per_page=per_page, total=0)
    filters = filters or PostFilter()
    backend = _Sqlite(words) if db.engine.dialect.name == "sqlite" else _Postgresql(words)
    window_start, window_full = backend.window()
    if window_start is None:
        return Page(items=[], page=page, per_page=per_page, total=0)
    candidates = backend.restrict(filtered_ids(user, filters), window_start)
    rows = list(db.session.execute(backend.ranked(candidates, per_page, (page - 1) * per_page)))
    if rows and "total" in rows[0]._fields:
        total = rows[0].total  # counted by the ranking query itself, over the whole window
    else:
        total = db.session.scalar(sa.select(sa.func.count()).select_from(candidates.subquery())) or 0
    posts = {p.id: p for p in posts_by_ids([r.id for r in rows], details=details)}
    hits = [Hit(post=posts[r.id], snippet=_highlight(r.snippet), rank=float(r.rank)) for r in rows if r.id in posts]
    return Page(items=hits, page=page, per_page=per_page, total=total, total_capped=window_full)


class _Sqlite:
    fts = sa.table("posts_fts", sa.column("rowid"))
    column = sa.literal_column("posts_fts")

    def __init__(self, words: list[str]) -> None:
        self.query = " ".join('"' + w.replace('"', "") + '"' for w in words)

    def restrict(self, stmt: sa.Select[Any], start: int) -> sa.Select[Any]:
        """Visible posts of the window that match; the rowid range keeps FTS5 inside the window."""
        return stmt.join(self.fts, self.fts.c.rowid == Post.id).where(
            self.column.op("MATCH")(self.query), self.fts.c.rowid >= start, Post.id >= start
        )

    def window(self) -> tuple[int | None, bool]:
        # FTS5 walks a MATCH in descending rowid order lazily, so this reads WINDOW rows at most.
        newest = (
            sa.select(self.fts.c.rowid.label("id"))
            .where(self.column.op("MATCH")(self.query))
            .order_by(self.fts.c.rowid.desc())
            .limit(WINDOW)
            .subquery()
        )
        start, n = db.session.execute(sa.select(sa.func.min(newest.c.id), sa.func.count())).one()
        return start, n >= WINDOW

    def ranked(self, candidates: sa.Select[Any], limit: int, offset: int) -> sa.Select[Any]:
        # bm25() and snippet() need the FTS table in the same SELECT as its MATCH; the snippet
        # is made for the page's rows only, after ranking.
        rank = sa.func.bm25(self.column, 10.0, 5.0, 1.0)
        top = (
            # FTS5's bm25() cannot run under a window function, so SQLite counts separately.
            candidates.with_only_columns(Post.id.label("id"), rank.label("rank"))
            .order_by(rank, Post.id.desc())
            .limit(limit)
            .offset(offset)
            .subquery()
        )
        return (
            sa.select(top.c.id, top.c.rank, sa.func.snippet(self.column, 2, START, STOP, "…", 24).label("snippet"))
            .select_from(self.fts)
            .join(top, top.c.id == self.fts.c.rowid)
            .where(self.column.op("MATCH")(self.query))
            .order_by(top.c.rank, top.c.id.desc())
        )


class _Postgresql:
    vector = sa.literal_column("posts.search_vector")

    def __init__(self, words: list[str]) -> None:
        self.tsquery = sa.func.plainto_tsquery("english", " ".join(words))

    def matches(self) -> sa.ColumnElement[bool]:
        return self.vector.op("@@")(self.tsquery)

    def restrict(self, stmt: sa.Select[Any], start: int) -> sa.Select[Any]:
        return stmt.where(self.matches(), Post.id >= start)

    def window(self) -> tuple[int | None, bool]:
        """Widen a range of the newest ids until it holds WINDOW matches or the whole archive.

        Each step reads one id range (a broad query fills the window in the first few thousand
        rows, through the primary key); a narrow one widens the range a few times, each step
        answered by the GIN index.
        """
        newest = db.session.scalar(sa.select(sa.func.max(Post.id)))
        if newest is None:
            return None, False
        span = WINDOW * 3
        while True:
            low = max(newest - span, 0)
            in_range = (
                sa.select(Post.id)
                .where(Post.id > low, self.matches())
                .order_by(Post.id.desc())
                .limit(WINDOW)
                .subquery()
            )
            start, n = db.session.execute(sa.select(sa.func.min(in_range.c.id), sa.func.count())).one()
            if n >= WINDOW or low == 0:
                return start, n >= WINDOW
            span *= 4

    def ranked(self, candidates: sa.Select[Any], limit: int, offset: int) -> sa.Select[Any]:
        visible = candidates.subquery()
        rank = sa.func.ts_rank_cd(self.vector, self.tsquery)
        top = (
            sa.select(Post.id.label("id"), rank.label("rank"), sa.func.count().over().label("total"))
            .join(visible, visible.c.id == Post.id)
            .order_by(rank.desc(), Post.id.desc())
            .limit(limit)
            .offset(offset)
            .subquery()
        )
        options = f"StartSel={START}, StopSel={STOP}, MaxWords=40, MinWords=15, MaxFragments=2, FragmentDelimiter=…"
        headline = sa.func.ts_headline("english", Post.body_text, self.tsquery, options)
        return (
            sa.select(top.c.id, top.c.rank, top.c.total, headline.label("snippet"))
            .join(Post, Post.id == top.c.id)
            .order_by(top.c.rank.desc(), top.c.id.desc())
        )
