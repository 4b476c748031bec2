"""Cluster names as each reader's language writes them.

The four clusters of the PPP workplan are data (their English names are in the database, from
the first migration), but their names have official translations: a page shows
``cluster_label(cluster)``, never ``cluster.name`` (and ``cluster_description(cluster)``). A
cluster an administrator adds later keeps the name and description it was given.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

OFFICIAL_NAMES = {
    "operational-cooperation": _l("Operational cooperation"),
    "infiltration-corruption": _l("Fighting infiltration of organised criminal groups and corruption in ports"),
    "policy": _l("Policy development and implementation"),
    "innovation": _l("Innovation: technology for the resilience of logistic hubs and shipping"),
}


#: What each cluster is for, as the first migration wrote it (the dashboard and cluster pages).
OFFICIAL_DESCRIPTIONS = {
    "operational-cooperation": _l(
        "Joint work between port authorities, terminal operators, shipping lines, customs and police against "
        "rip-on/rip-off, container misuse and extraction teams: risk indicators, joint controls, information "
        "flows between the port community and law enforcement."
    ),
    "infiltration-corruption": _l(
        "Protecting port staff and processes against infiltration and corruption: vetting and screening, "
        "insider risk, access control to containers and systems, and support for workers who are threatened."
    ),
    "policy": _l(
        "Implementing the EU Roadmap against drug trafficking and organised crime in ports: legislation, "
        "standards, guidance and the follow-up of the Alliance's commitments."
    ),
    "innovation": _l(
        "Scanning, detection, data analytics and secure digital processes that make logistic hubs and "
        "shipping resilient to criminal misuse, from pilots to procurement."
    ),
}


def cluster_label(cluster: Any) -> str:
    """``cluster``'s name in the reader's language (its slug decides which official name)."""
    if cluster is None:
        return ""
    official = OFFICIAL_NAMES.get(getattr(cluster, "slug", None) or "")
    return str(official) if official is not None else cluster.name


def cluster_description(cluster: Any) -> str:
    """``cluster``'s description in the reader's language, as ``cluster_label`` does its name."""
    if cluster is None:
        return ""
    official = OFFICIAL_DESCRIPTIONS.get(getattr(cluster, "slug", None) or "")
    return str(official) if official is not None else (cluster.description or "")
