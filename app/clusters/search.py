"""Full-text search over the titles, tags and bodies of the posts a user may see.

SQLite uses the FTS5 table ``posts_fts`` (BM25 ranking, ``snippet()``), PostgreSQL the
generated ``search_vector`` column (``ts_rank_cd``, ``ts_headline``); both are made by
migrations. The visibility filter is inside the same query. Ranking is bounded: the newest
``POOL`` visible matches are ranked, so a broad query costs the same at any archive size.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from markupsafe import Markup, escape

from app.clusters.models import Post
from app.clusters.queries import Page, PostFilter, filtered_ids, posts_by_ids
from app.extensions import db

#: How many of the newest visible matches are ranked.
POOL = 1000
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
    return Markup(escaped.replace(START, "<mark>").replace(STOP, "</mark>"))  # noqa: S704 (escaped above)


def search(user: Any, query: str, filters: PostFilter | None = None, page: int = 1, per_page: int = 20) -> Page:
    words = terms(query)
    page = max(1, page)
    if not words:
        return Page(items=[], page=page, per_page=per_page, total=0)
    filters = filters or PostFilter()
    dialect = db.engine.dialect.name
    if dialect == "sqlite":
        return _search_sqlite(user, words, filters, page, per_page)
    return _search_postgresql(user, words, filters, page, per_page)


def _page(rows: list[Any], total: int, page: int, per_page: int) -> Page:
    posts = {p.id: p for p in posts_by_ids([r.id for r in rows])}
    hits = [Hit(post=posts[r.id], snippet=_highlight(r.snippet), rank=float(r.rank)) for r in rows if r.id in posts]
    return Page(items=hits, page=page, per_page=per_page, total=min(total, POOL), total_capped=total > POOL)


def _search_sqlite(user: Any, words: list[str], filters: PostFilter, page: int, per_page: int) -> Page:
    match = " ".join('"' + w.replace('"', "") + '"' for w in words)
    fts = sa.table("posts_fts", sa.column("rowid"))
    matches = sa.literal_column("posts_fts").op("MATCH")(match)
    candidates = (
        filtered_ids(user, filters)
        .join(fts, fts.c.rowid == Post.id)
        .where(matches)
        .order_by(Post.id.desc())
        .limit(POOL + 1)
        .subquery()
    )
    total = db.session.scalar(sa.select(sa.func.count()).select_from(candidates)) or 0
    rank = sa.func.bm25(sa.literal_column("posts_fts"), 10.0, 5.0, 1.0)
    ranked = (
        sa.select(
            fts.c.rowid.label("id"),
            rank.label("rank"),
            sa.func.snippet(sa.literal_column("posts_fts"), 2, START, STOP, "…", 24).label("snippet"),
        )
        .select_from(fts)
        .where(matches, fts.c.rowid.in_(sa.select(candidates.c.id).order_by(candidates.c.id.desc()).limit(POOL)))
        .order_by(rank, fts.c.rowid.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return _page(list(db.session.execute(ranked)), total, page, per_page)


def _search_postgresql(user: Any, words: list[str], filters: PostFilter, page: int, per_page: int) -> Page:
    tsquery = sa.func.plainto_tsquery("english", " ".join(words))
    vector = sa.literal_column("posts.search_vector")
    candidates = (
        filtered_ids(user, filters).where(vector.op("@@")(tsquery)).order_by(Post.id.desc()).limit(POOL + 1).subquery()
    )
    total = db.session.scalar(sa.select(sa.func.count()).select_from(candidates)) or 0
    pool = sa.select(candidates.c.id).order_by(candidates.c.id.desc()).limit(POOL).subquery()
    rank = sa.func.ts_rank_cd(vector, tsquery)
    top = (
        sa.select(Post.id.label("id"), rank.label("rank"))
        .join(pool, pool.c.id == Post.id)
        .order_by(rank.desc(), Post.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
        .subquery()
    )
    options = f"StartSel={START}, StopSel={STOP}, MaxWords=40, MinWords=15, MaxFragments=2, FragmentDelimiter=…"
    headline = sa.func.ts_headline("english", Post.body_text, tsquery, options)
    stmt = (
        sa.select(top.c.id, top.c.rank, headline.label("snippet"))
        .join(Post, Post.id == top.c.id)
        .order_by(top.c.rank.desc(), top.c.id.desc())
    )
    return _page(list(db.session.execute(stmt)), total, page, per_page)
