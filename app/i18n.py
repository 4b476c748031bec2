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
from flask_babel import Babel, force_locale, get_locale, get_translations, ngettext
from flask_babel import gettext as _
from jinja2 import pass_context
from markupsafe import Markup
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
    if not request.accept_languages:
        return DEFAULT_LANGUAGE
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
    locale = _locale()
    # The catalogs are languages without a territory ("pt", not "pt_PT"): the code is the language.
    return locale.language if locale is not None else DEFAULT_LANGUAGE


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
        base = url_for(request.endpoint, **(request.view_args or {}), **args, _external=True)
    except (BuildError, TypeError):
        return []
    joiner = "&" if "?" in base else "?"
    return [*((code, f"{base}{joiner}lang={code}") for code in LANGUAGES), ("x-default", base)]


#: Each locale's catalog, found once per process (Flask-Babel finds it again at every call).
_CATALOGS: dict[Locale, Any] = {}


def _locale() -> Locale | None:
    """``flask_babel.get_locale()`` at a third of its cost once the request's locale is chosen:
    Flask-Babel 4 keeps it (and ``force_locale``'s) on ``g._flask_babel.babel_locale``."""
    try:
        return g._flask_babel.babel_locale or get_locale()
    except (AttributeError, RuntimeError):  # not chosen yet, or no application at all
        return get_locale()


def _catalog() -> Any:
    """The catalog of the locale in force (``force_locale`` included); None for English, the
    language the msgids are written in, whose catalog says each string as it is."""
    locale = _locale()
    if locale is None or locale.language == DEFAULT_LANGUAGE:
        return None
    found = _CATALOGS.get(locale)
    if found is None:
        found = _CATALOGS[locale] = get_translations()
    return found


def _said(text: str, variables: dict[str, Any], autoescape: bool) -> str:
    """What Jinja's "newstyle" gettext makes of a translation: markup-safe when the template
    escapes (the msgid's own markup is kept, the variables are escaped), then %-formatted; a
    string without a placeholder or a %% is returned as it is."""
    result: str = Markup(text) if autoescape else text  # noqa: S704 (our catalogs, as Jinja does)  # nosec B704
    return result % variables if variables or "%" in text else result


# Positional-only parameters: a template may pass any name as a placeholder, "num" included.
@pass_context
def template_gettext(context: Any, string: str, /, **variables: Any) -> str:
    catalog = _catalog()
    text = string if catalog is None else catalog.ugettext(string)
    return _said(text, variables, context.eval_ctx.autoescape)


@pass_context
def template_ngettext(context: Any, singular: str, plural: str, num: int, /, **variables: Any) -> str:
    variables.setdefault("num", num)
    catalog = _catalog()
    text = (singular if num == 1 else plural) if catalog is None else catalog.ungettext(singular, plural, num)
    return _said(text, variables, context.eval_ctx.autoescape)


@pass_context
def template_pgettext(context: Any, message_context: str, string: str, /, **variables: Any) -> str:
    catalog = _catalog()
    text = string if catalog is None else catalog.upgettext(message_context, string)
    return _said(text, variables, context.eval_ctx.autoescape)


@pass_context
def template_npgettext(
    context: Any, message_context: str, singular: str, plural: str, num: int, /, **variables: Any
) -> str:
    variables.setdefault("num", num)
    catalog = _catalog()
    if catalog is None:
        text = singular if num == 1 else plural
    else:
        text = catalog.unpgettext(message_context, singular, plural, num)
    return _said(text, variables, context.eval_ctx.autoescape)


def alternate_link_tags() -> Markup:
    """``alternate_links`` as the ``<link rel="alternate" hreflang>`` elements of the page's head,
    joined here rather than by a template loop (a list page is 0.3 ms faster)."""
    return Markup("\n  ").join(
        Markup('<link rel="alternate" hreflang="{}" href="{}">').format(code, href) for code, href in alternate_links()
    )


def init_app(app: Flask) -> None:
    Babel(app, locale_selector=select_language, default_translation_directories="../translations")
    # A page says a hundred strings or more: each finds its locale's catalog once per process,
    # not through Flask-Babel's search at every call, and skips Jinja's wrapper around it (both
    # cost a list page 2 ms in bench/feed.py). Same "newstyle" meaning: {% trans %} blocks and
    # _() format their named placeholders and escape what fills them.
    app.jinja_env.newstyle_gettext = True  # type: ignore[attr-defined]
    app.jinja_env.globals.update(
        _=template_gettext,
        gettext=template_gettext,
        ngettext=template_ngettext,
        pgettext=template_pgettext,
        npgettext=template_npgettext,
    )
    # Every {% trans %} block's whitespace is folded, so a re-indented template keeps its msgids.
    app.jinja_env.policies["ext.i18n.trimmed"] = True
    app.jinja_env.globals["LANGUAGES"] = LANGUAGES
    app.jinja_env.globals["current_language"] = current_language
    app.jinja_env.globals["alternate_link_tags"] = alternate_link_tags

    @app.after_request
    def say_which_language(response: Response) -> Response:
        # Only a response whose words were chosen for the reader (the locale was asked for).
        if g.get("pax_language"):
            response.headers.setdefault("Content-Language", g.pax_language)
            response.vary.add("Accept-Language")
            response.vary.add("Cookie")
        return response
