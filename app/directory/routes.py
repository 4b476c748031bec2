"""The member directory: who belongs to the Alliance and whom to call. Active members only."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import abort, render_template, request
from flask_login import login_required

from app.clusters.models import Cluster
from app.directory import queries
from app.directory.blueprint import bp
from app.directory.models import OrgType
from app.extensions import db
from app.routing import MAX_ID


def _filters() -> queries.DirectoryFilter:
    """The filters as asked; an unknown value is ignored (the page shows everyone instead)."""
    country = (request.args.get("country") or "").strip().upper()
    kind = request.args.get("type") or ""
    slug = request.args.get("cluster") or ""
    cluster = db.session.scalar(sa.select(Cluster).where(Cluster.slug == slug)) if slug else None
    return queries.DirectoryFilter(
        country=country if len(country) == 2 and country.isalpha() else None,
        type=OrgType(kind) if kind in OrgType.values() else None,
        cluster=cluster,
    )


@bp.route("/")
@login_required
def index() -> str:
    filters = _filters()
    return render_template(
        "directory/index.html",
        entries=queries.organisations(filters),
        filters=filters,
        countries=queries.countries(),
        types=list(OrgType),
        clusters=list(db.session.scalars(sa.select(Cluster).order_by(Cluster.position))),
        coordinators=queries.coordinators(),
        contact_of=queries.contact_of,
        country_name=queries.country_name,
    )


@bp.route(f"/organisations/<int(max={MAX_ID}):organisation_id>")
@login_required
def organisation(organisation_id: int) -> Any:
    org = queries.active_organisation(organisation_id)
    if org is None:
        abort(404)
    return render_template(
        "directory/organisation.html",
        org=org,
        people=queries.people(org),
        contact_of=queries.contact_of,
        country_name=queries.country_name,
    )
