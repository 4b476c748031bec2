"""The one access policy: who may see which rows, and who may do what.

Default deny and total: every rule for administrators, curators and auditors lives here,
not in callers. Reads are SQL expressions (``visible_*``) that lists, searches, counts and
exports put in their WHERE clause; writes are ``can(user, action, target)``. Views load and
authorise through the ``*_or_404`` helpers so a hidden item and a missing one look alike.

Administrators administer (organisations, accounts, identity providers) and never read
content by virtue of being administrators.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import abort

from app.auth.models import GlobalRole, User, UserStatus
from app.clusters.models import (
    Attachment,
    Cluster,
    ClusterMembership,
    Comment,
    MembershipRole,
    Post,
    PostRecipientOrg,
    PostRecipientUser,
    Tlp,
)
from app.extensions import db

#: Accounts that must use a second factor (DESIGN.md, Identity).
MFA_REQUIRED_ROLES = frozenset({GlobalRole.CURATOR, GlobalRole.ADMIN, GlobalRole.AUDITOR})


def is_active_user(user: Any) -> bool:
    return isinstance(user, User) and user.status is UserStatus.ACTIVE


def is_admin(user: Any) -> bool:
    return is_active_user(user) and user.role is GlobalRole.ADMIN


def mfa_required(user: User) -> bool:
    """Law-enforcement, curator, administrator and auditor accounts need a second factor."""
    return user.role in MFA_REQUIRED_ROLES or user.organisation.is_law_enforcement


# --- reads as SQL ----------------------------------------------------------------------------------


def visible_clusters(user: Any) -> sa.ColumnElement[bool]:
    """Every active member sees the four clusters exist; content inside them is filtered separately."""
    return sa.true() if is_active_user(user) else sa.false()


def member_cluster_ids(user: Any, roles: tuple[MembershipRole, ...] | None = None) -> list[int]:
    """The clusters ``user`` belongs to (optionally with one of ``roles``)."""
    if not is_active_user(user):
        return []
    stmt = sa.select(ClusterMembership.cluster_id).where(ClusterMembership.user_id == user.id)
    if roles:
        stmt = stmt.where(ClusterMembership.role.in_(roles))
    return list(db.session.scalars(stmt))


def visible_posts(user: Any) -> sa.ColumnElement[bool]:
    """Posts ``user`` may see, as DESIGN.md's access table says; the one rule every read uses.

    CLEAR and GREEN: every active member. AMBER: the post's cluster members, the author's
    organisation and named recipient organisations. AMBER+STRICT: the author's organisation and
    named recipient organisations. RED: the author and named recipients. "Law enforcement only"
    narrows any of these to law-enforcement users plus the author. The author always sees their
    own post; nobody else has an override, administrators and curators included.
    """
    if not is_active_user(user):
        return sa.false()
    is_author = Post.author_id == user.id
    same_org = Post.author_org_id == user.organisation_id
    recipient_org = (
        sa.select(PostRecipientOrg.post_id)
        .where(PostRecipientOrg.post_id == Post.id, PostRecipientOrg.organisation_id == user.organisation_id)
        .exists()
    )
    recipient_user = (
        sa.select(PostRecipientUser.post_id)
        .where(PostRecipientUser.post_id == Post.id, PostRecipientUser.user_id == user.id)
        .exists()
    )
    clusters = member_cluster_ids(user)
    in_cluster = Post.cluster_id.in_(clusters) if clusters else sa.false()
    audience = sa.or_(
        is_author,
        Post.tlp.in_([Tlp.CLEAR, Tlp.GREEN]),
        sa.and_(Post.tlp == Tlp.AMBER, sa.or_(in_cluster, same_org, recipient_org)),
        sa.and_(Post.tlp == Tlp.AMBER_STRICT, sa.or_(same_org, recipient_org)),
        sa.and_(Post.tlp == Tlp.RED, recipient_user),
    )
    if user.organisation.is_law_enforcement:
        return audience
    return sa.and_(audience, sa.or_(Post.law_enforcement_only.is_(False), is_author))


def visible_comments(user: Any) -> sa.ColumnElement[bool]:
    """Comments share their post's audience, never a wider one."""
    return sa.select(Post.id).where(Post.id == Comment.post_id, visible_posts(user)).exists()


def approvable_users(user: Any) -> sa.ColumnElement[bool]:
    """Pending accounts ``user`` may approve or reject: all for administrators, their own
    organisation's for a focal point."""
    if not is_active_user(user):
        return sa.false()
    pending = User.status == UserStatus.PENDING
    if user.role is GlobalRole.ADMIN:
        return pending
    if user.is_focal_point:
        return sa.and_(pending, User.organisation_id == user.organisation_id)
    return sa.false()


def membership_role(user: Any, cluster: Cluster) -> MembershipRole | None:
    if not is_active_user(user):
        return None
    return db.session.scalar(
        sa.select(ClusterMembership.role).where(
            ClusterMembership.user_id == user.id, ClusterMembership.cluster_id == cluster.id
        )
    )


# --- actions ---------------------------------------------------------------------------------------


def can(user: Any, action: str, target: Any = None) -> bool:
    """May ``user`` perform ``action`` on ``target``? Unknown actions are denied."""
    if not is_active_user(user):
        return False
    rule = _RULES.get(action)
    return bool(rule and rule(user, target))


def _always(_user: User, _target: Any) -> bool:
    return True


def _admin(user: User, _target: Any) -> bool:
    return user.role is GlobalRole.ADMIN


def _approve(user: User, target: Any) -> bool:
    if not isinstance(target, User) or target.status is not UserStatus.PENDING:
        return False
    if user.role is GlobalRole.ADMIN:
        return True
    return user.is_focal_point and target.organisation_id == user.organisation_id


def _approvals_page(user: User, _target: Any) -> bool:
    return user.role is GlobalRole.ADMIN or user.is_focal_point


def _admin_on_other(user: User, target: Any) -> bool:
    """Administrators act on other accounts; nobody suspends or demotes themselves by accident."""
    return user.role is GlobalRole.ADMIN and isinstance(target, User) and target.id != user.id


def _post_in_cluster(user: User, cluster: Any) -> bool:
    """Contributors and coordinators of a cluster post in it; readers only read."""
    role = membership_role(user, cluster) if isinstance(cluster, Cluster) else None
    return role in (MembershipRole.CONTRIBUTOR, MembershipRole.COORDINATOR)


def _edit_post(user: User, post: Any) -> bool:
    """The author, or the focal point of the author's organisation (callers load the post visibly)."""
    if not isinstance(post, Post):
        return False
    return post.author_id == user.id or (user.is_focal_point and post.author_org_id == user.organisation_id)


def _comment_on(user: User, post: Any) -> bool:
    """Everyone in a post's audience may comment, except those who are only readers of its cluster."""
    if not isinstance(post, Post):
        return False
    if post.author_id == user.id or post.author_org_id == user.organisation_id:
        return True
    if any(r.organisation_id == user.organisation_id for r in post.recipient_orgs):
        return True
    if any(r.user_id == user.id for r in post.recipient_users):
        return True
    return _post_in_cluster(user, post.cluster)


def _view_audit(user: User, _target: Any) -> bool:
    return user.role in (GlobalRole.ADMIN, GlobalRole.AUDITOR)


_RULES: dict[str, Callable[[User, Any], bool]] = {
    # every active member
    "view_dashboard": _always,
    "view_cluster": _always,
    "manage_own_account": _always,
    "create_post": _post_in_cluster,
    "edit_post": _edit_post,
    "delete_post": _edit_post,
    "attach_file": _edit_post,
    "comment_post": _comment_on,
    # organisation focal points and administrators
    "view_approvals": _approvals_page,
    "approve_user": _approve,
    # administrators only
    "administer": _admin,
    "manage_organisations": _admin,
    "manage_identity_providers": _admin,
    "manage_memberships": _admin,
    "view_users": _admin,
    "suspend_user": _admin_on_other,
    "reactivate_user": _admin_on_other,
    "change_role": _admin_on_other,
    "reset_mfa": _admin_on_other,
    "set_focal_point": _admin,
    # administrators and auditors
    "view_audit": _view_audit,
}

ACTIONS = frozenset(_RULES)


def authorize(user: Any, action: str, target: Any = None) -> None:
    """Abort with 403 unless ``user`` may do ``action`` (for actions on things the user can see)."""
    if not can(user, action, target):
        abort(403)


def cluster_or_404(user: Any, slug: str) -> Cluster:
    cluster = db.session.scalar(sa.select(Cluster).where(Cluster.slug == slug, visible_clusters(user)))
    if cluster is None:
        abort(404)
    return cluster


def user_or_404(viewer: Any, user_id: int, action: str) -> User:
    """Load an account for an administrative ``action``; a viewer without the right gets 404."""
    target = db.session.get(User, user_id)
    if target is None or not can(viewer, action, target):
        abort(404)
    return target


def attachment_or_404(user: Any, attachment_id: int, need: str = "view") -> Attachment:
    """Load an attachment of a post the user may see (404 otherwise); ``need`` is checked on the post."""
    attachment = db.session.scalar(
        sa.select(Attachment)
        .join(Post, Post.id == Attachment.post_id)
        .where(Attachment.id == attachment_id, visible_posts(user))
    )
    if attachment is None:
        abort(404)
    if need != "view" and not can(user, need, attachment.post):
        abort(403)
    return attachment


def post_or_404(user: Any, post_id: int, need: str = "view") -> Post:
    """Load a post the user may see (404 otherwise) and, for ``need`` other than view, may act on.

    A post the user can see but not change answers 403; one they cannot see answers 404, so a
    hidden post and a missing one look alike.
    """
    post = db.session.scalar(sa.select(Post).where(Post.id == post_id, visible_posts(user)))
    if post is None:
        abort(404)
    if need != "view" and not can(user, need, post):
        abort(403)
    return post
