"""The one access policy: who may see which rows, and who may do what.

Default deny and total: every rule for administrators, curators and auditors lives here,
not in callers. Reads are SQL expressions (``visible_*``) that lists, searches, counts and
exports put in their WHERE clause; writes are ``can(user, action, target)``. Views load and
authorise through the ``*_or_404`` helpers so a hidden item and a missing one look alike.

Administrators administer (organisations, accounts, identity providers) and never read
content by virtue of being administrators.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn, TypeVar

import sqlalchemy as sa
from flask import abort, current_app, g, has_app_context
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.audit.models import ACCESS_ACTIONS, AuditEvent
from app.auth.models import GlobalRole, IdentityLinkRequest, LinkRequestStatus, User, UserStatus
from app.clusters.models import (
    Attachment,
    AttachmentVersion,
    Cluster,
    ClusterMembership,
    Comment,
    MembershipRole,
    Post,
    PostRecipientOrg,
    PostRecipientUser,
    PostType,
    PostVersion,
)
from app.directory.models import Organisation
from app.errors import Refusal
from app.extensions import db
from app.files.models import StoredFile
from app.files.scanning import RELEASED
from app.markings import Marked, Marking, MarkingSnapshot, MarkingSnapshotOrg, MarkingSnapshotUser, Tlp, loosens
from app.meetings.models import (
    InvitationKind,
    Meeting,
    MeetingDocument,
    MeetingDocumentVersion,
    MeetingInvitation,
    MeetingKind,
    MeetingParticipant,
    MeetingRecipientOrg,
    MeetingRecipientUser,
)
from app.workplan.models import WorkplanItem

_Loaded = TypeVar("_Loaded")

#: Accounts that must use a second factor.
MFA_REQUIRED_ROLES = frozenset({GlobalRole.CURATOR, GlobalRole.ADMIN, GlobalRole.AUDITOR})


def is_active_user(user: Any) -> bool:
    return isinstance(user, User) and user.status is UserStatus.ACTIVE


def mfa_required(user: User) -> bool:
    """Law-enforcement, curator, administrator and auditor accounts need a second factor; with
    ``PAX_MFA_FOR_EVERYONE`` (ASVS 5.0 Level 2, 6.3.3), every account does."""
    if current_app.config["MFA_FOR_EVERYONE"]:
        return True
    return user.role in MFA_REQUIRED_ROLES or user.organisation.is_law_enforcement


class NotAllowed(Refusal):
    """A service's refusal: the user may see the thing but not do this to it (403 in pages and API)."""


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


@dataclass(frozen=True)
class _Viewer:
    """What of an account the access rule reads (memberships are a subquery, read at query time).

    Values for one account; or, for ``audience_of``, the columns of every account, so the same
    rule lists everyone an item admits."""

    id: Any
    organisation_id: Any
    law_enforcement: Any


def _viewer(user: User) -> _Viewer:
    return _Viewer(user.id, user.organisation_id, user.organisation.is_law_enforcement)


#: Every account at once: the rule applied to these columns admits the rows of ``User``.
_EVERYONE = _Viewer(User.id, User.organisation_id, Organisation.is_law_enforcement)


def viewer_key(user: Any) -> _Viewer | None:
    """Everything of ``user`` the ``visible_*`` expressions are built from (None: sees nothing),
    for callers that keep statements built with them."""
    return _viewer(user) if is_active_user(user) else None


#: Why a viewer is in an item's audience, in the order the "who can see this" panel gives them.
AUDIENCE_RULES = ("author", "all_members", "author_org", "cluster", "recipient_org", "named_person")


@dataclass(frozen=True)
class _Terms:
    """A marked model with the cluster it lives in and whether the viewer is a named recipient."""

    item: Any
    cluster_id: Any
    recipient_org: sa.ColumnElement[bool]
    recipient_user: sa.ColumnElement[bool]


def _audience_rules(viewer: _Viewer, terms: _Terms) -> dict[str, sa.ColumnElement[bool]]:
    """The access table (README, "Sharing: posts, markings, search"), one clause per reason a viewer
    is admitted (``AUDIENCE_RULES``), before "law enforcement only" narrows them.

    CLEAR and GREEN: every active member. AMBER: the item's cluster members, the author's
    organisation and named recipient organisations. AMBER+STRICT: the author's organisation and
    named recipient organisations. RED: the author and named recipients. The author always sees
    their own item; nobody else has an override, administrators and curators included.
    """
    item = terms.item
    tlp = item.tlp
    shared_with_orgs = tlp.in_([Tlp.AMBER, Tlp.AMBER_STRICT])
    # A subquery rather than a list fetched first: one round trip fewer for every read that filters.
    in_cluster = terms.cluster_id.in_(
        sa.select(ClusterMembership.cluster_id)
        .where(ClusterMembership.user_id == viewer.id)
        .correlate_except(ClusterMembership)
    )
    return {
        "author": item.author_id == viewer.id,
        "all_members": tlp.in_([Tlp.CLEAR, Tlp.GREEN]),
        "author_org": sa.and_(shared_with_orgs, item.author_org_id == viewer.organisation_id),
        "cluster": sa.and_(tlp == Tlp.AMBER, in_cluster),
        "recipient_org": sa.and_(shared_with_orgs, terms.recipient_org),
        "named_person": sa.and_(tlp == Tlp.RED, terms.recipient_user),
    }


def _law_enforcement_gate(viewer: _Viewer, item: Any) -> sa.ColumnElement[bool] | None:
    """ "Law enforcement only" narrows any marking to law-enforcement users plus the author
    (None: nothing narrows, the viewer is law enforcement)."""
    if viewer.law_enforcement is True:
        return None
    gate = sa.or_(item.law_enforcement_only.is_(False), item.author_id == viewer.id)
    if viewer.law_enforcement is False:
        return gate
    return sa.or_(viewer.law_enforcement, gate)


def _audience(viewer: _Viewer, terms: _Terms) -> sa.ColumnElement[bool]:
    """Whether ``viewer`` is in the audience of ``terms.item``: any rule of ``_audience_rules``
    admits them and "law enforcement only" does not shut them out."""
    audience = sa.or_(*_audience_rules(viewer, terms).values())
    gate = _law_enforcement_gate(viewer, terms.item)
    return audience if gate is None else sa.and_(audience, gate)


def _post_terms(viewer: _Viewer, item: Any = Post) -> _Terms:
    return _Terms(
        item,
        Post.cluster_id,
        recipient_org=sa.select(PostRecipientOrg.post_id)
        .where(PostRecipientOrg.post_id == Post.id, PostRecipientOrg.organisation_id == viewer.organisation_id)
        .correlate_except(PostRecipientOrg)
        .exists(),
        recipient_user=sa.select(PostRecipientUser.post_id)
        .where(PostRecipientUser.post_id == Post.id, PostRecipientUser.user_id == viewer.id)
        .correlate_except(PostRecipientUser)
        .exists(),
    )


def _snapshot_terms(viewer: _Viewer) -> _Terms:
    return _Terms(
        MarkingSnapshot,
        MarkingSnapshot.cluster_id,
        recipient_org=sa.select(MarkingSnapshotOrg.snapshot_id)
        .where(
            MarkingSnapshotOrg.snapshot_id == MarkingSnapshot.id,
            MarkingSnapshotOrg.organisation_id == viewer.organisation_id,
        )
        .correlate_except(MarkingSnapshotOrg)
        .exists(),
        recipient_user=sa.select(MarkingSnapshotUser.snapshot_id)
        .where(MarkingSnapshotUser.snapshot_id == MarkingSnapshot.id, MarkingSnapshotUser.user_id == viewer.id)
        .correlate_except(MarkingSnapshotUser)
        .exists(),
    )


def _meeting_terms(viewer: _Viewer, item: Any = Meeting) -> _Terms:
    return _Terms(
        item,
        Meeting.cluster_id,
        recipient_org=sa.select(MeetingRecipientOrg.meeting_id)
        .where(
            MeetingRecipientOrg.meeting_id == Meeting.id,
            MeetingRecipientOrg.organisation_id == viewer.organisation_id,
        )
        .correlate_except(MeetingRecipientOrg)
        .exists(),
        recipient_user=sa.select(MeetingRecipientUser.meeting_id)
        .where(MeetingRecipientUser.meeting_id == Meeting.id, MeetingRecipientUser.user_id == viewer.id)
        .correlate_except(MeetingRecipientUser)
        .exists(),
    )


def visible_posts(user: Any) -> sa.ColumnElement[bool]:
    """Posts ``user`` may see under the access table (``_audience``); the one rule every read uses."""
    if not is_active_user(user):
        return sa.false()
    return _visible_posts(_viewer(user))


# Building the expression costs more than compiling it from SQLAlchemy's cache; it depends only on
# the viewer's ids and kind, so every feed, count and search of a request shares one.
@functools.lru_cache(maxsize=2048)
def _visible_posts(viewer: _Viewer) -> sa.ColumnElement[bool]:
    return _audience(viewer, _post_terms(viewer))


@functools.lru_cache(maxsize=2048)
def _written_under_visible_marking(viewer: _Viewer, marking_id: Any) -> sa.ColumnElement[bool]:
    """What was written under the marking ``marking_id`` (a column) is shown only to those that
    marking admits; NULL: nothing of its own narrows it."""
    # Explicit correlation throughout: with ``_EVERYONE`` these subqueries sit two levels below
    # the ``users`` row they are asked for, where automatic correlation does not reach.
    admitted = (
        sa.select(MarkingSnapshot.id)
        .where(_audience(viewer, _snapshot_terms(viewer)))
        .correlate_except(MarkingSnapshot)
    )
    return sa.or_(marking_id.is_(None), marking_id.in_(admitted))


def visible_post_versions(user: Any) -> sa.ColumnElement[bool]:
    """Earlier versions of posts ``user`` may see: the post admits them now *and* the marking the
    version was written under admitted them (TLP 2.0: the past keeps its marking)."""
    if not is_active_user(user):
        return sa.false()
    viewer = _viewer(user)
    # Its own FROM even where the caller joins ``Post`` already.
    post_visible = (
        sa.select(Post.id).where(Post.id == PostVersion.post_id, _visible_posts(viewer)).correlate_except(Post).exists()
    )
    return sa.and_(post_visible, _written_under_visible_marking(viewer, PostVersion.marking_id))


def visible_attachments(user: Any, *, own_pending: bool = False) -> sa.ColumnElement[bool]:
    """Files ``user`` may see: their post admits them now, the marking the file was added under
    admitted them, and the file is released (``released_file``; with ``own_pending``, also the
    user's own files waiting for their scan). Callers join ``Post`` on ``Attachment.post_id``."""
    if not is_active_user(user):
        return sa.false()
    viewer = _viewer(user)
    return sa.and_(
        _visible_attachment_documents(viewer),
        _scanned_or_own(user, Attachment.file_id, own_pending),
    )


@functools.lru_cache(maxsize=2048)
def _visible_attachment_documents(viewer: _Viewer) -> sa.ColumnElement[bool]:
    """The attachment's post admits the viewer now, so did the marking it was added under, and so
    does its latest version's own marking (``_latest_version_admits``)."""
    return sa.and_(
        Post.id == Attachment.post_id,
        _visible_posts(viewer),
        _written_under_visible_marking(viewer, Attachment.marking_id),
        _latest_version_admits(AttachmentVersion, Attachment.file_id, _post_terms(viewer, AttachmentVersion), viewer),
    )


def _latest_version_admits(
    version: Any, current_file_id: Any, terms: _Terms, viewer: _Viewer
) -> sa.ColumnElement[bool]:
    """A document whose latest version (the one naming its current file) is marked stricter than
    the document is seen, in lists and packs alike, only by those that version's marking admits;
    a document without version rows has no marking of its own to narrow it."""
    latest = sa.select(version.id).where(version.file_id == current_file_id).correlate_except(version)
    admitted = latest.where(_own_version_marking(viewer, terms))
    return sa.or_(~latest.exists(), admitted.exists())


def _own_version_marking(viewer: _Viewer, terms: _Terms) -> sa.ColumnElement[bool]:
    """A version's marking of its own (``FileVersion``) admits the viewer: none (NULL: its
    document's), or the access table applied to it with its document's cluster and recipients;
    and its own "law enforcement only", if set, does not shut them out."""
    version = terms.item
    marked = sa.or_(version.tlp.is_(None), *_audience_rules(viewer, terms).values())
    gate = _law_enforcement_gate(viewer, version)
    return marked if gate is None else sa.and_(marked, gate)


def visible_attachment_versions(user: Any) -> sa.ColumnElement[bool]:
    """Versions of attached files ``user`` may see and download: the attachment is visible
    (``visible_attachments``), the version's own marking (the post's when it was added, or
    stricter) admits them, and its file is released. Callers join ``Attachment`` on
    ``AttachmentVersion.attachment_id`` and ``Post`` on ``Attachment.post_id``."""
    if not is_active_user(user):
        return sa.false()
    viewer = _viewer(user)
    return sa.and_(
        Attachment.id == AttachmentVersion.attachment_id,
        _visible_attachment_documents(viewer),
        _written_under_visible_marking(viewer, AttachmentVersion.marking_id),
        _own_version_marking(viewer, _post_terms(viewer, AttachmentVersion)),
        released_file(AttachmentVersion.file_id),
    )


def _shared_beyond_audience(user: User) -> sa.ColumnElement[bool]:
    """Posts whose existence (never their content) may count towards a hit or a statistic for
    ``user``: anything but TLP:RED, and law-enforcement-only ones for law-enforcement users only."""
    shared = Post.tlp != Tlp.RED
    if user.organisation.is_law_enforcement:
        return shared
    return sa.and_(shared, Post.law_enforcement_only.is_(False))


def match_sources(user: Any) -> sa.ColumnElement[bool]:
    """Incident notes that may reveal a cross-match hit to ``user``: those ``user`` may see, and
    every other note that is not TLP:RED and not law-enforcement-only (law-enforcement users:
    law-enforcement-only ones too). A hit says only that an identifier is shared, never what
    the other note holds."""
    if not is_active_user(user):
        return sa.false()
    return sa.or_(visible_posts(user), _shared_beyond_audience(user))


def match_reveals_organisation(user: Any) -> sa.ColumnElement[bool]:
    """Whether a hit names the other note's organisation to ``user``: always for law-enforcement
    users (they need to know whom to contact), otherwise only when ``user`` may see that note."""
    if not is_active_user(user):
        return sa.false()
    return sa.true() if user.organisation.is_law_enforcement else visible_posts(user)


def statistics_sources(user: Any) -> sa.ColumnElement[bool]:
    """Incident notes counted in ``user``'s seizure statistics: the posts ``user`` may see, plus
    every other incident note that is not TLP:RED and not law-enforcement-only (law-enforcement
    users: law-enforcement-only ones too). Only aggregates of them are ever shown."""
    if not is_active_user(user):
        return sa.false()
    return sa.or_(visible_posts(user), sa.and_(Post.type == PostType.INCIDENT_NOTE, _shared_beyond_audience(user)))


def statistics_min_organisations(user: Any) -> int:
    """How many distinct reporting organisations a statistics group needs before ``user`` sees it:
    ``PAX_STATS_MIN_ORGANISATIONS`` for everyone outside law enforcement, and for law-enforcement
    users too when ``PAX_STATS_SUPPRESS_FOR_LAW_ENFORCEMENT`` is on; otherwise 1 (none withheld)."""
    config = current_app.config
    law_enforcement = is_active_user(user) and user.organisation.is_law_enforcement
    if law_enforcement and not config["STATS_SUPPRESS_FOR_LAW_ENFORCEMENT"]:
        return 1
    return max(1, config["STATS_MIN_ORGANISATIONS"])


@functools.lru_cache(maxsize=2048)
def _visible_meetings(viewer: _Viewer) -> sa.ColumnElement[bool]:
    return _audience(viewer, _meeting_terms(viewer))


def visible_meetings(user: Any) -> sa.ColumnElement[bool]:
    """Meetings ``user`` may see: the access table applied to the meeting's marking, cluster,
    organiser and named recipients. Senior Officials' and ministerial meetings have no cluster,
    so their AMBER audience is the organiser's organisation and the named organisations."""
    if not is_active_user(user):
        return sa.false()
    return _visible_meetings(_viewer(user))


@functools.lru_cache(maxsize=2048)
def _visible_meeting_documents(viewer: _Viewer) -> sa.ColumnElement[bool]:
    own = _audience(viewer, _meeting_terms(viewer, MeetingDocument))
    latest = _latest_version_admits(
        MeetingDocumentVersion, MeetingDocument.file_id, _meeting_terms(viewer, MeetingDocumentVersion), viewer
    )
    return sa.and_(Meeting.id == MeetingDocument.meeting_id, _visible_meetings(viewer), own, latest)


def visible_meeting_document_versions(user: Any) -> sa.ColumnElement[bool]:
    """Versions of meeting documents ``user`` may see and download: the document is visible
    (``visible_meeting_documents``), the version's own marking (the document's or stricter, with
    the meeting's cluster and named recipients) admits them, and its file is released. Callers
    join ``MeetingDocument`` on ``MeetingDocumentVersion.document_id`` and ``Meeting`` on
    ``MeetingDocument.meeting_id``."""
    if not is_active_user(user):
        return sa.false()
    viewer = _viewer(user)
    return sa.and_(
        MeetingDocument.id == MeetingDocumentVersion.document_id,
        _visible_meeting_documents(viewer),
        _own_version_marking(viewer, _meeting_terms(viewer, MeetingDocumentVersion)),
        released_file(MeetingDocumentVersion.file_id),
    )


def released_file(file_id: Any) -> sa.ColumnElement[bool]:
    """Whether the stored file ``file_id`` (a column) may be served: scanned clean by the malware
    scanner, or stored while none was configured (``app.files.scanning``). A file still waiting
    for its scan is served to nobody, its uploader included."""
    return sa.select(StoredFile.id).where(StoredFile.id == file_id, StoredFile.scan_status.in_(RELEASED)).exists()


def _scanned_or_own(user: User, file_id: Any, own_pending: bool) -> sa.ColumnElement[bool]:
    """``released_file``, or with ``own_pending`` also a file ``user`` uploaded that still waits
    for its scan (listed to them as waiting, and theirs to remove; never downloadable)."""
    if not own_pending:
        return released_file(file_id)
    own = sa.select(StoredFile.id).where(StoredFile.id == file_id, StoredFile.uploaded_by_id == user.id).exists()
    return sa.or_(released_file(file_id), own)


def visible_meeting_documents(user: Any, *, own_pending: bool = False) -> sa.ColumnElement[bool]:
    """Documents ``user`` may see: their meeting must be visible, the document's own marking
    (same or stricter), flag and author must admit the user too, with the meeting's cluster and
    named recipients, and its file must be released (``released_file``; with ``own_pending``,
    also the user's own files waiting for their scan, which are listed but never served).
    Callers join ``Meeting`` on ``MeetingDocument.meeting_id``."""
    if not is_active_user(user):
        return sa.false()
    return sa.and_(
        _visible_meeting_documents(_viewer(user)), _scanned_or_own(user, MeetingDocument.file_id, own_pending)
    )


def visible_meeting_participants(user: Any) -> sa.ColumnElement[bool]:
    """Participants (and their answers) ``user`` may see: a meeting's participant list carries the
    meeting's marking, so it is seen by exactly those ``visible_meetings`` admits, the organiser
    included. Exporting it is for those who prepare the meeting (``export_participants``)."""
    if not is_active_user(user):
        return sa.false()
    return (
        sa.select(Meeting.id)
        .where(Meeting.id == MeetingParticipant.meeting_id, _visible_meetings(_viewer(user)))
        .correlate_except(Meeting)
        .exists()
    )


def visible_comments(user: Any) -> sa.ColumnElement[bool]:
    """Comments share their post's audience now and the one they were written under, never a wider."""
    if not is_active_user(user):
        return sa.false()
    viewer = _viewer(user)
    # Its own FROM even where the caller joins ``Post`` already.
    post_visible = (
        sa.select(Post.id).where(Post.id == Comment.post_id, _visible_posts(viewer)).correlate_except(Post).exists()
    )
    return sa.and_(post_visible, _written_under_visible_marking(viewer, Comment.marking_id))


# --- audiences: everyone an item admits, and why ------------------------------------------------------


@dataclass(frozen=True)
class AudienceMember:
    """One active account an item admits, and every rule of ``AUDIENCE_RULES`` that admits it."""

    user_id: int
    organisation_id: int
    rules: tuple[str, ...]
    organisation_name: str = ""
    law_enforcement_organisation: bool = False


def _audience_statement(
    admitted: sa.ColumnElement[bool], rules: dict[str, sa.ColumnElement[bool]], *where: Any
) -> sa.Select[Any]:
    """The active accounts for which ``admitted`` (a ``visible_*`` expression built on
    ``_EVERYONE``) holds, each with a 0/1 column per rule of ``rules``."""
    assert tuple(rules) == AUDIENCE_RULES
    return (
        sa.select(
            User.id,
            User.organisation_id,
            Organisation.name,
            Organisation.is_law_enforcement,
            *(sa.case((rule, 1), else_=0).label(n) for n, rule in rules.items()),
        )
        .join(Organisation, Organisation.id == User.organisation_id)
        .where(User.status == UserStatus.ACTIVE, admitted, *where)
        .order_by(User.id)
    )


def _audience_members(stmt: sa.Select[Any], params: dict[str, Any] | None = None) -> list[AudienceMember]:
    return [
        AudienceMember(
            row[0],
            row[1],
            tuple(n for n, hit in zip(AUDIENCE_RULES, row[4:], strict=True) if hit),
            row[2],
            bool(row[3]),
        )
        for row in db.session.execute(stmt, params or {})
    ]


# One statement per kind of item, built once: the expression is large, and a kept statement also
# keeps its compiled form's cache key.
@functools.cache
def _audience_of_kind(kind: type) -> sa.Select[Any]:
    viewer = _EVERYONE
    item_id = sa.bindparam("item_id")
    if kind is Post:
        terms = _post_terms(viewer)
        return _audience_statement(_audience(viewer, terms), _audience_rules(viewer, terms), Post.id == item_id)
    if kind is Attachment:
        terms = _post_terms(viewer)
        admitted = sa.and_(
            Post.id == Attachment.post_id,
            _audience(viewer, terms),
            _written_under_visible_marking(viewer, Attachment.marking_id),
        )
        return _audience_statement(admitted, _audience_rules(viewer, terms), Attachment.id == item_id)
    if kind is Meeting:
        terms = _meeting_terms(viewer)
        return _audience_statement(_audience(viewer, terms), _audience_rules(viewer, terms), Meeting.id == item_id)
    if kind is MeetingDocument:
        terms = _meeting_terms(viewer, MeetingDocument)
        return _audience_statement(
            _visible_meeting_documents(viewer), _audience_rules(viewer, terms), MeetingDocument.id == item_id
        )
    raise TypeError(f"no audience for {kind.__name__}")


def audience_of(item: Any) -> list[AudienceMember]:
    """Everyone ``item`` (a post, attachment, meeting or meeting document) admits now, from the
    same expressions the ``visible_*`` reads use, applied to every account at once."""
    return _audience_members(_audience_of_kind(type(item)), {"item_id": item.id})


@dataclass(frozen=True)
class ProposedMarking:
    """A marking an edit form asks for, as literal values the access rule reads like columns."""

    tlp: Any
    law_enforcement_only: Any
    author_id: Any
    author_org_id: Any


def proposed_audience(item: Any, marking: Marking, cluster_id: int | None) -> list[AudienceMember]:
    """Everyone ``item`` (a post or meeting) would admit with ``marking`` in the cluster
    ``cluster_id`` (None: a meeting without one): the same rule as ``audience_of``, read from the
    proposed values, nothing written."""
    viewer = _EVERYONE
    kind = Post if isinstance(item, Post) else Meeting
    proposed = ProposedMarking(
        sa.literal(marking.tlp, kind.tlp.type),
        sa.literal(marking.law_enforcement_only, sa.Boolean()),
        sa.literal(item.author_id, sa.Integer()),
        sa.literal(item.author_org_id, sa.Integer()),
    )
    terms = _Terms(
        proposed,
        sa.literal(cluster_id, sa.Integer()),
        recipient_org=User.organisation_id.in_(sorted(marking.recipient_orgs)),
        recipient_user=User.id.in_(sorted(marking.recipient_users)),
    )
    return _audience_members(_audience_statement(_audience(viewer, terms), _audience_rules(viewer, terms)))


def visible_audit_events(user: Any) -> sa.ColumnElement[bool]:
    """Audit events ``user`` may read: every event for administrators and auditors; for any other
    active member only the access events (views, downloads, packs) of their own organisation's
    items, so an organisation learns who read its items and nothing else of the log."""
    if not is_active_user(user):
        return sa.false()
    if user.role in (GlobalRole.ADMIN, GlobalRole.AUDITOR):
        return sa.true()
    return sa.and_(
        AuditEvent.target_org_id == user.organisation_id,
        AuditEvent.action.in_(ACCESS_ACTIONS),
        AuditEvent.outcome == "ok",
    )


def visible_workplan_items(user: Any) -> sa.ColumnElement[bool]:
    """The workplan carries no marking: every active member sees every item, nobody else any."""
    return sa.true() if is_active_user(user) else sa.false()


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


def visible_invitations(user: Any) -> sa.ColumnElement[bool]:
    """Invitations ``user`` may list, resend and revoke: all for administrators, their own
    organisation's for a focal point, none for anyone else."""
    from app.auth.onboarding_models import Invitation

    if not is_active_user(user):
        return sa.false()
    if user.role is GlobalRole.ADMIN:
        return sa.true()
    if user.is_focal_point:
        return Invitation.organisation_id == user.organisation_id
    return sa.false()


def membership_role(user: Any, cluster: Cluster) -> MembershipRole | None:
    if not is_active_user(user):
        return None
    return db.session.scalar(
        sa.select(ClusterMembership.role).where(
            ClusterMembership.user_id == user.id, ClusterMembership.cluster_id == cluster.id
        )
    )


# --- nobody grants access to themselves ----------------------------------------------------------

#: Accounts that administer or curate: they never hand themselves, or each other within their own
#: organisation, access to content (DESIGN.md "Nobody grants access to themselves").
CO_ADMIN_ROLES = frozenset({GlobalRole.ADMIN, GlobalRole.CURATOR})


def is_co_admin(actor: Any, member: Any) -> bool:
    """Both administer or curate, in the same organisation (``CO_ADMIN_ROLES``)."""
    return (
        actor.role in CO_ADMIN_ROLES
        and member.role in CO_ADMIN_ROLES
        and member.organisation_id == actor.organisation_id
    )


def self_grant_refusal(actor: Any, member: Any) -> str | None:
    """Why ``actor`` may not give ``member`` a membership or a role in a cluster, or None: nobody
    gives one to themselves, and an administrator or curator not to an administrator or curator
    of their own organisation."""
    if not isinstance(member, User) or not is_active_user(actor):
        return _("You may not grant access.")
    if member.id == actor.id:
        return _("Nobody grants access to themselves: ask the cluster's coordinator or your focal point.")
    if is_co_admin(actor, member):
        return _(
            "Administrators and curators do not grant access to an administrator or curator of their "
            "own organisation: ask the cluster's coordinator or your organisation's focal point."
        )
    return None


def recipient_refusal(actor: Any, author_id: int | None, orgs: Any, users: Any) -> str | None:
    """Why ``actor``, saving a post or meeting written by ``author_id``, may not add the named
    recipient organisations ``orgs`` and people ``users`` (those it did not name before), or None.
    The author chose the audience and names whom they like; anyone else never names themselves,
    and an administrator or curator neither a co-administrator of their own organisation nor
    their own organisation."""
    if getattr(actor, "id", None) == author_id:
        return None
    for user in users:
        if user.id == actor.id:
            return _("Nobody names themselves a recipient of an item they did not write: ask its author.")
        if is_co_admin(actor, user):
            return _(
                "Administrators and curators do not name an administrator or curator of their own "
                "organisation as a recipient of an item they did not write: ask its author."
            )
    if actor.role in CO_ADMIN_ROLES and any(org.id == actor.organisation_id for org in orgs):
        return _(
            "Administrators and curators do not name their own organisation as a recipient of an item "
            "they did not write: ask its author."
        )
    return None


def membership_refusal(actor: Any, member: Any, cluster: Any) -> str | None:
    """Why ``actor`` may not grant ``member`` a membership of ``cluster`` (or change or end their
    role there), or None when they may. A membership comes from the cluster's coordinator, the
    member's organisation's focal point, or an administrator (onboarding), and never from oneself
    nor, for administrators and curators, for a co-administrator of one's own organisation."""
    if (reason := self_grant_refusal(actor, member)) is not None:
        return reason
    if actor.role is GlobalRole.ADMIN:
        return None
    if actor.is_focal_point and member.organisation_id == actor.organisation_id:
        return None
    if _coordinates(actor, cluster):
        return None
    return _("Memberships are granted by the cluster's coordinator or the member's focal point.")


def may_grant_membership(actor: Any, member: Any, cluster: Any) -> bool:
    """``membership_refusal`` as a yes/no, for pages that offer the form."""
    return membership_refusal(actor, member, cluster) is None


# --- actions ---------------------------------------------------------------------------------------


def can(user: Any, action: str, target: Any = None) -> bool:
    """May ``user`` perform ``action`` on ``target``? An action name with no rule is a programming
    error, not a refusal: it raises ``LookupError`` naming it, whoever asks."""
    rule = _RULES.get(action)
    if rule is None:
        raise LookupError(f"policy.can: no rule for the action {action!r}")
    if not is_active_user(user):
        return False
    return bool(rule(user, target))


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


def _focal_point(user: User, _target: Any) -> bool:
    """The organisation's own sign-in page: its focal points (administrators have their own pages)."""
    return bool(user.is_focal_point)


def _focal_point_of_provider(user: User, provider: Any) -> bool:
    """Decisions that belong to the provider's organisation, never to an administrator alone:
    relying on the provider's second factor."""
    from app.auth.models import IdentityProvider

    return (
        isinstance(provider, IdentityProvider)
        and user.is_focal_point
        and provider.organisation_id == user.organisation_id
    )


def _decide_identity_link(user: User, link: Any) -> bool:
    """A provider identity asking to open an existing account: the focal point of the account's
    organisation vouches for it while it is pending (not the account itself, not an administrator)."""
    return (
        isinstance(link, IdentityLinkRequest)
        and bool(user.is_focal_point)
        and user.organisation_id == link.user.organisation_id
        and user.id != link.user_id
        and link.status is LinkRequestStatus.PENDING
    )


def _approvals_page(user: User, _target: Any) -> bool:
    return user.role is GlobalRole.ADMIN or user.is_focal_point


def _admin_on_other(user: User, target: Any) -> bool:
    """Administrators act on other accounts; nobody suspends or demotes themselves by accident."""
    return user.role is GlobalRole.ADMIN and isinstance(target, User) and target.id != user.id


def _reactivate(user: User, target: Any) -> bool:
    """Administrators reactivate other accounts, except erased ones: those hold nobody to let back in."""
    return _admin_on_other(user, target) and target.erased_at is None


def _erase_user(user: User, target: Any) -> bool:
    """Administrators erase another account's personal data, once. Whether an account may be
    erased now (not an administrator) is the erasure service's refusal, shown on its page."""
    return _admin_on_other(user, target) and target.erased_at is None


def _invite(user: User, organisation: Any) -> bool:
    """Invite a colleague into ``organisation`` (None: open the invitations page): administrators
    into any organisation, a focal point into their own only. An invitation makes a plain member
    account without cluster memberships, so nobody grants themselves content access by it."""
    if user.role is GlobalRole.ADMIN:
        return True
    if not user.is_focal_point:
        return False
    return organisation is None or getattr(organisation, "id", None) == user.organisation_id


def _manage_invitation(user: User, invitation: Any) -> bool:
    """Resend or revoke: whoever may invite into the invitation's organisation."""
    from app.auth.onboarding_models import Invitation

    if not isinstance(invitation, Invitation):
        return False
    return user.role is GlobalRole.ADMIN or (user.is_focal_point and invitation.organisation_id == user.organisation_id)


def _post_in_cluster(user: User, cluster: Any) -> bool:
    return may_post_as(user, membership_role(user, cluster) if isinstance(cluster, Cluster) else None)


def may_post_as(user: Any, role: MembershipRole | None) -> bool:
    """``can(user, "create_post", cluster)`` for a page that has read the user's ``role`` in the
    cluster already: contributors and coordinators of a cluster post in it; readers only read."""
    return is_active_user(user) and role in (MembershipRole.CONTRIBUTOR, MembershipRole.COORDINATOR)


def _edit_post(user: User, post: Any) -> bool:
    """The author, or the focal point of the author's organisation (callers load the post visibly)."""
    if not isinstance(post, Post):
        return False
    return post.author_id == user.id or (user.is_focal_point and post.author_org_id == user.organisation_id)


#: Why a change of marking was refused (``check_marking_change``).
LOOSEN_REFUSAL = _l("Only the author or their organisation's focal point may make this marking less strict.")


def may_loosen(user: Any, item: Any) -> bool:
    """Whether ``user`` may make the marking of ``item`` (a post, meeting or meeting document) less
    strict: its author, or a focal point of the author's organisation (TLP 2.0: only the
    originator loosens). Nobody else, administrators and curators included; they may tighten."""
    if not is_active_user(user) or not isinstance(item, Marked):
        return False
    return item.author_id == user.id or (bool(user.is_focal_point) and item.author_org_id == user.organisation_id)


def check_marking_change(user: Any, item: Any, old: Marking, new: Marking) -> None:
    """Raise ``NotAllowed`` when changing ``item``'s marking from ``old`` to ``new`` loosens it
    (``app.markings.loosens``) and ``user`` may not loosen it. Callers check the edit right first."""
    if loosens(old, new) and not may_loosen(user, item):
        raise NotAllowed(LOOSEN_REFUSAL)


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


def _edit_comment(user: User, comment: Any) -> bool:
    """Only the comment's author changes its words, while they may still see it (callers load it
    visibly, ``comment_or_404``); nobody else, not coordinators nor focal points."""
    return isinstance(comment, Comment) and comment.author_id is not None and comment.author_id == user.id


def _see_matches(user: User, post: Any) -> bool:
    """Who is shown an incident note's cross-match hits (callers load the note visibly): its
    author, the focal point of the author's organisation and, when that organisation is a
    law-enforcement one, its other members who may see the note: they follow the case up."""
    if not isinstance(post, Post) or post.type is not PostType.INCIDENT_NOTE:
        return False
    if post.author_id == user.id:
        return True
    if post.author_org_id != user.organisation_id:
        return False
    return user.is_focal_point or user.organisation.is_law_enforcement


def _curator(user: User, _target: Any) -> bool:
    return user.role is GlobalRole.CURATOR


def _coordinates(user: User, cluster: Any) -> bool:
    return isinstance(cluster, Cluster) and membership_role(user, cluster) is MembershipRole.COORDINATOR


def _update_workplan_item(user: User, item: Any) -> bool:
    """Curators change anything; a cluster's coordinators report status and progress of its items."""
    if not isinstance(item, WorkplanItem):
        return False
    return user.role is GlobalRole.CURATOR or _coordinates(user, item.cluster)


def _open_meeting_form(user: User, _target: Any) -> bool:
    """Curators schedule any meeting; coordinators their clusters' technical meetings."""
    return user.role is GlobalRole.CURATOR or bool(member_cluster_ids(user, (MembershipRole.COORDINATOR,)))


def _schedule_meeting(user: User, cluster: Any) -> bool:
    """``cluster`` is the technical meeting's cluster, or None for a Senior Officials' or
    ministerial meeting, which only curators schedule."""
    return user.role is GlobalRole.CURATOR or _coordinates(user, cluster)


def _prepare_meeting(user: User, meeting: Any) -> bool:
    """Curators, the organiser, and for a technical meeting its cluster's coordinators edit the
    meeting, its agenda and minutes and upload its documents (callers load it visibly)."""
    if not isinstance(meeting, Meeting):
        return False
    if user.role is GlobalRole.CURATOR or meeting.author_id == user.id:
        return True
    return meeting.kind is MeetingKind.TECHNICAL and _coordinates(user, meeting.cluster)


def _name_delegation(user: User, invitation: Any) -> bool:
    """An invited organisation's focal points name its delegation (callers load the meeting visibly)."""
    return (
        isinstance(invitation, MeetingInvitation)
        and invitation.kind is InvitationKind.ORGANISATION
        and bool(user.is_focal_point)
        and invitation.organisation_id == user.organisation_id
    )


def _answer_invitation(user: User, participant: Any) -> bool:
    """Only the invited person answers their invitation (or names a replacement)."""
    return isinstance(participant, MeetingParticipant) and participant.user_id == user.id


def _record_action_point(user: User, meeting: Any) -> bool:
    """Action points become workplan items, which the Commission curates: curators, on a meeting
    they may see (callers load it visibly)."""
    return isinstance(meeting, Meeting) and user.role is GlobalRole.CURATOR


def _delete_meeting(user: User, meeting: Any) -> bool:
    return isinstance(meeting, Meeting) and (user.role is GlobalRole.CURATOR or meeting.author_id == user.id)


def _remove_meeting_document(user: User, document: Any) -> bool:
    if not isinstance(document, MeetingDocument):
        return False
    return document.author_id == user.id or _prepare_meeting(user, document.meeting)


def _manage_cluster_members(user: User, cluster: Any) -> bool:
    """The grant form of a cluster's member page: its coordinators, focal points (for their
    organisation's people) and administrators (for others than themselves and their own
    organisation's administrators and curators); each grant is judged by ``membership_refusal``."""
    return isinstance(cluster, Cluster) and (
        user.role is GlobalRole.ADMIN or bool(user.is_focal_point) or _coordinates(user, cluster)
    )


def _view_audit(user: User, _target: Any) -> bool:
    """The whole audit log (page, export, API) is for administrators and auditors."""
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
    "edit_comment": _edit_comment,
    "see_matches": _see_matches,
    # the workplan and meetings: curators, coordinators, organisers
    "manage_workplan": _curator,
    "update_workplan_item": _update_workplan_item,
    "open_meeting_form": _open_meeting_form,
    "schedule_meeting": _schedule_meeting,
    "edit_meeting": _prepare_meeting,
    "add_meeting_document": _prepare_meeting,
    "remove_meeting_document": _remove_meeting_document,
    "delete_meeting": _delete_meeting,
    "invite_to_meeting": _prepare_meeting,
    "export_participants": _prepare_meeting,
    "record_action_point": _record_action_point,
    # invited organisations' focal points and the invited people themselves
    "name_delegation": _name_delegation,
    "answer_invitation": _answer_invitation,
    # organisation focal points and administrators
    "view_approvals": _approvals_page,
    # a cluster's coordinators, focal points and administrators; never for themselves
    "manage_cluster_members": _manage_cluster_members,
    "approve_user": _approve,
    "invite_users": _invite,
    "manage_invitation": _manage_invitation,
    # administrators only
    "administer": _admin,
    "manage_organisations": _admin,
    "manage_identity_providers": _admin,
    "manage_memberships": _admin,
    "view_users": _admin,
    "suspend_user": _admin_on_other,
    "end_user_sessions": _admin_on_other,
    "end_all_sessions": _admin,
    "reactivate_user": _reactivate,
    "erase_user": _erase_user,
    "change_role": _admin_on_other,
    "reset_mfa": _admin_on_other,
    "send_password_reset": _admin_on_other,
    "set_focal_point": _admin,
    # an organisation's sign-in: its focal points decide (issue 16)
    "manage_org_sign_in": _focal_point,
    "confirm_mfa_exemption": _focal_point_of_provider,
    "decide_identity_link": _decide_identity_link,
    # administrators and auditors
    "view_audit": _view_audit,
}

ACTIONS = frozenset(_RULES)


@dataclass(frozen=True)
class PolicyRefusal:
    """What the policy refused, for the error handler's ``access.refused`` event and the refusals
    alert (``app.audit.alerts``): ids and the action only."""

    user: Any
    status: int
    target: tuple[str, Any] | None
    need: str


def refuse(user: Any, status: int, target: tuple[str, Any] | None, need: str) -> NoReturn:
    """Answer ``status`` (404: hidden or missing; 403: visible but not allowed) and mark the
    answer as the policy's refusal, so that it is audited and counted (``app.errors``)."""
    if has_app_context():
        g.pax_policy_refusal = PolicyRefusal(user, status, target, need)
    abort(status)


def authorize(user: Any, action: str, target: Any = None) -> None:
    """Abort with 403 unless ``user`` may do ``action`` (for actions on things the user can see)."""
    if not can(user, action, target):
        refuse(user, 403, _named(target), action)


def _named(item: Any) -> tuple[str, Any] | None:
    """``(table, id)`` of a loaded row, for the refusal's audit event; None for anything else."""
    table = getattr(item, "__tablename__", None)
    return (table, getattr(item, "id", None)) if table else None


def _found_and_allowed(user: Any, found: _Loaded | None, need: str, wanted: tuple[str, Any]) -> _Loaded:
    """404 when nothing visible was found, 403 when ``need`` (other than view) is not allowed on
    it: a hidden item and a missing one look alike, a visible one the user may not change does not.
    ``wanted``: what was asked for (its kind and id), for the refusal's audit event."""
    if found is None:
        refuse(user, 404, wanted, need)
    if need != "view" and not can(user, need, found):
        refuse(user, 403, wanted, need)
    return found


def cluster_or_404(user: Any, slug: str) -> Cluster:
    cluster = db.session.scalar(sa.select(Cluster).where(Cluster.slug == slug, visible_clusters(user)))
    if cluster is None:
        refuse(user, 404, ("cluster", slug), "view")
    return cluster


def user_or_404(viewer: Any, user_id: int, action: str) -> User:
    """Load an account for an administrative ``action``; a viewer without the right gets 404."""
    target = db.session.get(User, user_id)
    if target is None or not can(viewer, action, target):
        refuse(viewer, 404, ("user", user_id), action)
    return target


def attachment_or_404(user: Any, attachment_id: int, need: str = "view") -> Attachment:
    """Load an attachment the user may see (``visible_attachments``, 404 otherwise); ``need`` is
    checked on its post. To ``view`` (download) its file must be released; its uploader may change
    or remove it while it waits for its malware scan."""
    attachment = db.session.scalar(
        sa.select(Attachment)
        .join(Post, Post.id == Attachment.post_id)
        .where(Attachment.id == attachment_id, visible_attachments(user, own_pending=need != "view"))
    )
    if attachment is None:
        refuse(user, 404, ("attachment", attachment_id), need)
    _found_and_allowed(user, attachment.post, need, ("attachment", attachment_id))
    return attachment


def post_or_404(user: Any, post_id: int, need: str = "view") -> Post:
    """Load a post the user may see (404 otherwise) and, for ``need`` other than view, may act on.

    A post the user can see but not change answers 403; one they cannot see answers 404, so a
    hidden post and a missing one look alike.
    """
    post = db.session.scalar(sa.select(Post).where(Post.id == post_id, visible_posts(user)))
    return _found_and_allowed(user, post, need, ("post", post_id))


def comment_or_404(user: Any, post_id: int, comment_id: int, need: str = "view") -> Comment:
    """Load a comment of the post ``post_id`` that the user may see (404 otherwise, as its post)
    and, for ``need`` other than view, may act on (403)."""
    comment = db.session.scalar(
        sa.select(Comment).where(Comment.id == comment_id, Comment.post_id == post_id, visible_comments(user))
    )
    return _found_and_allowed(user, comment, need, ("comment", comment_id))


def workplan_item_or_404(user: Any, item_id: int, need: str = "view") -> WorkplanItem:
    """The workplan has no marking: every active member sees its items. Others get 404."""
    item = db.session.get(WorkplanItem, item_id) if is_active_user(user) else None
    return _found_and_allowed(user, item, need, ("workplan_item", item_id))


def meeting_or_404(user: Any, meeting_id: int, need: str = "view") -> Meeting:
    """Load a meeting the user may see (404 otherwise) and, for ``need`` other than view, may act on."""
    meeting = db.session.scalar(sa.select(Meeting).where(Meeting.id == meeting_id, visible_meetings(user)))
    return _found_and_allowed(user, meeting, need, ("meeting", meeting_id))


def attachment_version_or_404(user: Any, attachment_id: int, number: int) -> AttachmentVersion:
    """Load version ``number`` of an attachment for download (``visible_attachment_versions``);
    404 when the user may not see it or it does not exist."""
    version = db.session.scalar(
        sa.select(AttachmentVersion)
        .join(Attachment, Attachment.id == AttachmentVersion.attachment_id)
        .join(Post, Post.id == Attachment.post_id)
        .where(
            AttachmentVersion.attachment_id == attachment_id,
            AttachmentVersion.number == number,
            visible_attachment_versions(user),
        )
    )
    return _found_and_allowed(user, version, "view", ("attachment_version", f"{attachment_id}/{number}"))


def meeting_document_version_or_404(user: Any, document_id: int, number: int) -> MeetingDocumentVersion:
    """Load version ``number`` of a meeting document for download
    (``visible_meeting_document_versions``); 404 when the user may not see it or it does not exist."""
    version = db.session.scalar(
        sa.select(MeetingDocumentVersion)
        .join(MeetingDocument, MeetingDocument.id == MeetingDocumentVersion.document_id)
        .join(Meeting, Meeting.id == MeetingDocument.meeting_id)
        .where(
            MeetingDocumentVersion.document_id == document_id,
            MeetingDocumentVersion.number == number,
            visible_meeting_document_versions(user),
        )
    )
    return _found_and_allowed(user, version, "view", ("meeting_document_version", f"{document_id}/{number}"))


def meeting_document_or_404(user: Any, document_id: int, need: str = "view") -> MeetingDocument:
    """Load a meeting document the user may see (404 otherwise); ``need`` is checked on the document.
    To ``view`` (download) its file must be released; its uploader may change or remove it
    while it waits for its malware scan."""
    document = db.session.scalar(
        sa.select(MeetingDocument)
        .join(Meeting, Meeting.id == MeetingDocument.meeting_id)
        .where(MeetingDocument.id == document_id, visible_meeting_documents(user, own_pending=need != "view"))
    )
    return _found_and_allowed(user, document, need, ("meeting_document", document_id))
