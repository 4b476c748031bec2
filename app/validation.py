"""The one exception services raise for bad input, carrying a message per field."""

from __future__ import annotations

import re

import pycountry


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


def country_name(code: str) -> str:
    country = pycountry.countries.get(alpha_2=code)
    return country.name if country else code


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
