from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app, redirect, render_template, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from app.clusters.models import Post
from app.clusters.queries import PostCard, PostFilter, clusters_with_membership, filtered_ids, post_cards
from app.db import utcnow
from app.extensions import db
from app.main.blueprint import bp
from app.pagination import capped_count
from app.policy import member_cluster_ids

#: A first visit (or one after the field was cleared) shows what is new in this window.
FIRST_VISIT_WINDOW = timedelta(days=14)
#: How many new posts the dashboard lists; the count says how many more there are.
NEW_POSTS_SHOWN = 10


@dataclass
class NewPosts:
    posts: list[PostCard]
    total: int
    capped: bool
    since: datetime
    first_visit: bool


def new_in_my_clusters(user: Any, since: datetime, first_visit: bool) -> NewPosts:
    """Posts the user may see, in the clusters they belong to, written by others after ``since``.

    Filtered in SQL by the policy (through the same base query as every feed), newest first.
    """
    clusters = member_cluster_ids(user)
    if not clusters:
        return NewPosts([], 0, False, since, first_visit)
    stmt = filtered_ids(user, PostFilter(since=since)).where(
        Post.cluster_id.in_(clusters), sa.or_(Post.author_id.is_(None), Post.author_id != user.id)
    )
    total, capped = capped_count(stmt)
    ids = list(db.session.scalars(stmt.order_by(Post.id.desc()).limit(NEW_POSTS_SHOWN)))
    return NewPosts(post_cards(ids), total, capped, since, first_visit)


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
    seen = current_user.dashboard_seen_at
    new = new_in_my_clusters(current_user, seen or utcnow() - FIRST_VISIT_WINDOW, first_visit=seen is None)
    # Rendered before the visit is recorded, so this page shows what was new until now.
    from app.meetings.queries import upcoming_meetings

    html = render_template(
        "main/dashboard.html", my_clusters=mine, all_clusters=rows, new=new, meetings=upcoming_meetings(current_user)
    )
    current_user.dashboard_seen_at = utcnow()
    return html


#: How far ahead security.txt's ``Expires`` lies; RFC 9116 asks for less than a year.
SECURITY_TXT_VALID = timedelta(days=180)


@bp.route("/.well-known/security.txt")
def security_txt() -> Response:
    """Whom to tell about a vulnerability (RFC 9116), from ``PAX_SECURITY_CONTACT``.

    ``Expires`` is computed from today (midnight UTC, so the answer is stable all day and can be
    cached), ``Canonical`` from ``PAX_BASE_URL``, ``Policy`` from ``PAX_SECURITY_POLICY_URL`` when set."""
    config = current_app.config
    today = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    lines = [
        f"Contact: {config['SECURITY_CONTACT']}",
        f"Expires: {(today + SECURITY_TXT_VALID).strftime('%Y-%m-%dT%H:%M:%SZ')}",
        "Preferred-Languages: en",
        f"Canonical: {config['BASE_URL'].rstrip('/')}/.well-known/security.txt",
    ]
    if config.get("SECURITY_POLICY_URL"):
        lines.append(f"Policy: {config['SECURITY_POLICY_URL']}")
    response = Response("\n".join(lines) + "\n", mimetype="text/plain")
    response.headers["Content-Type"] = "text/plain; charset=utf-8"
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


@bp.route("/security.txt")
def security_txt_legacy() -> Response:
    """The file's legacy place (RFC 9116 section 3): a redirect to the canonical one."""
    return redirect(url_for("main.security_txt"), 301)  # type: ignore[return-value]
