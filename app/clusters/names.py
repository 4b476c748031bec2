"""Cluster names as each reader's language writes them.

The four clusters of the PPP workplan are data (their English names are in the database, from
the first migration), but their names have official translations: a page shows
``cluster_label(cluster)``, never ``cluster.name``. A cluster an administrator adds later keeps
the name it was given.
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


def cluster_label(cluster: Any) -> str:
    """``cluster``'s name in the reader's language (its slug decides which official name)."""
    if cluster is None:
        return ""
    official = OFFICIAL_NAMES.get(getattr(cluster, "slug", None) or "")
    return str(official) if official is not None else cluster.name
