"""Pages of a long list: which page a query string asks for, how many rows there are (counted
up to a cap, so a huge result costs no full count), and the page a list template shows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from werkzeug.datastructures import MultiDict

from app.extensions import db
from app.parsers import is_number

#: Counts stop here; a page then says "more than 1,000".
COUNT_CAP = 1000
#: The highest page number a query string may ask for.
MAX_PAGE = 100_000


@dataclass
class Page:
    items: list[Any]
    page: int
    per_page: int
    total: int
    #: True when ``total`` stopped at the cap and there are more.
    total_capped: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def first(self) -> int:
        """1-based position of the page's first item (0 when empty)."""
        return (self.page - 1) * self.per_page + 1 if self.items else 0

    @property
    def last(self) -> int:
        return (self.page - 1) * self.per_page + len(self.items)

    @property
    def has_next(self) -> bool:
        return self.page < self.pages or (self.total_capped and self.page * self.per_page < self.total + 1)


def capped_count(stmt: sa.Select[Any], cap: int = COUNT_CAP) -> tuple[int, bool]:
    """How many rows ``stmt`` yields, counting at most ``cap + 1``."""
    n = db.session.scalar(sa.select(sa.func.count()).select_from(stmt.limit(cap + 1).subquery())) or 0
    return min(n, cap), n > cap


def page_number(args: MultiDict[str, str]) -> int:
    raw = (args.get("page") or "1").strip()
    return min(max(int(raw), 1), MAX_PAGE) if is_number(raw, 8) else 1
