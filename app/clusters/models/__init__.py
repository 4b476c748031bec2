"""Cluster aggregates: clusters and memberships, posts with their versions, comments, attachments."""

from app.clusters.models.attachment import Attachment, AttachmentVersion
from app.clusters.models.cluster import Cluster, ClusterMembership, MembershipRole
from app.clusters.models.comment import Comment
from app.clusters.models.post import (
    IncidentContainer,
    IncidentDetails,
    ModusOperandi,
    Post,
    PostRead,
    PostRecipientOrg,
    PostRecipientUser,
    PostTag,
    PostType,
    PostVersion,
    Substance,
)

__all__ = [
    "Attachment",
    "AttachmentVersion",
    "Cluster",
    "ClusterMembership",
    "Comment",
    "IncidentContainer",
    "IncidentDetails",
    "MembershipRole",
    "ModusOperandi",
    "Post",
    "PostRead",
    "PostRecipientOrg",
    "PostRecipientUser",
    "PostTag",
    "PostType",
    "PostVersion",
    "Substance",
]
