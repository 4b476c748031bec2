"""The OpenAPI operation and schemas of the seizure statistics API (``app.api.stats``)."""

from __future__ import annotations

from typing import Any

from app.api.openapi import _errors, _ok, _operation, register_paths
from app.api.openapi_schemas import ref
from app.clusters.models import Substance
from app.stats.validation import GroupBy


def _query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


_date = {"type": "string", "format": "date"}

register_paths(
    {"name": "stats", "description": "Seizure statistics aggregated from incident notes."},
    {
        "/stats/seizures": {
            "get": _operation(
                "stats_seizures",
                "Incident notes per port, substance, quarter or modus operandi: notes, kilograms, organisations.",
                "read",
                {"200": _ok("The groups the caller may see.", "SeizureStatistics"), **_errors(401, 422, 429)},
                parameters=[
                    _query(
                        "group_by", "What to group by (default port).", {"enum": GroupBy.values(), "default": "port"}
                    ),
                    _query("from", "Only incidents that occurred on or after this day (YYYY-MM-DD).", _date),
                    _query("to", "Only incidents that occurred on or before this day (YYYY-MM-DD).", _date),
                    _query("substance", "Only incidents with this substance.", {"enum": Substance.values()}),
                ],
                description="Counts the incident notes the caller may see plus every other one that is not "
                "TLP:RED and not law-enforcement-only (law-enforcement callers: law-enforcement-only ones too). "
                "A group reported by fewer distinct organisations than `PAX_STATS_MIN_ORGANISATIONS` (3) is "
                "withheld from callers outside law enforcement: it is not in `items` and only counted in "
                "`withheld_groups`. Not paged: one item per group. Quarters are `YYYY-Qn` of the day the "
                "incident occurred, in time order; other groups come largest quantity first.",
            )
        }
    },
    {
        "SeizureStatistics": {
            "type": "object",
            "required": ["group_by", "from", "to", "substance", "items", "withheld_groups", "min_organisations"],
            "additionalProperties": False,
            "properties": {
                "group_by": {"enum": GroupBy.values()},
                "from": {"type": ["string", "null"], "format": "date"},
                "to": {"type": ["string", "null"], "format": "date"},
                "substance": {"enum": [*Substance.values(), None]},
                "items": {"type": "array", "items": ref("SeizureGroup")},
                "withheld_groups": {
                    "type": "integer",
                    "minimum": 0,
                    "description": "Groups left out because too few organisations reported them.",
                },
                "min_organisations": {
                    "type": ["integer", "null"],
                    "minimum": 2,
                    "description": "Reporting organisations a group needs to be shown to the caller; null when "
                    "nothing is withheld from them.",
                },
            },
        },
        "SeizureGroup": {
            "type": "object",
            "required": ["group", "label", "notes", "quantity_kg", "organisations"],
            "additionalProperties": False,
            "properties": {
                "group": {
                    "type": "string",
                    "description": "UN/LOCODE, substance, `YYYY-Qn` or modus operandi value.",
                    "examples": ["BEANR", "cocaine", "2025-Q3", "rip_on_rip_off"],
                },
                "label": {"type": "string", "description": "The group as the page names it."},
                "notes": {"type": "integer", "minimum": 1},
                "quantity_kg": {"type": "number", "minimum": 0, "description": "Notes without a quantity add 0."},
                "organisations": {"type": "integer", "minimum": 1, "description": "Distinct reporting organisations."},
            },
        },
    },
)
