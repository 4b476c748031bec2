"""Writes on posts and comments, shared by the pages, the API and the tests.

Every edit keeps the previous version; deleting a post removes it with its versions and
comments, and crypto-shreds its attachments (``app.clusters.attachments``).
"""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from app.audit.services import record, record_refused
from app.auth.models import User, UserStatus
from app.clusters.markdown import plain_text, render
from app.clusters.models import (
    Cluster,
    Comment,
    IncidentContainer,
    IncidentDetails,
    Post,
    PostRecipientOrg,
    PostRecipientUser,
    PostTag,
    PostVersion,
)
from app.clusters.names import cluster_label
from app.clusters.validation import MAX_BODY, PostInput
from app.concurrency import claim
from app.crossmatch.services import index_note
from app.db import utcnow
from app.directory.models import Organisation
from app.extensions import db
from app.markings import Marking, snapshot_of
from app.notifications.fanout import announce_post, record_marking_change
from app.policy import NotAllowed, can, check_marking_change, recipient_refusal
from app.taxii.ids import index_post_objects
from app.validation import ValidationError
from app.workplan.models import WorkplanItem

log = logging.getLogger("pax.posts")

#: The longest comment, in characters.
MAX_COMMENT = MAX_BODY // 10


def cluster_by_slug(slug: str) -> Cluster:
    """The cluster a form or API body names; an unknown slug is a ``cluster`` field error."""
    cluster = db.session.scalar(sa.select(Cluster).where(Cluster.slug == slug))
    if cluster is None:
        slugs = db.session.scalars(sa.select(Cluster.slug).order_by(Cluster.position)).all()
        raise ValidationError(
            {
                "cluster": _(
                    "Unknown cluster %(name)s; choose one of: %(slugs)s.", name=repr(slug[:64]), slugs=", ".join(slugs)
                )
            }
        )
    return cluster


def resolve_recipients(org_names: list[str], emails: list[str]) -> tuple[list[Organisation], list[User]]:
    """Named recipient organisations (by name, any case) and people (active members' e-mails);
    the first unknown one of each is a ``recipient_orgs`` / ``recipient_users`` field error."""
    errors: dict[str, str] = {}
    orgs: list[Organisation] = []
    for name in dict.fromkeys(org_names):
        org = db.session.scalar(sa.select(Organisation).where(sa.func.lower(Organisation.name) == name.lower()))
        if org is None:
            errors["recipient_orgs"] = _("No member organisation is named %(name)s.", name=repr(name[:80]))
            break
        orgs.append(org)
    users: list[User] = []
    for email in dict.fromkeys(emails):
        user = db.session.scalar(sa.select(User).where(User.email == email, User.status == UserStatus.ACTIVE))
        if user is None:
            errors["recipient_users"] = _("No active member has the e-mail address %(address)s.", address=email[:120])
            break
        users.append(user)
    if errors:
        raise ValidationError(errors)
    return orgs, users


def refuse_self_added_recipients(
    actor: User, item: Any, kind: str, orgs: list[Organisation], users: list[User]
) -> None:
    """``NotAllowed`` with ``app.policy.recipient_refusal``'s reason when ``actor`` adds to ``item``
    (a post or meeting, ``kind`` naming which) recipients it may not: themselves, and for
    administrators and curators a co-administrator or their own organisation. Recipients the item
    names already are not added. The refused attempt is audited in a transaction of its own."""
    added_orgs = [o for o in orgs if o.id not in {r.organisation_id for r in item.recipient_orgs}]
    added_users = [u for u in users if u.id not in {r.user_id for r in item.recipient_users}]
    reason = recipient_refusal(actor, item.author_id, added_orgs, added_users)
    if reason is None:
        return
    record_refused(
        f"{kind}.recipients",
        actor=actor,
        target=(kind, item.id) if item.id is not None else None,
        organisations=[o.id for o in added_orgs],
        users=[u.id for u in added_users],
        reason=reason,
    )
    raise NotAllowed(reason)


def _workplan_item(data: PostInput, cluster: Cluster) -> WorkplanItem | None:
    if data.workplan_item_id is None:
        return None
    item = db.session.get(WorkplanItem, data.workplan_item_id)
    if item is None or item.cluster_id != cluster.id:
        raise ValidationError({"workplan_item_id": _("Choose an item of this cluster's workplan.")})
    return item


def _apply(post: Post, data: PostInput, cluster: Cluster, recipients: tuple[list[Organisation], list[User]]) -> None:
    orgs, users = recipients
    item = _workplan_item(data, cluster)
    post.type = data.type
    post.cluster = cluster
    post.title = data.title
    post.body = data.body
    post.body_html = render(data.body)
    post.body_text = plain_text(post.body_html)
    post.tlp = data.tlp
    post.law_enforcement_only = data.law_enforcement_only
    post.workplan_item_id = item.id if item else None
    post.tags = [PostTag(tag=t) for t in data.tags]
    post.tags_text = " ".join(data.tags)
    post.recipient_orgs = [PostRecipientOrg(organisation_id=o.id) for o in orgs]
    post.recipient_users = [PostRecipientUser(user_id=u.id) for u in users]
    if data.incident is None:
        post.incident = None
    else:
        i = data.incident
        details = post.incident or IncidentDetails()
        details.port_locode = i.port_locode
        details.occurred_on = i.occurred_on
        details.modus_operandi = i.modus_operandi
        details.substance = i.substance
        details.quantity_kg = i.quantity_kg
        details.vessel_imo = i.vessel_imo
        details.containers = [IncidentContainer(position=n, number=c) for n, c in enumerate(i.container_numbers)]
        post.incident = details


def publish_post(author: User, data: PostInput) -> Post:
    """Create a post in a cluster the author contributes to."""
    cluster = cluster_by_slug(data.cluster)
    if not can(author, "create_post", cluster):
        raise NotAllowed(
            _("Only contributors and coordinators of %(cluster)s can post in it.", cluster=cluster_label(cluster))
        )
    post = Post(author_id=author.id, author_org_id=author.organisation_id, version=1)
    _apply(post, data, cluster, resolve_recipients(data.recipient_orgs, data.recipient_users))
    db.session.add(post)
    db.session.flush()
    record(
        "post.create",
        actor=author,
        target=("post", post.id),
        target_org=post.author_org_id,
        type=post.type.value,
        tlp=post.tlp.value,
        cluster=cluster.slug,
    )
    index_note(post)
    index_post_objects(post.id)
    announce_post(post)
    log.info("post %s published in cluster %s by user %s", post.id, cluster.slug, author.id)
    return post


def edit_post(editor: User, post: Post, data: PostInput, expected_version: int | None = None) -> Post:
    """Change a post, keeping what it was as a version.

    Only the author or their organisation's focal point loosens its marking
    (``policy.check_marking_change``); a change of marking is audited and told to them.

    ``expected_version`` is the version the editor's copy shows; a save from any other, or one
    that loses to a simultaneous save, raises ``StaleEdit`` and writes nothing.
    """
    if not can(editor, "edit_post", post):
        raise NotAllowed(_("Only the author or their organisation's focal point can edit this post."))
    cluster = cluster_by_slug(data.cluster)
    if cluster.id != post.cluster_id and not can(editor, "create_post", cluster):
        raise NotAllowed(
            _("Only contributors and coordinators of %(cluster)s can post in it.", cluster=cluster_label(cluster))
        )
    recipients = resolve_recipients(data.recipient_orgs, data.recipient_users)
    # The more specific refusal first: naming oneself is refused whatever the marking does.
    refuse_self_added_recipients(editor, post, "post", *recipients)
    old_marking = Marking.of(post)
    new_marking = Marking.proposed(data.tlp, data.law_enforcement_only, *recipients)
    check_marking_change(editor, post, old_marking, new_marking)
    replaced = claim(post, expected_version)
    # Before the change: the version being replaced keeps the marking it was written under.
    written_under = snapshot_of(post)
    db.session.add(
        PostVersion(
            post_id=post.id,
            version=replaced,
            title=post.title,
            body=post.body,
            tlp=post.tlp,
            law_enforcement_only=post.law_enforcement_only,
            tags_text=post.tags_text,
            replaced_by_id=editor.id,
            written_at=post.updated_at,
            marking_id=written_under.id,
        )
    )
    _apply(post, data, cluster, recipients)
    post.updated_at = utcnow()
    db.session.flush()
    record(
        "post.edit",
        actor=editor,
        target=("post", post.id),
        target_org=post.author_org_id,
        version=post.version,
        tlp=post.tlp.value,
    )
    record_marking_change(editor, post, old_marking, new_marking)
    index_note(post)
    log.info("post %s edited (version %s) by user %s", post.id, post.version, editor.id)
    return post


def delete_post(user: User, post: Post, expected_version: int | None = None) -> None:
    """Delete the post (``StaleEdit`` when it changed since ``expected_version`` or meanwhile)."""
    if not can(user, "delete_post", post):
        raise NotAllowed(_("Only the author or their organisation's focal point can delete this post."))
    claim(post, expected_version)
    from app.clusters.attachments import shred_post_files

    log.info("post %s deleted by user %s", post.id, user.id)
    record("post.delete", actor=user, target=("post", post.id), target_org=post.author_org_id, type=post.type.value)
    shred_post_files(post)
    db.session.delete(post)
    db.session.flush()


def _comment_text(body: str) -> str:
    """A comment's text as it is kept: trimmed, not empty, not too long (a ``body`` field error)."""
    text = (body or "").strip()
    if not text:
        raise ValidationError({"body": _("Write your comment.")})
    if len(text) > MAX_COMMENT or "\x00" in text:
        raise ValidationError({"body": _("A comment has at most %(count)s characters.", count=f"{MAX_COMMENT:,}")})
    return text


def add_comment(user: User, post: Post, body: str) -> Comment:
    if not can(user, "comment_post", post):
        raise NotAllowed(_("Readers of this cluster cannot comment."))
    text = _comment_text(body)
    comment = Comment(
        post_id=post.id, author_id=user.id, body=text, body_html=render(text), marking_id=snapshot_of(post).id
    )
    db.session.add(comment)
    db.session.flush()
    record("comment.create", actor=user, target=("comment", comment.id), target_org=post.author_org_id, post_id=post.id)
    return comment


def edit_comment(user: User, comment: Comment, body: str, expected_version: int | None = None) -> Comment:
    """Change the words of one's own comment (``StaleEdit`` from a stale copy or a lost race).

    A comment whose version is above 1 has been edited, and says so. The audit event names the
    comment and its version, never its words.
    """
    if not can(user, "edit_comment", comment):
        raise NotAllowed(_("Only the comment's author can change it."))
    text = _comment_text(body)
    claim(comment, expected_version)
    comment.body, comment.body_html = text, render(text)
    db.session.flush()
    record(
        "comment.edit",
        actor=user,
        target=("comment", comment.id),
        target_org=db.session.scalar(sa.select(Post.author_org_id).where(Post.id == comment.post_id)),
        post_id=comment.post_id,
        version=comment.version,
    )
    return comment
