"""Cluster aggregates: clusters and memberships, posts with their versions, comments."""

from app.clusters.models.cluster import Cluster, ClusterMembership, MembershipRole
from app.clusters.models.comment import Comment
from app.clusters.models.post import (
    IncidentContainer,
    IncidentDetails,
    ModusOperandi,
    Post,
    PostRecipientOrg,
    PostRecipientUser,
    PostTag,
    PostType,
    PostVersion,
    Substance,
    Tlp,
)

__all__ = [
    "Cluster",
    "ClusterMembership",
    "Comment",
    "IncidentContainer",
    "IncidentDetails",
    "MembershipRole",
    "ModusOperandi",
    "Post",
    "PostRecipientOrg",
    "PostRecipientUser",
    "PostTag",
    "PostType",
    "PostVersion",
    "Substance",
    "Tlp",
]
