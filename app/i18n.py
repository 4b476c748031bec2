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

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any, TypeVar

from babel import Locale
from babel.numbers import format_decimal
from flask import Flask, Response, g, has_request_context, request, url_for
from flask_babel import Babel, force_locale, get_locale, ngettext
from flask_babel import gettext as _
from werkzeug.routing import BuildError

T = TypeVar("T")

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
    saved = _saved_language()
    if valid_language(saved):
        return saved
    cookie = request.cookies.get(COOKIE_NAME)
    return cookie if valid_language(cookie) else None


def reader_loaded(user: Any) -> None:
    """Called when the request's reader is known (a session's member, an API token's owner):
    their saved language is noted then, while their row is fresh. A language asked for later,
    even inside another transaction (``db.independent_transaction``), needs no query."""
    g.pax_saved_language = getattr(user, "language", None)


def _saved_language() -> str | None:
    if "pax_saved_language" in g:
        return g.pax_saved_language
    if "_login_user" in g or g.get("pax_loading_reader"):
        # Signed out, or being loaded: loading a member may itself say something (a flash that
        # their session ended), which asks for the language again.
        return None
    from flask_login import current_user
    from sqlalchemy.exc import SQLAlchemyError

    g.pax_loading_reader = True
    try:
        current_user._get_current_object()  # the user loader calls reader_loaded
    except SQLAlchemyError:  # the error page of a database outage still needs a language
        return None
    finally:
        g.pax_loading_reader = False
    return g.get("pax_saved_language")


def select_language() -> str:
    """Flask-Babel's locale selector (see the module docstring for the order)."""
    if not has_request_context():
        return DEFAULT_LANGUAGE
    cached = g.get("pax_language")
    if cached:
        return cached
    language = _chosen() or browser_language()
    g.pax_language = language
    return language


def browser_language() -> str:
    """The first official language the browser's Accept-Language names, else English."""
    return request.accept_languages.best_match(LANGUAGES, default=DEFAULT_LANGUAGE)


def remember_language(response: Response, code: str | None) -> None:
    """Keep ``code`` for this browser (``pax_lang``), or forget the browser's choice (None)."""
    from flask import current_app

    if code is None:
        response.delete_cookie(COOKIE_NAME)
        return
    response.set_cookie(
        COOKIE_NAME,
        code,
        max_age=COOKIE_MAX_AGE,
        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
        httponly=True,
        samesite="Lax",
    )


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


@cache
def _collator(code: str) -> Any:
    import icu  # PyICU: loaded at the first sort, not at every worker's start

    return icu.Collator.createInstance(icu.Locale(code))


def collation_key(text: str | None) -> bytes:
    """Sort key of ``text`` in the reader's language: "Ångström" after "Zeebrugge" in Swedish,
    "Čakovec" after "Cork" in Croatian, "Ö" with "O" in German (ICU's collation for the language)."""
    return _collator(current_language()).getSortKey(text or "")


def sorted_by_name(items: Iterable[T], name: Callable[[T], str | None]) -> list[T]:
    """``items`` in the reader's alphabetical order of ``name(item)``."""
    return sorted(items, key=lambda item: collation_key(name(item)))


def format_size(size: int) -> str:
    """A file's size as the reader writes numbers: ``1.5 MiB`` in English, ``1,5 MiB`` in French.
    Binary units, as PAX's upload limits are stated; their IEC symbols are the same everywhere."""
    language = current_language()
    if size < 1024:
        return ngettext("%(count)s byte", "%(count)s bytes", size, count=format_decimal(size, locale=language))
    value = float(size)
    for unit in ("KiB", "MiB", "GiB"):
        value /= 1024
        if value < 1024 or unit == "GiB":
            break
    number = format_decimal(round(value, 1), format="#,##0.#", locale=language)
    return _("%(number)s %(unit)s", number=number, unit=unit)


def alternate_links() -> list[tuple[str, str]]:
    """``(hreflang, address)`` of this page in each official language, and ``x-default`` (the
    page without ``?lang=``: the reader's own choice); none for a page a GET cannot fetch again."""
    if request.method != "GET" or request.endpoint is None:
        return []
    args = {k: v for k, v in request.args.items() if k != "lang"}
    try:
        here = {**(request.view_args or {}), **args, "_external": True}
        base = url_for(request.endpoint, **here)
        links = [(code, url_for(request.endpoint, **here, lang=code)) for code in LANGUAGES]
    except (BuildError, TypeError):
        return []
    return [*links, ("x-default", base)]


def init_app(app: Flask) -> None:
    Babel(app, locale_selector=select_language, default_translation_directories="../translations")
    # Every {% trans %} block's whitespace is folded, so a re-indented template keeps its msgids.
    app.jinja_env.policies["ext.i18n.trimmed"] = True
    app.jinja_env.globals["LANGUAGES"] = LANGUAGES
    app.jinja_env.globals["current_language"] = current_language
    app.jinja_env.globals["alternate_links"] = alternate_links

    @app.after_request
    def say_which_language(response: Response) -> Response:
        # Only a response whose words were chosen for the reader (the locale was asked for).
        if g.get("pax_language"):
            response.headers.setdefault("Content-Language", g.pax_language)
            response.vary.add("Accept-Language")
            response.vary.add("Cookie")
        return response
