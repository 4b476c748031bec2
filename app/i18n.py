"""The reader's language: which of the EU's 24 official languages PAX speaks to whom.

Everything PAX itself says (pages, forms, flash messages, mail, the API's ``message`` texts,
meeting packs, calendar files) goes through gettext (Flask-Babel) and the catalogs under
``translations/``; what members write stays in the language they wrote it in.

The language of a request, in order: an explicit ``?lang=`` (the pages' ``hreflang``
alternates), the signed-in member's saved choice, the visitor's ``pax_lang`` cookie, then the
browser's ``Accept-Language`` (a first visit), then English. Mail is written in the
recipient's language (``in_language_of``), never in the sender's.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

from babel import Locale
from flask import Flask, g, has_request_context, request
from flask_babel import Babel, force_locale, get_locale

DEFAULT_LANGUAGE = "en"
COOKIE_NAME = "pax_lang"
COOKIE_MAX_AGE = 365 * 24 * 3600

#: The official languages of the EU, each named in itself, in the order the Europa sites list them.
LANGUAGES: dict[str, str] = {
    "bg": "български",
    "es": "español",
    "cs": "čeština",
    "da": "dansk",
    "de": "Deutsch",
    "et": "eesti",
    "el": "ελληνικά",
    "en": "English",
    "fr": "français",
    "ga": "Gaeilge",
    "hr": "hrvatski",
    "it": "italiano",
    "lv": "latviešu",
    "lt": "lietuvių",
    "hu": "magyar",
    "mt": "Malti",
    "nl": "Nederlands",
    "pl": "polski",
    "pt": "português",
    "ro": "română",
    "sk": "slovenčina",
    "sl": "slovenščina",
    "fi": "suomi",
    "sv": "svenska",
}


def valid_language(code: str | None) -> bool:
    return bool(code) and code in LANGUAGES


def _chosen() -> str | None:
    """The language the request asked for or the reader chose, before the browser's guess."""
    explicit = request.args.get("lang")
    if valid_language(explicit):
        return explicit
    from flask_login import current_user

    saved = getattr(current_user, "language", None) if current_user else None
    if valid_language(saved):
        return saved
    cookie = request.cookies.get(COOKIE_NAME)
    return cookie if valid_language(cookie) else None


def select_language() -> str:
    """Flask-Babel's locale selector (see the module docstring for the order)."""
    if not has_request_context():
        return DEFAULT_LANGUAGE
    cached = g.get("pax_language")
    if cached:
        return cached
    language = _chosen() or request.accept_languages.best_match(LANGUAGES, default=DEFAULT_LANGUAGE)
    g.pax_language = language
    return language


def current_language() -> str:
    locale = get_locale()
    return str(locale) if locale is not None else DEFAULT_LANGUAGE


def language_of(user: Any) -> str:
    """The language ``user`` reads PAX in: their saved choice, else English (mail written
    outside a request has no browser to ask)."""
    saved = getattr(user, "language", None)
    return saved if valid_language(saved) else DEFAULT_LANGUAGE


@contextmanager
def in_language_of(user: Any) -> Iterator[None]:
    """Write what the block composes (a mail, a digest) in ``user``'s language."""
    with force_locale(language_of(user)):
        yield


@cache
def locale_named(code: str) -> Locale:
    return Locale.parse(code)


def init_app(app: Flask) -> None:
    Babel(app, locale_selector=select_language, default_translation_directories="../translations")
    # Every {% trans %} block's whitespace is folded, so a re-indented template keeps its msgids.
    app.jinja_env.policies["ext.i18n.trimmed"] = True
    app.jinja_env.globals["LANGUAGES"] = LANGUAGES
    app.jinja_env.globals["current_language"] = current_language
