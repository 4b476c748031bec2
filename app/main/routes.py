from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from app.clusters.queries import clusters_with_membership

bp = Blueprint("main", __name__)


@bp.route("/")
def landing() -> str | Response:
    if current_user.is_authenticated:
        return redirect(url_for("main.dashboard"))
    return render_template("main/landing.html")


@bp.route("/dashboard")
@login_required
def dashboard() -> str:
    rows = clusters_with_membership(current_user)
    mine = [(cluster, role) for cluster, role in rows if role is not None]
    return render_template("main/dashboard.html", my_clusters=mine, all_clusters=rows)
