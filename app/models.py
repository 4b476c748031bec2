"""Imports every model so the metadata is complete (Alembic's env.py and tests use this)."""

from app.auth.models import (
    ApiToken,
    GlobalRole,
    Identity,
    IdentityProvider,
    RecoveryCode,
    TokenScope,
    User,
    UserSession,
    UserStatus,
)
from app.clusters.models import Cluster, ClusterMembership, MembershipRole
from app.directory.models import Organisation, OrganisationDomain, OrgType

__all__ = [
    "ApiToken",
    "Cluster",
    "ClusterMembership",
    "GlobalRole",
    "Identity",
    "IdentityProvider",
    "MembershipRole",
    "OrgType",
    "Organisation",
    "OrganisationDomain",
    "RecoveryCode",
    "TokenScope",
    "User",
    "UserSession",
    "UserStatus",
]
