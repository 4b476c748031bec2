"""Full-text search over the titles, tags and bodies of the posts a user may see.

SQLite uses the FTS5 table ``posts_fts`` (BM25 ranking, ``snippet()``), PostgreSQL the
generated ``search_vector`` column (``ts_rank_cd``, ``ts_headline``); both are made by
migrations. The visibility filter is inside the ranking query.

The work is bounded: only the newest ``WINDOW`` matching posts (visible or not) are ranked, so
a broad query that matches half the archive costs the same as a narrow one, whatever the
archive's size. A first query finds where that window starts; a second ranks the visible
posts inside it and cuts the page (on PostgreSQL it counts them too; SQLite counts apart).

Container numbers, IMO numbers, UN/LOCODEs and tags in the query are also looked up exactly, in
the incident details and tags of the same visible posts, whatever their spacing or case
("msku 123456-5"). Those posts come first; the full-text hits follow without them, and the total
counts each visible post once. A hidden post is never found this way: the cross-match is the
only way to learn of one.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from markupsafe import Markup, escape
from stdnum.exceptions import ValidationError as StdnumError

from app.clusters.models import IncidentContainer, IncidentDetails, Post, PostTag
from app.clusters.queries import PostFilter, filtered_ids, posts_by_ids
from app.clusters.validation import LOCODE_RE, TAG_RE, parse_container, parse_imo
from app.extensions import db
from app.pagination import Page
from app.validation import normalise_country

#: How many of the newest matching posts are considered.
WINDOW = 1000
MAX_TERMS = 12
MAX_QUERY = 500
START, STOP = "\x02", "\x03"


#: An identifier may be typed in up to this many pieces ("MSKU 123456 5", "IMO 907 4729").
MAX_PIECES = 4


@dataclass
class Hit:
    post: Post
    snippet: Markup
    rank: float
    #: The post holds one of the query's identifiers exactly; such hits come first, unranked.
    exact: bool = False


@dataclass
class Identifiers:
    """The identifiers a query names, compact and upper case (tags lower case)."""

    containers: set[str] = field(default_factory=set)
    imos: set[str] = field(default_factory=set)
    locodes: set[str] = field(default_factory=set)
    tags: set[str] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.containers or self.imos or self.locodes or self.tags)

    def matches(self) -> sa.ColumnElement[bool]:
        """Posts holding one of the identifiers, as a condition on ``Post.id``."""
        found: list[sa.ColumnElement[bool]] = []
        if self.containers:
            numbers = sa.select(IncidentContainer.post_id).where(IncidentContainer.number.in_(self.containers))
            found.append(Post.id.in_(numbers))
        if self.imos or self.locodes:
            details = sa.select(IncidentDetails.post_id).where(
                sa.or_(IncidentDetails.vessel_imo.in_(self.imos), IncidentDetails.port_locode.in_(self.locodes))
            )
            found.append(Post.id.in_(details))
        if self.tags:
            found.append(Post.id.in_(sa.select(PostTag.post_id).where(PostTag.tag.in_(self.tags))))
        return sa.or_(*found) if found else sa.false()

    def snippet(self, post: Post) -> Markup:
        """What the post holds of the query's identifiers, each marked."""
        held: list[tuple[str, str]] = [("Tag", t) for t in post.tag_names if t in self.tags]
        if post.incident is not None:
            incident = post.incident
            held += [("Container", n) for n in incident.container_numbers if n in self.containers]
            if incident.vessel_imo in self.imos:
                held.append(("Vessel IMO", incident.vessel_imo))
            if incident.port_locode in self.locodes:
                held.append(("Port", incident.port_locode))
        return Markup(" · ").join(Markup("{} <mark>{}</mark>").format(label, value) for label, value in held)


def terms(query: str) -> list[str]:
    """The words searched for; punctuation and operators are ignored."""
    return re.findall(r"\w+", (query or "")[:MAX_QUERY], flags=re.UNICODE)[:MAX_TERMS]


def identifiers(query: str) -> Identifiers:
    """The identifiers in a query, each possibly typed in pieces, in any case, with any separators.

    Only what validates counts: a container or IMO number needs its check digit, a UN/LOCODE a
    real country; a UN/LOCODE-shaped word ("cargo") is then just looked up exactly, finding
    nothing unless a port has that code. The whole query is a tag when it has a tag's shape, and
    so is each word written with a leading "#".
    """
    query = (query or "")[:MAX_QUERY]
    found = Identifiers()
    pieces = re.findall(r"[A-Za-z0-9]+", query)[: MAX_TERMS * 2]
    for start in range(len(pieces)):
        for end in range(start + 1, min(start + MAX_PIECES, len(pieces)) + 1):
            _recognise("".join(pieces[start:end]).upper(), found)
    for raw in [query, *re.findall(r"#(\S+)", query)]:
        tag = re.sub(r"\s+", "-", raw.strip().lower().lstrip("#"))
        if TAG_RE.fullmatch(tag):
            found.tags.add(tag)
    return found


def _recognise(compact: str, found: Identifiers) -> None:
    if len(compact) == 11:
        with contextlib.suppress(StdnumError, ValueError):
            found.containers.add(parse_container(compact))
    elif len(compact) in (7, 10) and compact.removeprefix("IMO").isdigit():
        with contextlib.suppress(StdnumError, ValueError):
            found.imos.add(parse_imo(compact))
    elif len(compact) == 5 and (match := LOCODE_RE.fullmatch(compact)) and normalise_country(match.group(1)):
        found.locodes.add(compact)


def _highlight(text: str | None) -> Markup:
    escaped = str(escape(text or ""))
    return Markup(escaped.replace(START, "<mark>").replace(STOP, "</mark>"))  # noqa: S704 (escaped above)  # nosec B704


def search(
    user: Any, query: str, filters: PostFilter | None = None, page: int = 1, per_page: int = 20, details: bool = False
) -> Page:
    words = terms(query)
    page = max(1, page)
    offset = (page - 1) * per_page
    filters = filters or PostFilter()
    named = identifiers(query)
    exact_ids: list[int] = []
    if named:
        exact = filtered_ids(user, filters).where(named.matches()).order_by(Post.id.desc()).limit(WINDOW)
        exact_ids = list(db.session.scalars(exact))
    exact_hits = _exact_hits(named, exact_ids[offset : offset + per_page])
    hits, total, capped = _words_page(
        user, words, named, filters, max(offset - len(exact_ids), 0), per_page - len(exact_hits), details
    )
    return Page(
        items=[*exact_hits, *hits],
        page=page,
        per_page=per_page,
        total=len(exact_ids) + total,
        total_capped=capped or len(exact_ids) >= WINDOW,
    )


def _exact_hits(named: Identifiers, ids: list[int]) -> list[Hit]:
    # Loaded whole: the snippet names the container, vessel or port found.
    return [Hit(post=post, snippet=named.snippet(post), rank=0.0, exact=True) for post in posts_by_ids(ids, True)]


def _words_page(
    user: Any, words: list[str], named: Identifiers, filters: PostFilter, offset: int, limit: int, details: bool
) -> tuple[list[Hit], int, bool]:
    """The full-text hits after the exact ones: ``limit`` of them from ``offset``, their total,
    and whether the window was full."""
    if not words:
        return [], 0, False
    backend = _Sqlite(words) if db.engine.dialect.name == "sqlite" else _Postgresql(words)
    window_start, window_full = backend.window()
    if window_start is None:
        return [], 0, False
    visible = filtered_ids(user, filters)
    if named:
        visible = visible.where(sa.not_(named.matches()))
    candidates = backend.restrict(visible, window_start)
    rows = list(db.session.execute(backend.ranked(candidates, limit, offset))) if limit > 0 else []
    if rows and "total" in rows[0]._fields:
        total = rows[0].total  # counted by the ranking query itself, over the whole window
    else:
        total = db.session.scalar(sa.select(sa.func.count()).select_from(candidates.subquery())) or 0
    posts = {p.id: p for p in posts_by_ids([r.id for r in rows], details=details)}
    hits = [Hit(post=posts[r.id], snippet=_highlight(r.snippet), rank=float(r.rank)) for r in rows if r.id in posts]
    return hits, total, window_full


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
