from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user, login_required

from app.clusters.queries import clusters_with_membership, member_count
from app.policy import cluster_or_404, membership_role

bp = Blueprint("clusters", __name__, url_prefix="/clusters")


@bp.route("/")
@login_required
def index() -> str:
    return render_template("clusters/index.html", clusters=clusters_with_membership(current_user))


@bp.route("/<slug>")
@login_required
def show(slug: str) -> str:
    cluster = cluster_or_404(current_user, slug)
    return render_template(
        "clusters/show.html",
        cluster=cluster,
        my_role=membership_role(current_user, cluster),
        member_count=member_count(cluster),
        posts=[],
    )
