"""STIX 2.1 bundles downloaded from the pages: one post, or a cluster's filtered list of notes.

What a bundle holds is what the member may see: the post comes from ``policy.post_or_404`` and the
list from ``app.clusters.queries.filtered_ids`` (``visible_posts`` inside), with the same filters
as the cluster page. Each download is one ``stix.export`` audit event naming the posts, not their
content; downloading one AMBER, AMBER+STRICT or RED post is also a ``post.view`` (via stix), as
opening it is.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, request
from flask_login import current_user, login_required

from app.audit.services import record, record_view
from app.clusters.forms import feed_args
from app.clusters.models import Post
from app.clusters.queries import filtered_ids, posts_by_ids
from app.extensions import db
from app.policy import cluster_or_404, post_or_404
from app.routing import SLUG

bp = Blueprint("stix", __name__)

STIX_MEDIA_TYPE = "application/stix+json;version=2.1"
#: The newest posts a list download holds at most.
MAX_POSTS = 1000


def _download(posts: list[Post], filename: str) -> Response:
    # stix2 is loaded at the first download, not by every worker at start (some 35 MiB).
    from app.taxii.stix import bundle

    response = Response(bundle(posts), mimetype="application/json")
    response.headers["Content-Type"] = STIX_MEDIA_TYPE
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/posts/<int(max=2147483647):post_id>/stix.json")
@login_required
def post_bundle(post_id: int) -> Response:
    from app.taxii.stix import SHARED_TYPES

    post = post_or_404(current_user, post_id)
    if post.type not in SHARED_TYPES:
        abort(404)
    record("stix.export", actor=current_user, target=("post", post.id), target_org=post.author_org_id, count=1)
    record_view(current_user, "post", post, via="stix")
    return _download([post], f"pax-{post.type.value.replace('_', '-')}-{post.id}.stix.json")


@bp.route("/clusters/<slug>/stix.json")
@login_required
def cluster_bundle(slug: str) -> Response:
    """The cluster page's list (its ``type``, ``tlp`` and ``tag`` filters; incident notes and best
    practices only) as one bundle, newest first."""
    from app.taxii.stix import SHARED_TYPES

    if not SLUG.fullmatch(slug):
        abort(404)
    cluster = cluster_or_404(current_user, slug)
    args = feed_args(request.args)
    args.filters.cluster_id = cluster.id
    stmt = filtered_ids(current_user, args.filters).where(Post.type.in_(SHARED_TYPES))
    ids = list(db.session.scalars(stmt.order_by(Post.id.desc()).limit(MAX_POSTS)))
    posts = posts_by_ids(ids, details=True)
    record("stix.export", actor=current_user, target=("cluster", cluster.slug), count=len(posts), post_ids=ids[:500])
    return _download(posts, f"pax-{cluster.slug}.stix.json")
