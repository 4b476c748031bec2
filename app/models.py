"""Imports every model so the metadata is complete (Alembic's env.py and tests use this)."""

from app.audit.models import AuditChainHead, AuditEvent
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
from app.auth.onboarding_models import Invitation, PasswordReset
from app.clusters.models import (
    Attachment,
    Cluster,
    ClusterMembership,
    Comment,
    IncidentContainer,
    IncidentDetails,
    MembershipRole,
    Post,
    PostRead,
    PostRecipientOrg,
    PostRecipientUser,
    PostTag,
    PostVersion,
)
from app.crossmatch.models import IdentifierKind, MatchIdentifier
from app.directory.models import Organisation, OrganisationDomain, OrgType
from app.drafts.models import Draft, DraftKind
from app.files.models import StoredFile
from app.markings import MarkingSnapshot, MarkingSnapshotOrg, MarkingSnapshotUser
from app.meetings.models import (
    AgendaItem,
    Meeting,
    MeetingDocument,
    MeetingKind,
    MeetingRecipientOrg,
    MeetingRecipientUser,
)
from app.notifications.models import DeliveryMode, Notification, OutboxMessage, Subscription
from app.taxii.models import StixObjectId
from app.workplan.models import Workplan, WorkplanItem, WorkplanItemChange, WorkplanItemLead

__all__ = [
    "AgendaItem",
    "ApiToken",
    "Attachment",
    "AuditChainHead",
    "AuditEvent",
    "Cluster",
    "ClusterMembership",
    "Comment",
    "DeliveryMode",
    "Draft",
    "DraftKind",
    "GlobalRole",
    "IdentifierKind",
    "Identity",
    "IdentityProvider",
    "IncidentContainer",
    "IncidentDetails",
    "Invitation",
    "MarkingSnapshot",
    "MarkingSnapshotOrg",
    "MarkingSnapshotUser",
    "MatchIdentifier",
    "Meeting",
    "MeetingDocument",
    "MeetingKind",
    "MeetingRecipientOrg",
    "MeetingRecipientUser",
    "MembershipRole",
    "Notification",
    "OrgType",
    "Organisation",
    "OrganisationDomain",
    "OutboxMessage",
    "PasswordReset",
    "Post",
    "PostRead",
    "PostRecipientOrg",
    "PostRecipientUser",
    "PostTag",
    "PostVersion",
    "RecoveryCode",
    "StixObjectId",
    "StoredFile",
    "Subscription",
    "TokenScope",
    "User",
    "UserSession",
    "UserStatus",
    "Workplan",
    "WorkplanItem",
    "WorkplanItemChange",
    "WorkplanItemLead",
]
