"""Cluster pages: the clusters, their feeds, posts with their comments and history, and search.

Every list comes from ``app.clusters.queries`` / ``app.clusters.search`` (the policy's SQL
filter inside), every post is loaded with ``post_or_404`` and every write goes through a
service. Templates receive ``can_*`` flags; they never decide who may do what.
"""

from __future__ import annotations

import re
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user, login_required
from flask_wtf.csrf import ValidationError as CsrfInvalid
from flask_wtf.csrf import validate_csrf
from markupsafe import Markup
from werkzeug.datastructures import MultiDict

from app.audit.services import record_view
from app.clusters import member_routes, services  # noqa: F401  (member_routes' views register on bp)
from app.clusters.attachments import attach_stored
from app.clusters.blueprint import bp
from app.clusters.compare import compare_versions
from app.clusters.forms import MODUS_LABELS, SUBSTANCE_LABELS, CommentEditForm, CommentForm, PostForm, feed_args
from app.clusters.models import Cluster, Comment, Post, PostType
from app.clusters.names import cluster_label
from app.clusters.queries import (
    attachment_list,
    cluster_page,
    cluster_tags,
    clusters_with_membership,
    feed,
    post_comments,
    post_history,
)
from app.clusters.search import search as search_posts
from app.clusters.search import terms
from app.clusters.unread import mark_read, unread_ids
from app.clusters.validation import parse_post
from app.concurrency import StaleEdit, form_version
from app.crossmatch.queries import hits as match_hits
from app.directory.audience import audience_change, audience_panel
from app.extensions import csrf, db
from app.files.services import human_size, store_file
from app.files.sniff import ACCEPT_EXTENSIONS
from app.files.uploads import (
    MultipartUpload,
    UploadError,
    UploadRefused,
    allow_large_body,
    discard_rest,
    refusals,
    upload_limit,
)
from app.forms import audience_previewed, refused, stale
from app.markings import Marking, Tlp
from app.policy import NotAllowed, authorize, can, cluster_or_404, comment_or_404, may_post_as, post_or_404
from app.retention.queries import deletion_date
from app.routing import SLUG
from app.validation import ValidationError

PER_PAGE = 20
CSRF_FAILED = _l("Your form expired or was not sent from this portal. Go back, reload the page and try again.")
#: Post ids beyond the database's integer range are not found (rather than a database error).
POST = "/posts/<int(max=2147483647):post_id>"


@bp.context_processor
def vocabulary() -> dict[str, Any]:
    """Names of the enumerations the cluster pages show and filter on."""
    return {
        "modus_labels": MODUS_LABELS,
        "substance_labels": SUBSTANCE_LABELS,
        "post_type_options": [(t.value, t.label) for t in PostType],
        "tlp_options": [(t.value, t.label) for t in Tlp],
    }


_BLOCK_END = re.compile(r"</(?:p|li|h[1-6]|blockquote|pre|tr|th|td)>|<br\s*/?>|<hr\s*/?>", re.IGNORECASE)


@bp.app_template_filter("excerpt")
def excerpt(html: str, length: int = 240) -> str:
    """The plain text of sanitised post HTML for lists: blocks kept apart, cut at a word.

    Returns text, not markup, so the template escapes it again.
    """
    text = ""
    for chunk in _BLOCK_END.split(html or ""):
        part = " ".join(Markup(chunk).striptags().split())  # noqa: S704 (only its text is kept)  # nosec B704
        if part:
            text += ("" if not text else " " if text[-1] in ".!?:;" else " · ") + part
    if len(text) > length:
        text = text[:length].rsplit(" ", 1)[0].rstrip(" ·,;:") + "…"
    return text


def _cluster_or_404(slug: str) -> Cluster:
    """``policy.cluster_or_404``, answering 404 for a slug no cluster could have before querying
    (PostgreSQL refuses a NUL character with an error, not an empty result)."""
    if not SLUG.fullmatch(slug):
        abort(404)
    return cluster_or_404(current_user, slug)


@bp.route("/clusters/")
@login_required
def index() -> str:
    return render_template("clusters/index.html", clusters=clusters_with_membership(current_user))


@bp.route("/clusters/<slug>")
@login_required
def show(slug: str) -> str:
    """The cluster's feed: what the user may see of it, newest first, filtered and paged."""
    found = cluster_page(current_user, slug) if SLUG.fullmatch(slug) else None
    if found is None:
        abort(404)
    cluster, facts = found
    args = feed_args(request.args)
    args.filters.cluster_id = cluster.id
    page = feed(current_user, args.filters, args.page, PER_PAGE)
    return render_template(
        "clusters/show.html",
        cluster=cluster,
        facts=facts,
        page=page,
        unread=unread_ids(current_user, [card.id for card in page.items]),
        args=args,
        tags=cluster_tags(current_user, cluster.id),
        can_post=may_post_as(current_user, facts.role),
    )


@bp.route("/organisation/posts")
@login_required
def organisation_posts() -> str:
    """What the user's organisation has shared, as far as the user may see it."""
    args = feed_args(request.args)
    args.filters.author_org_id = current_user.organisation_id
    return render_template(
        "clusters/organisation_posts.html",
        page=feed(current_user, args.filters, args.page, PER_PAGE),
        args=args,
        tags=cluster_tags(current_user),
    )


@bp.route("/search")
@login_required
def search() -> str:
    clusters = [cluster for cluster, _role in clusters_with_membership(current_user)]
    args = feed_args(request.args, clusters=clusters)
    searched = bool(terms(args.q))
    page = search_posts(current_user, args.q, args.filters, args.page, PER_PAGE) if searched else None
    return render_template("clusters/search.html", args=args, clusters=clusters, page=page, searched=searched)


# --- writing posts -------------------------------------------------------------------------------


def _render_form(
    form: PostForm,
    post: Post | None = None,
    status: int = 200,
    audience_preview: str | None = None,
    files_note: bool = False,
) -> tuple[str, int]:
    """The post form; ``files_note``: it comes back after a refusal, and files must be chosen again
    (a browser never fills in a file input)."""
    return render_template(
        "clusters/post_form.html",
        form=form,
        cluster=form.cluster,
        post=post,
        audience_preview=audience_preview,
        files_note=files_note,
        accept_extensions=",".join(ACCEPT_EXTENSIONS),
        max_upload=human_size(current_app.config["MAX_UPLOAD_BYTES"]),
        files_at_publish=FILES_AT_PUBLISH,
    ), status


def _audience_preview(post: Post, form: PostForm) -> str:
    """The edit form's "how would the audience change" line for what the form holds now."""
    data = parse_post(form.to_raw())
    orgs, users = services.resolve_recipients(data.recipient_orgs, data.recipient_users)
    cluster = services.cluster_by_slug(data.cluster)
    marking = Marking.proposed(data.tlp, data.law_enforcement_only, orgs, users)
    return audience_change(post, marking, cluster.id).sentence("post")


@bp.route("/clusters/<slug>/posts/new", methods=["GET", "POST"])
@csrf.exempt  # checked below: a form with files is read as a stream, never parsed whole first
@login_required
def new_post(slug: str) -> Any:
    cluster = _cluster_or_404(slug)
    authorize(current_user, "create_post", cluster)
    if request.method == "POST" and request.mimetype == "multipart/form-data":
        return publish_with_files(cluster)
    if request.method == "POST":
        csrf.protect()
    form = PostForm(cluster)
    if not form.is_submitted():
        wanted = request.args.get("type", "")
        if wanted in PostType.values():
            form.type.data = wanted
        return _render_form(form)
    if not form.validate():
        return _render_form(form, status=422)
    try:
        post = services.publish_post(current_user, parse_post(form.to_raw()))
    except ValidationError as exc:
        return refused(form, exc, lambda status: _render_form(form, status=status))
    flash(
        _("Your post “%(title)s” is published in %(cluster)s.", title=post.title, cluster=cluster_label(cluster)),
        "success",
    )
    return redirect(url_for("clusters.post", post_id=post.id))


#: Most files the new post form takes at once (more can be added to the post afterwards).
FILES_AT_PUBLISH = 10


def publish_with_files(cluster: Cluster) -> Any:
    """The new post form with its files, read as one stream: the post's fields (which the form
    sends first) are checked, every file is encrypted and stored, and only then is the post
    published with them, in one transaction: nobody sees it, and no subscriber is told of it
    (the mail goes through the outbox, written in that transaction), before its files are there.
    A refused file publishes nothing and shows the form again as it was typed."""
    from app.drafts.routes import forget_draft, keep_fields_after_csrf, save_streamed_draft

    allow_large_body(FILES_AT_PUBLISH)
    db.session.commit()  # no transaction stays open while the body streams in
    reader = MultipartUpload(file_field="files")
    form = None
    try:
        with refusals():
            name = reader.next_file()
            fields = MultiDict(reader.pairs)
            try:
                validate_csrf(fields.get("csrf_token"))
            except CsrfInvalid:
                discard_rest()
                kept = keep_fields_after_csrf("clusters.new_post", fields)
                if kept is not None:
                    return kept
                raise UploadError(str(CSRF_FAILED)) from None
            if "pax_save_draft" in fields:
                discard_rest()
                return save_streamed_draft("clusters.new_post", fields)
            form = PostForm(cluster, formdata=fields)
            if not form.validate():
                discard_rest()
                return _render_form(form, status=422, files_note=True)
            data = parse_post(form.to_raw())
            db.session.commit()
            stored = []
            while name is not None:
                if name:
                    if len(stored) >= FILES_AT_PUBLISH:
                        raise UploadError(
                            _(
                                "A new post takes at most %(count)s files at once; "
                                "publish it with fewer and add the others on its page.",
                                count=FILES_AT_PUBLISH,
                            )
                        )
                    stored.append(
                        store_file(
                            "attachment",
                            reader.file_chunks(),
                            name,
                            current_user,
                            upload_limit(),
                            target=("cluster", cluster.id),
                            flush=False,
                        )[0]
                    )
                else:
                    for _chunk in reader.file_chunks():  # a file input left empty
                        pass
                name = reader.next_file()
            post = services.publish_post(current_user, data)
            for file in stored:
                attach_stored(current_user, post, file)
    except ValidationError as exc:
        assert form is not None
        discard_rest()
        return refused(form, exc, lambda status: _render_form(form, status=status, files_note=True))
    except UploadRefused as exc:
        db.discard()
        form = form or PostForm(cluster, formdata=MultiDict(reader.pairs))
        form.form_errors_extra.append(exc.message)
        return _render_form(form, status=exc.status, files_note=True)
    forget_draft(fields.get("pax_draft"))
    if stored:
        message = ngettext(
            "Your post “%(title)s” is published in %(cluster)s with %(num)d file.",
            "Your post “%(title)s” is published in %(cluster)s with %(num)d files.",
            len(stored),
            title=post.title,
            cluster=cluster_label(cluster),
        )
    else:
        message = _(
            "Your post “%(title)s” is published in %(cluster)s.", title=post.title, cluster=cluster_label(cluster)
        )
    flash(message, "success")
    return redirect(url_for("clusters.post", post_id=post.id))


@bp.route(POST + "/edit", methods=["GET", "POST"])
@login_required
def edit_post(post_id: int) -> Any:
    post = post_or_404(current_user, post_id, "edit_post")
    if request.method != "POST":
        return _render_form(PostForm.for_post(post), post)
    form = PostForm(post.cluster)
    if not form.validate():
        return _render_form(form, post, 422)
    previewed = audience_previewed(
        form, lambda: _audience_preview(post, form), lambda status, **kw: _render_form(form, post, status, **kw)
    )
    if previewed is not None:
        return previewed
    try:
        services.edit_post(current_user, post, parse_post(form.to_raw()), form_version(form.version.data))
    except StaleEdit as exc:
        return stale(
            form,
            exc,
            lambda: post_or_404(current_user, post_id, "edit_post"),
            PostForm.for_post,
            lambda current, status: _render_form(form, current, status),
        )
    except (ValidationError, NotAllowed) as exc:  # NotAllowed: a loosening or recipients the editor may not make
        return refused(form, exc, lambda status: _render_form(form, post, status))
    flash(
        _("Your changes are saved as version %(number)s; the previous version is in the history.", number=post.version),
        "success",
    )
    return redirect(url_for("clusters.post", post_id=post.id))


@bp.route(POST + "/delete", methods=["GET", "POST"])
@login_required
def delete_post(post_id: int) -> Any:
    """GET asks for confirmation (no script needed); POST deletes with versions and comments."""
    post = post_or_404(current_user, post_id, "delete_post")
    if request.method == "GET":
        return render_template("clusters/post_delete.html", post=post)
    cluster, title = post.cluster, post.title
    services.delete_post(current_user, post, form_version(request.form.get("version")))
    flash(_("The post “%(title)s” is deleted, with its history and comments.", title=title), "success")
    return redirect(url_for("clusters.show", slug=cluster.slug))


# --- reading posts -------------------------------------------------------------------------------


def render_post(
    post: Post, comment_form: CommentForm | None = None, status: int = 200, upload_errors: list[str] | None = None
) -> tuple[str, int]:
    """The post page; also answers a failed comment or upload, with the errors in place."""
    can_comment = can(current_user, "comment_post", post)
    can_see_matches = can(current_user, "see_matches", post)
    comments = post_comments(current_user, post)
    return render_template(
        "clusters/post.html",
        post=post,
        comments=comments,
        editable_comments={c.id for c in comments if can(current_user, "edit_comment", c)},
        attachments=attachment_list(current_user, post),
        can_attach=can(current_user, "attach_file", post),
        upload_errors=upload_errors or [],
        accept_extensions=",".join(ACCEPT_EXTENSIONS),
        max_upload=human_size(current_app.config["MAX_UPLOAD_BYTES"]),
        comment_form=comment_form or (CommentForm(formdata=None) if can_comment else None),
        can_comment=can_comment,
        can_edit=can(current_user, "edit_post", post),
        can_delete=can(current_user, "delete_post", post),
        can_see_matches=can_see_matches,
        matches=match_hits(current_user, post) if can_see_matches else [],
        retention_date=deletion_date(post),
        audience=audience_panel(current_user, post),
    ), status


@bp.route(POST)
@login_required
def post(post_id: int) -> Any:
    found = post_or_404(current_user, post_id)
    record_view(current_user, "post", found, via="page")
    mark_read(current_user, found)
    return render_post(found)


@bp.route(POST + "/comments", methods=["POST"])
@login_required
def comment(post_id: int) -> Any:
    post = post_or_404(current_user, post_id, "comment_post")
    form = CommentForm()
    if not form.validate():
        return render_post(post, form, 422)
    try:
        added = services.add_comment(current_user, post, form.body.data or "")
    except ValidationError as exc:
        return refused(
            form,
            exc,
            lambda status: render_post(post, form, status),
            show=lambda exc: form.body.errors.extend(exc.fields.values()),
        )
    flash(_("Your comment is added."), "success")
    return redirect(url_for("clusters.post", post_id=post.id, _anchor=f"comment-{added.id}"))


COMMENT = POST + "/comments/<int(max=2147483647):comment_id>"


def _render_comment_form(form: CommentEditForm, comment: Comment, status: int = 200) -> tuple[str, int]:
    post = post_or_404(current_user, comment.post_id)
    return render_template("clusters/comment_form.html", form=form, post=post, comment=comment), status


@bp.route(COMMENT + "/edit", methods=["GET", "POST"])
@login_required
def edit_comment(post_id: int, comment_id: int) -> Any:
    """One's own comment: its words, from the version the page was drawn from."""
    found = comment_or_404(current_user, post_id, comment_id, "edit_comment")
    if request.method != "POST":
        return _render_comment_form(CommentEditForm.for_comment(found), found)
    form = CommentEditForm()
    if not form.validate():
        return _render_comment_form(form, found, 422)
    try:
        services.edit_comment(current_user, found, form.body.data or "", form_version(form.version.data))
    except StaleEdit as exc:
        return stale(
            form,
            exc,
            lambda: comment_or_404(current_user, post_id, comment_id, "edit_comment"),
            CommentEditForm.for_comment,
            lambda current, status: _render_comment_form(form, current, status),
        )
    except ValidationError as exc:
        return refused(
            form,
            exc,
            lambda status: _render_comment_form(form, found, status),
            show=lambda exc: form.body.errors.extend(exc.fields.values()),
        )
    flash(_("Your comment is changed."), "success")
    return redirect(url_for("clusters.post", post_id=post_id, _anchor=f"comment-{comment_id}"))


@bp.route(POST + "/history")
@login_required
def history(post_id: int) -> str:
    """Earlier versions of a post: each to those who may see the post now and whom its own marking
    admitted; the others by number only."""
    post = post_or_404(current_user, post_id)
    record_view(current_user, "post", post, via="history")
    return render_template("clusters/post_history.html", post=post, versions=post_history(current_user, post))


@bp.route(POST + "/history/compare")
@login_required
def compare(post_id: int) -> Any:
    """Two versions of a post side by side, word by word (``?a=&b=`` version numbers; by default
    the newest earlier version the member may see against the current one)."""
    post = post_or_404(current_user, post_id)
    readable = [row.number for row in post_history(current_user, post) if row.version is not None]
    numbers = [post.version, *readable]
    try:
        first = int(request.args.get("a", readable[0] if readable else post.version))
        second = int(request.args.get("b", post.version))
    except ValueError:
        first = second = 0
    if not 1 <= first <= post.version or not 1 <= second <= post.version:
        message = _("Choose two version numbers of this post to compare.")
        return render_template("clusters/post_compare.html", post=post, numbers=numbers, error=message), 400
    comparison = compare_versions(current_user, post, first, second) if readable or first != second else None
    record_view(current_user, "post", post, via="compare")
    return render_template("clusters/post_compare.html", post=post, numbers=numbers, comparison=comparison, error=None)
