"""Reads for cluster pages; every query goes through the policy's visibility expressions."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from app.clusters.models import Cluster, ClusterMembership, MembershipRole
from app.extensions import db
from app.policy import visible_clusters


def clusters_with_membership(user: Any) -> list[tuple[Cluster, MembershipRole | None]]:
    """Visible clusters in workplan order, each with the user's membership role (or None)."""
    user_id = getattr(user, "id", None)
    stmt = (
        sa.select(Cluster, ClusterMembership.role)
        .outerjoin(
            ClusterMembership,
            sa.and_(ClusterMembership.cluster_id == Cluster.id, ClusterMembership.user_id == user_id),
        )
        .where(visible_clusters(user))
        .order_by(Cluster.position)
    )
    return [(cluster, role) for cluster, role in db.session.execute(stmt).all()]


def member_count(cluster: Cluster) -> int:
    return (
        db.session.scalar(
            sa.select(sa.func.count()).select_from(ClusterMembership).where(ClusterMembership.cluster_id == cluster.id)
        )
        or 0
    )
