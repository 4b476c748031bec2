"""Imports every model so the metadata is complete (Alembic's env.py and tests use this)."""

from app.auth.models import GlobalRole, User, UserStatus
from app.clusters.models import Cluster, ClusterMembership, MembershipRole
from app.directory.models import Organisation, OrganisationDomain, OrgType

__all__ = [
    "Cluster",
    "ClusterMembership",
    "GlobalRole",
    "MembershipRole",
    "OrgType",
    "Organisation",
    "OrganisationDomain",
    "User",
    "UserStatus",
]
