"""Checking a workplan item as the pages and the API receive it.

``parse_item`` takes plain data (decoded JSON, or form fields turned into the same shape) and
returns only the fields that were sent, checked and converted, or raises ``ValidationError``
with one message per field. Names are resolved (cluster slug, organisation names) by the
services, which know the database; everything about shape and range is decided here.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

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
#: What a missing required field is told, per field.
MISSING = {"year": _l("Give the year."), "cluster": _l("Give the cluster."), "title": _l("Give the title.")}


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
        raise ValidationError(
            {"year": _("Give the year as a whole number from %(first)s to %(last)s.", first=MIN_YEAR, last=MAX_YEAR)}
        )
    return year


def parse_date(value: Any, name: str, required: bool = False) -> date | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ValidationError({name: _("Enter the date as YYYY-MM-DD.")})
        return None
    if not isinstance(value, str) or len(value) > 10:
        raise ValidationError({name: _("Give the date as text, YYYY-MM-DD.")})
    try:
        parsed = date.fromisoformat(value.strip())
    except ValueError:
        raise ValidationError({name: _("%(value)s is not a date: use YYYY-MM-DD.", value=repr(value[:20]))}) from None
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        raise ValidationError(
            {name: _("The date must fall between %(first)s and %(last)s.", first=MIN_YEAR, last=MAX_YEAR)}
        )
    return parsed


def _text_messages(name: str, max_len: int) -> tuple[str, str, str]:
    """What a bad title or description is told: missing, not text, too long."""
    limit = f"{max_len:,}"
    if name == "title":
        return (
            _("Enter the title."),
            _("The title must be text."),
            _("The title is too long: at most %(max)s characters.", max=limit),
        )
    return (
        _("Enter the description."),
        _("The description must be text."),
        _("The description is too long: at most %(max)s characters.", max=limit),
    )


def _text(value: Any, name: str, max_len: int, required: bool, errors: dict[str, str]) -> str:
    missing, not_text, too_long = _text_messages(name, max_len)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors[name] = missing
        return ""
    if not isinstance(value, str):
        errors[name] = not_text
        return ""
    if len(value) > max_len:
        errors[name] = too_long
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
        errors["lead_organisations"] = _("Give the lead organisations as a list of organisation names.")
        return []
    if len(value) > MAX_LEADS:
        errors["lead_organisations"] = ngettext(
            "At most %(num)d lead organisations.", "At most %(num)d lead organisations.", MAX_LEADS
        )
        return []
    if any(len(v) > 200 or text_problem(v, multiline=False) for v in value):
        errors["lead_organisations"] = _("An organisation name is too long or holds a character that is not allowed.")
        return []
    return list(dict.fromkeys(v.strip() for v in value if v.strip()))


def parse_item(raw: Any, *, creating: bool) -> dict[str, Any]:
    """The fields of ``raw`` that were sent, checked: ``year`` int, ``cluster`` slug, ``title``,
    ``description``, ``lead_organisations`` (names), ``due_date`` (date or None), ``status``
    (``ItemStatus``), ``progress`` (0-100). Creating requires year, cluster and title."""
    if not isinstance(raw, dict):
        raise ValidationError({"_": _("Send the workplan item as a JSON object.")})
    errors: dict[str, str] = unsafe_text_errors(raw)
    if errors:
        raise ValidationError(errors)
    unknown = set(raw) - set(ITEM_FIELDS)
    if unknown:
        errors["_"] = _("Unknown fields: %(fields)s.", fields=", ".join(sorted(unknown))[:200])
    if creating:
        for name in REQUIRED_ON_CREATE:
            if raw.get(name) in (None, ""):
                errors.setdefault(name, str(MISSING[name]))
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
                errors[name] = _("Choose the cluster (its slug, e.g. policy).")
            else:
                data[name] = value.strip()
        elif name == "title":
            data[name] = _text(value, name, MAX_TITLE, True, errors)
        elif name == "description":
            data[name] = _text(value, name, MAX_DESCRIPTION, False, errors)
        elif name == "lead_organisations":
            data[name] = _leads(value, errors)
        elif name == "status":
            if not isinstance(value, str) or value not in ItemStatus.values():
                errors[name] = _("Choose one of: %(choices)s.", choices=", ".join(ItemStatus.values()))
            else:
                data[name] = ItemStatus(value)
        elif name == "progress":
            progress = _int(value, 0, 100)
            if progress is None:
                errors[name] = _("Give the progress as a whole number of per cent, from 0 to 100.")
            else:
                data[name] = progress
    if errors:
        raise ValidationError(errors)
    return data
