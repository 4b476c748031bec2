"""Checking what a member submits as a post, for the pages and the API alike.

``parse_post`` takes plain data (decoded JSON, or form fields turned into the same shape) and
returns a ``PostInput`` or raises ``ValidationError`` with one message per field; nested
incident fields are named ``incident.<field>``. Identifiers with check digits are verified with
python-stdnum, never by hand.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import gettext as _
from stdnum import imo, iso6346
from stdnum.exceptions import ValidationError as StdnumError

from app import parsers
from app.clusters.models import ModusOperandi, PostType, Substance
from app.db import utcnow
from app.markings import Tlp
from app.validation import ValidationError, normalise_country, unsafe_text_errors

MAX_TITLE = 200
MAX_BODY = 100_000
MAX_TAGS = 10
MAX_RECIPIENTS = 50
MAX_CONTAINERS = 50
MAX_QUANTITY_KG = Decimal("1000000")
TAG_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?")
#: UN/LOCODE: ISO 3166-1 country, then three letters or digits 2-9.
LOCODE_RE = re.compile(r"([A-Z]{2})([A-Z2-9]{3})")
#: ISO 6346 shape: owner code, equipment category (U, J or Z), six-digit serial, check digit.
CONTAINER_RE = re.compile(r"[A-Z]{3}[UJZ][0-9]{7}")


@dataclass
class IncidentInput:
    port_locode: str
    occurred_on: date
    modus_operandi: ModusOperandi
    substance: Substance
    quantity_kg: Decimal | None
    container_numbers: list[str]
    vessel_imo: str | None


@dataclass
class PostInput:
    type: PostType
    cluster: str
    title: str
    body: str
    tlp: Tlp
    law_enforcement_only: bool = False
    recipient_orgs: list[str] = field(default_factory=list)
    recipient_users: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    workplan_item_id: int | None = None
    incident: IncidentInput | None = None


def _choice(value: Any, enum_cls: Any, name: str, errors: dict[str, str], label: str, missing: str) -> Any:
    """``parsers.choice``, its "choose the …" message written as one translatable sentence."""
    result = parsers.choice(value, enum_cls, name, errors, label)
    if errors.get(name) == f"Choose the {label}.":
        errors[name] = missing
    return result


def _text(value: Any, name: str, errors: dict[str, str], label: str, max_len: int, words: dict[str, str]) -> str:
    """``parsers.text``, its messages about ``label`` written as whole translatable sentences
    (``words``: missing, not_text, character, too_long)."""
    result = parsers.text(value, name, errors, label, max_len)
    english = {
        f"Enter the {label}.": words["missing"],
        f"The {label} must be text.": words["not_text"],
        f"The {label} contains a character that is not allowed.": words["character"],
        f"The {label} is too long: at most {max_len:,} characters.": words["too_long"],
    }
    if errors.get(name) in english:
        errors[name] = english[errors[name]]
    return result


def parse_tags(values: list[str], errors: dict[str, str]) -> list[str]:
    tags = []
    for raw in values:
        tag = re.sub(r"\s+", "-", raw.strip().lower().lstrip("#"))
        if not TAG_RE.fullmatch(tag):
            errors["tags"] = _("%(value)s is not a tag: use letters, digits and hyphens, at most 40.", value=repr(raw))
            return []
        tags.append(tag)
    return list(dict.fromkeys(tags))


def parse_container(value: str) -> str:
    """An ISO 6346 container number, compact, or StdnumError."""
    compact = iso6346.compact(value)
    if not CONTAINER_RE.fullmatch(compact):
        raise StdnumError("not the ISO 6346 shape")  # stdnum raises ValueError on odd characters
    return iso6346.validate(compact)


def parse_imo(value: str) -> str:
    """A 7-digit IMO number (an 'IMO ' prefix is accepted), or StdnumError."""
    return imo.validate(value)


def _incident(raw: Any, errors: dict[str, str]) -> IncidentInput | None:
    if raw is None:
        errors["incident"] = _("An incident note needs its incident details.")
        return None
    if not isinstance(raw, dict):
        errors["incident"] = _("Give the incident details as an object.")
        return None
    unknown = set(raw) - {
        "port_locode", "occurred_on", "modus_operandi", "substance", "quantity_kg", "container_numbers", "vessel_imo",
    }  # fmt: skip
    if unknown:
        errors["incident"] = _("Unknown incident fields: %(fields)s.", fields=", ".join(sorted(unknown)))
    locode = raw.get("port_locode")
    port = ""
    if not isinstance(locode, str) or not locode.strip():
        errors["incident.port_locode"] = _("Enter the port's UN/LOCODE, e.g. BEANR.")
    else:
        port = locode.replace(" ", "").upper()
        match = LOCODE_RE.fullmatch(port)
        if not match or normalise_country(match.group(1)) is None:
            errors["incident.port_locode"] = _(
                "%(value)s is not a UN/LOCODE: a country code and 3 characters, e.g. BEANR.", value=repr(locode)
            )
    occurred = raw.get("occurred_on")
    occurred_on = None
    if not isinstance(occurred, str):
        errors["incident.occurred_on"] = _("Enter the date it happened as YYYY-MM-DD.")
    else:
        try:
            occurred_on = date.fromisoformat(occurred)
        except ValueError:
            errors["incident.occurred_on"] = _("%(value)s is not a date: use YYYY-MM-DD.", value=repr(occurred))
        else:
            if occurred_on > utcnow().date():
                errors["incident.occurred_on"] = _("The date is in the future.")
            elif occurred_on.year < 1990:
                errors["incident.occurred_on"] = _("The date is before 1990.")
    modus = _choice(
        raw.get("modus_operandi"),
        ModusOperandi,
        "incident.modus_operandi",
        errors,
        "modus operandi",
        _("Choose the modus operandi."),
    )
    substance = _choice(
        raw.get("substance"), Substance, "incident.substance", errors, "substance", _("Choose the substance.")
    )
    quantity = raw.get("quantity_kg")
    quantity_kg = None
    if quantity is not None and quantity != "":
        if isinstance(quantity, bool) or not isinstance(quantity, int | float | str):
            errors["incident.quantity_kg"] = _("Enter the quantity in kilograms as a number.")
        else:
            try:
                quantity_kg = parsers.decimal_text(quantity) if isinstance(quantity, str) else Decimal(str(quantity))
                if not quantity_kg.is_finite():
                    raise InvalidOperation
            except ValueError as reason:
                if str(reason):
                    errors["incident.quantity_kg"] = _(
                        "%(value)s is not a number of kilograms: %(reason)s.", value=repr(quantity), reason=str(reason)
                    )
                else:
                    errors["incident.quantity_kg"] = _("%(value)s is not a number of kilograms.", value=repr(quantity))
                quantity_kg = None
            except InvalidOperation:
                errors["incident.quantity_kg"] = _("%(value)s is not a number of kilograms.", value=repr(quantity))
                quantity_kg = None
            else:
                if quantity_kg < 0:
                    errors["incident.quantity_kg"] = _("The quantity cannot be negative.")
                elif quantity_kg > MAX_QUANTITY_KG:
                    errors["incident.quantity_kg"] = _("The quantity is implausibly large (over 1,000 tonnes).")
                quantity_kg = quantity_kg.quantize(Decimal("0.001")) if "incident.quantity_kg" not in errors else None
    containers: list[str] = []
    for number in parsers.string_list(
        raw.get("container_numbers"), "incident.container_numbers", errors, MAX_CONTAINERS
    ):
        try:
            containers.append(parse_container(number))
        except StdnumError:
            errors["incident.container_numbers"] = _(
                "%(value)s is not a valid ISO 6346 container number (owner code, category, serial, check digit).",
                value=repr(number),
            )
            break
    vessel = raw.get("vessel_imo")
    vessel_imo = None
    if vessel is not None and vessel != "":
        if not isinstance(vessel, str):
            errors["incident.vessel_imo"] = _('Give the IMO number as text, e.g. "9074729".')
        else:
            try:
                vessel_imo = parse_imo(vessel)
            except StdnumError:
                errors["incident.vessel_imo"] = _(
                    "%(value)s is not a valid IMO ship number (7 digits with check digit).", value=repr(vessel)
                )
    if any(key.startswith("incident") for key in errors):
        return None
    assert occurred_on is not None and modus is not None and substance is not None
    return IncidentInput(port, occurred_on, modus, substance, quantity_kg, list(dict.fromkeys(containers)), vessel_imo)


POST_FIELDS = {
    "type", "cluster", "title", "body", "tlp", "law_enforcement_only", "recipient_orgs", "recipient_users",
    "tags", "workplan_item_id", "incident",
}  # fmt: skip


def parse_post(raw: Any, partial_of: PostInput | None = None) -> PostInput:
    """Validate a whole post; with ``partial_of``, fields absent from ``raw`` keep their values."""
    if not isinstance(raw, dict):
        raise ValidationError({"body": _("Send the post as a JSON object.")})
    if partial_of is not None:
        merged = {**_as_raw(partial_of), **raw}
        raw = merged
    errors: dict[str, str] = unsafe_text_errors(raw)
    if errors:
        raise ValidationError(errors)
    unknown = set(raw) - POST_FIELDS
    if unknown:
        errors["_"] = _("Unknown fields: %(fields)s.", fields=", ".join(sorted(unknown)))
    type_ = _choice(raw.get("type"), PostType, "type", errors, "type of post", _("Choose the type of post."))
    cluster = raw.get("cluster")
    if not isinstance(cluster, str) or not cluster:
        errors["cluster"] = _("Choose the cluster.")
        cluster = ""
    title = _text(
        raw.get("title"),
        "title",
        errors,
        "title",
        MAX_TITLE,
        {
            "missing": _("Enter the title."),
            "not_text": _("The title must be text."),
            "character": _("The title contains a character that is not allowed."),
            "too_long": _("The title is too long: at most %(count)s characters.", count=f"{MAX_TITLE:,}"),
        },
    )
    body = _text(
        raw.get("body"),
        "body",
        errors,
        "text",
        MAX_BODY,
        {
            "missing": _("Enter the text."),
            "not_text": _("The text must be text."),
            "character": _("The text contains a character that is not allowed."),
            "too_long": _("The text is too long: at most %(count)s characters.", count=f"{MAX_BODY:,}"),
        },
    )
    tlp = _choice(raw.get("tlp"), Tlp, "tlp", errors, "TLP marking", _("Choose the TLP marking."))
    le_only = parsers.boolean(raw.get("law_enforcement_only"), "law_enforcement_only", errors)
    orgs = parsers.string_list(raw.get("recipient_orgs"), "recipient_orgs", errors, MAX_RECIPIENTS)
    users = [
        u.lower() for u in parsers.string_list(raw.get("recipient_users"), "recipient_users", errors, MAX_RECIPIENTS)
    ]
    tags = parse_tags(parsers.string_list(raw.get("tags"), "tags", errors, MAX_TAGS), errors)
    item = raw.get("workplan_item_id")
    if item is not None and (isinstance(item, bool) or not isinstance(item, int) or not 1 <= item <= 2**31 - 1):
        errors["workplan_item_id"] = _("Give the workplan item's id (a whole number).")
        item = None
    if tlp is not None:
        if orgs and tlp not in (Tlp.AMBER, Tlp.AMBER_STRICT):
            errors["recipient_orgs"] = _("Recipient organisations are for TLP:AMBER and TLP:AMBER+STRICT.")
        if users and tlp is not Tlp.RED:
            errors["recipient_users"] = _("Named recipients are for TLP:RED.")
    incident = None
    if type_ is PostType.INCIDENT_NOTE:
        incident = _incident(raw.get("incident"), errors)
    elif raw.get("incident") is not None:
        errors["incident"] = _("Only incident notes carry incident details.")
    if type_ is PostType.DELIVERABLE and item is None and "workplan_item_id" not in errors:
        errors["workplan_item_id"] = _("A deliverable is posted against a workplan item: choose it.")
    elif type_ is not PostType.DELIVERABLE and item is not None:
        errors["workplan_item_id"] = _("Only deliverables are linked to a workplan item.")
    if errors:
        raise ValidationError(errors)
    assert type_ is not None and tlp is not None
    return PostInput(type_, cluster, title, body, tlp, le_only, orgs, users, tags, item, incident)


def _as_raw(post: PostInput) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "type": post.type.value,
        "cluster": post.cluster,
        "title": post.title,
        "body": post.body,
        "tlp": post.tlp.value,
        "law_enforcement_only": post.law_enforcement_only,
        "recipient_orgs": post.recipient_orgs,
        "recipient_users": post.recipient_users,
        "tags": post.tags,
        "workplan_item_id": post.workplan_item_id,
    }
    if post.incident is not None:
        i = post.incident
        raw["incident"] = {
            "port_locode": i.port_locode,
            "occurred_on": i.occurred_on.isoformat(),
            "modus_operandi": i.modus_operandi.value,
            "substance": i.substance.value,
            "quantity_kg": str(i.quantity_kg) if i.quantity_kg is not None else None,
            "container_numbers": i.container_numbers,
            "vessel_imo": i.vessel_imo,
        }
    return raw
