"""Checking one submitted value: the parsers the page forms and the API share (through each
feature's ``validation`` module), so both refuse the same input with the same words. ``choice``,
``text``, ``string_list`` and ``boolean`` take the raw value, the field's ``name`` and an
``errors`` dict; on a bad value they put one message under ``name`` and return an empty value.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from flask import has_app_context
from flask_babel import format_number, gettext, ngettext

#: Texts up to this length (titles, names) are stripped of surrounding blanks; longer ones
#: (bodies in Markdown) are kept exactly as written.
SHORT_TEXT = 200


def N_(text: str) -> str:
    """Marks a msgid for extraction; ``gettext`` translates it where the message is given."""
    return text


# Each message is a whole sentence per label the features use (``choice(..., label)``), so that
# every language can write it its own way; a label not listed here is said in English.
#: ``choice``: nothing chosen.
CHOOSE: dict[str, str] = {
    "kind of meeting": N_("Choose the kind of meeting."),
    "TLP marking": N_("Choose the TLP marking."),
    "modus operandi": N_("Choose the modus operandi."),
    "substance": N_("Choose the substance."),
    "type of post": N_("Choose the type of post."),
}
#: ``text``: nothing entered.
ENTER: dict[str, str] = {
    "title": N_("Enter the title."),
    "text": N_("Enter the text."),
}
#: ``text``: not a string.
NOT_TEXT: dict[str, str] = {
    "title": N_("The title must be text."),
    "text": N_("The text must be text."),
}
#: ``text``: a NUL character.
NOT_ALLOWED: dict[str, str] = {
    "title": N_("The title contains a character that is not allowed."),
    "text": N_("The text contains a character that is not allowed."),
}
#: ``text``: too long (``max`` is the limit, written as the reader writes numbers).
TOO_LONG: dict[str, str] = {
    "title": N_("The title is too long: at most %(max)s characters."),
    "text": N_("The text is too long: at most %(max)s characters."),
}


def _said(table: dict[str, str], label: str, english: str, **values: Any) -> str:
    text = table.get(label)
    return gettext(text, **values) if text is not None else english


def is_number(value: str, max_digits: int) -> bool:
    """ASCII digits only (``str.isdigit`` also accepts "²", which ``int`` refuses), not too many."""
    return value.isascii() and value.isdigit() and len(value) <= max_digits


def choice(value: Any, enum_cls: Any, name: str, errors: dict[str, str], label: str) -> Any:
    if value is None or value == "":
        errors[name] = _said(CHOOSE, label, f"Choose the {label}.")
        return None
    if not isinstance(value, str) or value not in enum_cls.values():
        errors[name] = gettext("Choose one of: %(values)s.", values=", ".join(enum_cls.values()))
        return None
    return enum_cls(value)


def text(value: Any, name: str, errors: dict[str, str], label: str, max_len: int) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        errors[name] = _said(ENTER, label, f"Enter the {label}.")
        return ""
    if not isinstance(value, str):
        errors[name] = _said(NOT_TEXT, label, f"The {label} must be text.")
        return ""
    if "\x00" in value:
        errors[name] = _said(NOT_ALLOWED, label, f"The {label} contains a character that is not allowed.")
        return ""
    if len(value) > max_len:
        errors[name] = _said(
            TOO_LONG, label, f"The {label} is too long: at most {max_len:,} characters.", max=_number(max_len)
        )
        return ""
    return value.strip() if max_len <= SHORT_TEXT else value


def string_list(value: Any, name: str, errors: dict[str, str], max_items: int) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        errors[name] = gettext("Give a list of texts.")
        return []
    if len(value) > max_items:
        errors[name] = ngettext("At most %(num)d entry.", "At most %(num)d entries.", max_items)
        return []
    if any("\x00" in v or len(v) > 500 for v in value):
        errors[name] = gettext("An entry contains a character that is not allowed, or is too long.")
        return []
    return [v.strip() for v in value if v.strip()]


def boolean(value: Any, name: str, errors: dict[str, str]) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        errors[name] = gettext("Give true or false.")
        return False
    return value


#: A number as people type it across the Union: digits, optionally grouped by thousands with
#: spaces ("1 234"), then a decimal point or comma ("48,5", "1234.5").
_DECIMAL_RE = re.compile(r"(?P<int>\d{1,3}(?: \d{3})+|\d+)(?:[.,](?P<frac>\d+))?")


def decimal_text(value: str, decimal_sign: str | None = None) -> Decimal:
    """A decimal number typed with a point or a comma, or ``ValueError`` with the reason in plain
    words (empty when the text is simply not a number).

    A separator followed by exactly three digits ("1,234", "1.234") reads as a thousands
    separator to some readers and as a decimal one to others; a quantity misread by a factor of
    1,000 is worse than a refusal. The reader's language settles it for its own decimal sign
    (``decimal_sign``, by default the reader's: "1,234" is 1.234 in German or French) and the
    other sign followed by three digits is refused ("1.234" in German, "1,234" in English), as is
    any mix of separators ("1,234.5", "1,234,5").
    """
    sign = decimal_sign or _reader_decimal_sign()
    text = re.sub(r"[\u00a0\u202f\u2009]", " ", value.strip())
    if text.startswith("-"):
        return -decimal_text(text[1:], sign)
    match = _DECIMAL_RE.fullmatch(text)
    if match is None:
        if re.fullmatch(r"[\d .,]+", text) and re.search(r"\d", text):
            raise ValueError(gettext("use one decimal point or comma and no other separators, e.g. 1234,5 or 1234.5"))
        raise ValueError("")
    frac = match.group("frac")
    separator = text[match.start("frac") - 1] if frac is not None else None
    ambiguous = separator is not None and separator != sign and len(frac or "") == 3
    if ambiguous and match.group("int") != "0" and " " not in text:
        if separator == ",":
            raise ValueError(
                gettext("it is unclear whether the comma separates thousands or decimals: write 1234 or 1.234")
            )
        raise ValueError(
            gettext("it is unclear whether the point separates thousands or decimals: write 1234 or 1,234")
        )
    return Decimal(match.group("int").replace(" ", "") + ("." + frac if frac is not None else ""))


def _reader_decimal_sign() -> str:
    if not has_app_context():
        return "."
    from babel.numbers import get_decimal_symbol

    from app.i18n import current_language

    return get_decimal_symbol(current_language())


def _number(value: int) -> str:
    """``value`` as the reader writes numbers (``100,000`` in English)."""
    if not has_app_context():  # no application to say the reader's locale
        return f"{value:,}"
    return str(format_number(value))
