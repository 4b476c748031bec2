"""URL converters that keep impossible values away from the database.

Every ``<int:...>`` in a route is an id of a 32-bit primary key and every ``<slug>`` is plain
text: larger numbers and control characters answer 404 at routing, instead of reaching
PostgreSQL, which refuses them with an error rather than finding nothing.
"""

from __future__ import annotations

import re

from flask import Flask
from werkzeug.routing import IntegerConverter, UnicodeConverter

MAX_ID = 2**31 - 1
#: A cluster's slug as links and the API name it; anything else names no cluster (404 or a refusal).
SLUG = re.compile(r"[a-z0-9-]{1,64}")


class IdConverter(IntegerConverter):
    def __init__(self, map, *args, **kwargs):  # type: ignore[no-untyped-def]
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


class TextConverter(UnicodeConverter):
    """Like the default converter, without control characters."""

    def __init__(self, map, *args, **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(map, *args, **kwargs)
        self.regex = r"[^/\x00-\x1f\x7f]" + self.regex.removeprefix("[^/]")


def register(app: Flask) -> None:
    """Install before any blueprint is registered, so every route uses them."""
    app.url_map.converters["int"] = IdConverter
    app.url_map.converters["default"] = TextConverter
    app.url_map.converters["string"] = TextConverter
