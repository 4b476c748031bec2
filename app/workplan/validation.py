"""Checking a workplan item as the pages and the API receive it.

``parse_item`` takes plain data (decoded JSON, or form fields turned into the same shape) and
returns only the fields that were sent, checked and converted, or raises ``ValidationError``
with one message per field. Names are resolved (cluster slug, organisation names) by the
services, which know the database; everything about shape and range is decided here.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from app.validation import ValidationError, text_problem, unsafe_text_errors
from app.workplan.models import ItemStatus

MAX_TITLE = 300
MAX_DESCRIPTION = 20_000
MAX_LEADS = 20
MIN_YEAR, MAX_YEAR = 2000, 2100

ITEM_FIELDS = ("year", "cluster", "title", "description", "lead_organisations", "due_date", "status", "progress")
#: What a cluster's coordinators may change; everything else is the curators'.
COORDINATOR_FIELDS = frozenset({"status", "progress"})
REQUIRED_ON_CREATE = ("year", "cluster", "title")


def _int(value: Any, low: int, high: int) -> int | None:
    """A whole number in range from JSON (int) or a form ("40", " 40 "); None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        if not (text.isascii() and text.lstrip("-").isdigit() and len(text) <= 6):
            return None
        value = int(text)
    if not isinstance(value, int) or not low <= value <= high:
        return None
    return value


def parse_year(value: Any) -> int:
    year = _int(value, MIN_YEAR, MAX_YEAR)
    if year is None:
        raise ValidationError({"year": f"Give the year as a whole number from {MIN_YEAR} to {MAX_YEAR}."})
    return year


def parse_date(value: Any, name: str, required: bool = False) -> date | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ValidationError({name: "Enter the date as YYYY-MM-DD."})
        return None
    if not isinstance(value, str) or len(value) > 10:
        raise ValidationError({name: "Give the date as text, YYYY-MM-DD."})
    try:
        parsed = date.fromisoformat(value.strip())
    except ValueError:
        raise ValidationError({name: f"{value[:20]!r} is not a date: use YYYY-MM-DD."}) from None
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        raise ValidationError({name: f"The date must fall between {MIN_YEAR} and {MAX_YEAR}."})
    return parsed


def _text(value: Any, name: str, label: str, max_len: int, required: bool, errors: dict[str, str]) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors[name] = f"Enter the {label}."
        return ""
    if not isinstance(value, str):
        errors[name] = f"The {label} must be text."
        return ""
    if len(value) > max_len:
        errors[name] = f"The {label} is too long: at most {max_len:,} characters."
        return ""
    problem = text_problem(value, multiline=name == "description")
    if problem:
        errors[name] = problem
        return ""
    return value.strip()


def _leads(value: Any, errors: dict[str, str]) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        errors["lead_organisations"] = "Give the lead organisations as a list of organisation names."
        return []
    if len(value) > MAX_LEADS:
        errors["lead_organisations"] = f"At most {MAX_LEADS} lead organisations."
        return []
    if any(len(v) > 200 or text_problem(v, multiline=False) for v in value):
        errors["lead_organisations"] = "An organisation name is too long or holds a character that is not allowed."
        return []
    return list(dict.fromkeys(v.strip() for v in value if v.strip()))


def parse_item(raw: Any, *, creating: bool) -> dict[str, Any]:
    """The fields of ``raw`` that were sent, checked: ``year`` int, ``cluster`` slug, ``title``,
    ``description``, ``lead_organisations`` (names), ``due_date`` (date or None), ``status``
    (``ItemStatus``), ``progress`` (0-100). Creating requires year, cluster and title."""
    if not isinstance(raw, dict):
        raise ValidationError({"_": "Send the workplan item as a JSON object."})
    errors: dict[str, str] = unsafe_text_errors(raw)
    if errors:
        raise ValidationError(errors)
    unknown = set(raw) - set(ITEM_FIELDS)
    if unknown:
        errors["_"] = f"Unknown fields: {', '.join(sorted(unknown))[:200]}."
    if creating:
        for name in REQUIRED_ON_CREATE:
            if raw.get(name) in (None, ""):
                errors.setdefault(name, f"Give the {name}.")
    data: dict[str, Any] = {}
    for name in ITEM_FIELDS:
        if name not in raw or name in errors:
            continue
        value = raw[name]
        try:
            if name == "year":
                data[name] = parse_year(value)
            elif name == "due_date":
                data[name] = parse_date(value, "due_date")
        except ValidationError as exc:
            errors.update(exc.fields)
            continue
        if name == "cluster":
            if not isinstance(value, str) or not value.strip() or len(value) > 64:
                errors[name] = "Choose the cluster (its slug, e.g. policy)."
            else:
                data[name] = value.strip()
        elif name == "title":
            data[name] = _text(value, name, "title", MAX_TITLE, True, errors)
        elif name == "description":
            data[name] = _text(value, name, "description", MAX_DESCRIPTION, False, errors)
        elif name == "lead_organisations":
            data[name] = _leads(value, errors)
        elif name == "status":
            if not isinstance(value, str) or value not in ItemStatus.values():
                errors[name] = f"Choose one of: {', '.join(ItemStatus.values())}."
            else:
                data[name] = ItemStatus(value)
        elif name == "progress":
            progress = _int(value, 0, 100)
            if progress is None:
                errors[name] = "Give the progress as a whole number of per cent, from 0 to 100."
            else:
                data[name] = progress
    if errors:
        raise ValidationError(errors)
    return data
