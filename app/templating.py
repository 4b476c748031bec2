"""What every template may use: the policy's answers, never its rules."""

from __future__ import annotations

from datetime import date, datetime

from babel.numbers import format_decimal
from flask import Flask
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup

from app import localtime, policy
from app.clusters.cards import post_card
from app.clusters.names import cluster_description, cluster_label
from app.db import utcnow
from app.files.scanning import WAITING_FOR_SCAN
from app.files.sniff import kind_label
from app.htmlcache import fragments
from app.i18n import current_language, format_size


def register(app: Flask) -> None:
    @app.context_processor
    def inject_globals() -> dict[str, object]:
        return {
            "site_name": "PAX",
            "site_long_name": _("European Ports Alliance exchange"),
            "can": lambda action, target=None: policy.can(current_user, action, target),
            "current_year": utcnow().year,
        }

    fragments.register(app)
    app.jinja_env.globals["post_card"] = post_card
    app.jinja_env.globals["cluster_label"] = cluster_label
    app.jinja_env.globals["cluster_description"] = cluster_description
    app.jinja_env.globals["human_size"] = format_size
    app.jinja_env.globals["file_kind_label"] = kind_label
    app.jinja_env.globals["WAITING_FOR_SCAN"] = WAITING_FOR_SCAN

    # Pages are written in the reader's zone (``app.localtime``): Brussels unless they chose another.
    @app.template_filter("datetime")
    def datetime_filter(value: datetime | None, seconds: bool = False, with_zone: bool = False) -> str:
        return localtime.format_datetime(value, localtime.zone_of(current_user), seconds=seconds, with_zone=with_zone)

    @app.template_filter("number")
    def number_filter(value: int | float | None) -> str:
        """``1,234`` in English, ``1 234`` in French, ``1.234`` in German."""
        if value is None:
            return ""
        language = current_language()
        # Babel reads its pattern at every call: English, the common case, is Python's own.
        return f"{value:,}" if language == "en" and isinstance(value, int) else format_decimal(value, locale=language)

    @app.template_filter("sentence")
    def sentence_filter(value: str) -> Markup | str:
        """The first letter in upper case and the rest left alone (``|capitalize`` lowers the
        rest, which breaks German nouns and names)."""
        text = value if isinstance(value, Markup) else str(value)
        return text[:1].upper() + text[1:]

    @app.template_filter("date")
    def date_filter(value: date | datetime | None) -> str:
        return localtime.format_date(value, localtime.zone_of(current_user))
