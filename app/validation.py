"""The one exception services raise for bad input, carrying a message per field."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

import pycountry
from flask_babel import gettext as _


class ValidationError(ValueError):
    def __init__(self, fields: dict[str, str]):
        self.fields = fields
        super().__init__("; ".join(f"{name}: {message}" for name, message in fields.items()))


_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def normalise_country(code: str) -> str | None:
    """The ISO 3166-1 alpha-2 code in upper case, or None when it names no country."""
    code = (code or "").strip().upper()
    if len(code) != 2 or not code.isalpha():
        return None
    return code if pycountry.countries.get(alpha_2=code) is not None else None


def normalise_domain(domain: str) -> str | None:
    """A lower-case DNS name with at least two labels, or None when it is not one."""
    domain = (domain or "").strip().lower().rstrip(".")
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        return None
    labels = domain.split(".")
    if len(domain) > 253 or len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        return None
    if labels[-1].isdigit():
        return None
    return domain


def text_problem(value: str, multiline: bool) -> str | None:
    """Why a string cannot be stored as text, or None."""
    for char in value:
        code = ord(char)
        if 0xD800 <= code <= 0xDFFF:
            return _("This text is not valid Unicode (it holds a lone surrogate).")
        if char == "\x00":
            return _("This text contains a character that is not allowed (NUL).")
        if unicodedata.category(char) == "Cc" and not (multiline and char in "\t\n\r"):
            return _("This text contains a control character that is not allowed here.")
    return None


def unsafe_text_errors(value: Any, path: str = "") -> dict[str, str]:
    """Field errors for strings no database stores (lone surrogates, NUL) and control characters
    outside a Markdown ``body``, anywhere in nested data. Keys are dotted field names
    (``incident.port_locode``), as the validators name them.
    """
    errors: dict[str, str] = {}
    # Iterative, so a deeply nested body cannot exhaust the stack.
    stack: list[tuple[Any, str]] = [(value, path)]
    while stack:
        node, name = stack.pop()
        if isinstance(node, dict):
            for key, child in node.items():
                if (problem := text_problem(key, multiline=False)) is not None:
                    errors.setdefault(name or "_", _("A field name is not allowed: %(problem)s", problem=problem))
                    continue
                stack.append((child, f"{name}.{key}" if name else key))
        elif isinstance(node, list):
            stack.extend((child, name) for child in node)
        elif isinstance(node, str) and name not in errors:
            problem = text_problem(node, multiline=name == "body")
            if problem:
                errors[name or "_"] = problem
    return errors
