"""Logging for the portal: one line per record, never a secret, token, password or file content.

Request logging names the route and status only; query strings are not logged because
tokens and reset links could travel there.
"""

from __future__ import annotations

import logging
import sys

from flask import Flask


def configure(app: Flask) -> None:
    logger = logging.getLogger("pax")
    logger.setLevel(app.config.get("LOG_LEVEL", "INFO"))
    if not any(getattr(h, "_pax", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler._pax = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    logger.propagate = False
