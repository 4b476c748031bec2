"""Imports every model so the metadata is complete (Alembic's env.py and tests use this)."""

from app.audit.models import AuditEvent
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
from app.clusters.models import (
    Attachment,
    Cluster,
    ClusterMembership,
    Comment,
    IncidentContainer,
    IncidentDetails,
    MembershipRole,
    Post,
    PostRecipientOrg,
    PostRecipientUser,
    PostTag,
    PostVersion,
)
from app.directory.models import Organisation, OrganisationDomain, OrgType
from app.files.models import StoredFile
from app.meetings.models import (
    AgendaItem,
    Meeting,
    MeetingDocument,
    MeetingKind,
    MeetingRecipientOrg,
    MeetingRecipientUser,
)
from app.workplan.models import Workplan, WorkplanItem, WorkplanItemChange, WorkplanItemLead

__all__ = [
    "AgendaItem",
    "ApiToken",
    "Attachment",
    "AuditEvent",
    "Cluster",
    "ClusterMembership",
    "Comment",
    "GlobalRole",
    "Identity",
    "IdentityProvider",
    "IncidentContainer",
    "IncidentDetails",
    "Meeting",
    "MeetingDocument",
    "MeetingKind",
    "MeetingRecipientOrg",
    "MeetingRecipientUser",
    "MembershipRole",
    "OrgType",
    "Organisation",
    "OrganisationDomain",
    "Post",
    "PostRecipientOrg",
    "PostRecipientUser",
    "PostTag",
    "PostVersion",
    "RecoveryCode",
    "StoredFile",
    "TokenScope",
    "User",
    "UserSession",
    "UserStatus",
    "Workplan",
    "WorkplanItem",
    "WorkplanItemChange",
    "WorkplanItemLead",
]
