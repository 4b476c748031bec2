"""The one access policy: who may see which rows, and who may do what.

Default deny and total: every rule for administrators, curators and auditors lives here,
not in callers. Reads are SQL expressions (``visible_*``) that lists, searches, counts and
exports put in their WHERE clause; writes are ``can(user, action, target)``. Views load and
authorise through the ``*_or_404`` helpers so a hidden item and a missing one look alike.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import abort

from app.auth.models import GlobalRole, User, UserStatus
from app.clusters.models import Cluster, ClusterMembership, MembershipRole
from app.extensions import db


def is_active_user(user: Any) -> bool:
    return isinstance(user, User) and user.status is UserStatus.ACTIVE


def visible_clusters(user: Any) -> sa.ColumnElement[bool]:
    """Every active member sees the four clusters exist; content inside them is filtered separately."""
    return sa.true() if is_active_user(user) else sa.false()


def membership_role(user: Any, cluster: Cluster) -> MembershipRole | None:
    if not is_active_user(user):
        return None
    return db.session.scalar(
        sa.select(ClusterMembership.role).where(
            ClusterMembership.user_id == user.id, ClusterMembership.cluster_id == cluster.id
        )
    )


def can(user: Any, action: str, target: Any = None) -> bool:
    """May ``user`` perform ``action`` on ``target``? Unknown actions are denied."""
    if not is_active_user(user):
        return False
    rule = _RULES.get(action)
    return bool(rule and rule(user, target))


def _is_admin(user: User, _target: Any) -> bool:
    return user.role is GlobalRole.ADMIN


_RULES = {
    "view_dashboard": lambda user, _t: True,
    "view_cluster": lambda user, _t: True,
    "administer": _is_admin,
}


def cluster_or_404(user: Any, slug: str) -> Cluster:
    cluster = db.session.scalar(sa.select(Cluster).where(Cluster.slug == slug, visible_clusters(user)))
    if cluster is None:
        abort(404)
    return cluster
