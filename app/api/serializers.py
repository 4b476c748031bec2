"""JSON helpers every API resource module shares; each resource's own shapes live in its module."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.pagination import Page


def timestamp(value: datetime) -> str:
    """ISO 8601 with its UTC offset (the columns hold aware UTC datetimes)."""
    return value.isoformat()


def page_json(page: Page, items: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "items": items,
        "page": page.page,
        "per_page": page.per_page,
        "total": page.total,
        "total_capped": page.total_capped,
    }
