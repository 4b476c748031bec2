"""Who a meeting invites, who attends, and their answers: the writes, shared by pages, tests and CLI.

A meeting invites organisations (each invited organisation's focal point names a delegation of
up to ``delegation_size`` people), named people and whole clusters. Senior Officials' and
ministerial meetings invite by organisation only, as the Council does. An invitation never
widens who may see the meeting: every invited person must be someone ``visible_meetings``
admits, and is refused in plain words otherwise (name the organisation or person as a
recipient first). Each invited person answers (in person, online, not attending) and may name a
colleague of the same organisation to go in their place.

Every write is one audit event (ids, kinds and counts, never names) in the caller's transaction,
and tells the people concerned through ``notify``; services never commit.
"""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext

from app.audit.services import record
from app.auth.models import User, UserStatus
from app.clusters.models import Cluster, ClusterMembership
from app.db import utcnow
from app.directory.models import Organisation
from app.extensions import db
from app.meetings.models import (
    InvitationKind,
    Meeting,
    MeetingInvitation,
    MeetingKind,
    MeetingParticipant,
    Rsvp,
)
from app.notifications.services import notify
from app.policy import NotAllowed, can, visible_meetings
from app.validation import ValidationError

log = logging.getLogger("pax.meetings")

#: The delegation size offered when the organiser does not say.
DEFAULT_DELEGATION = 2


def _sees(user: User, meeting: Meeting) -> bool:
    return db.session.scalar(sa.select(Meeting.id).where(Meeting.id == meeting.id, visible_meetings(user))) is not None


def _reachable(user: User | None) -> bool:
    return user is not None and user.status is UserStatus.ACTIVE and user.erased_at is None


def _may_invite(actor: Any, meeting: Meeting) -> None:
    if not can(actor, "invite_to_meeting", meeting):
        raise NotAllowed(_("Only curators, the organiser and the cluster's coordinators invite to this meeting."))


def _by_organisation_only(meeting: Meeting, field: str) -> None:
    if meeting.kind in (MeetingKind.SENIOR_OFFICIALS, MeetingKind.MINISTERIAL):
        message = (
            _(
                "A Senior Officials' meeting invites by organisation: invite the organisation, and its focal point "
                "names the delegation."
            )
            if meeting.kind is MeetingKind.SENIOR_OFFICIALS
            else _(
                "A ministerial meeting invites by organisation: invite the organisation, and its focal point names "
                "the delegation."
            )
        )
        raise ValidationError({field: message})


def _participant(meeting: Meeting, user: User) -> MeetingParticipant | None:
    return db.session.scalar(
        sa.select(MeetingParticipant).where(
            MeetingParticipant.meeting_id == meeting.id, MeetingParticipant.user_id == user.id
        )
    )


def _invite_person(meeting: Meeting, invitation: MeetingInvitation, user: User, named_by: User | None) -> bool:
    """Make ``user`` a participant through ``invitation`` and tell them (False: already one)."""
    if _participant(meeting, user) is not None:
        return False
    db.session.add(
        MeetingParticipant(
            meeting_id=meeting.id,
            user_id=user.id,
            invitation_id=invitation.id,
            named_by_id=named_by.id if named_by else None,
        )
    )
    db.session.flush()
    notify(
        user,
        "meeting.invitation",
        target=("meeting", meeting.id),
        tlp=meeting.tlp,
        dedupe_key=f"meeting.invitation:{meeting.id}",
    )
    return True


def _focal_points(organisation_id: int) -> list[User]:
    return list(
        db.session.scalars(
            sa.select(User)
            .where(
                User.organisation_id == organisation_id,
                User.is_focal_point.is_(True),
                User.status == UserStatus.ACTIVE,
                User.erased_at.is_(None),
            )
            .order_by(User.id)
        )
    )


def invite_organisation(actor: Any, meeting: Meeting, organisation: Organisation, size: int) -> MeetingInvitation:
    """Invite ``organisation`` with a delegation of up to ``size`` people, or change the size of
    its invitation; its focal points who may see the meeting are asked to name the delegation."""
    _may_invite(actor, meeting)
    limit = current_app.config["MEETING_MAX_DELEGATION"]
    if not 1 <= size <= limit:
        raise ValidationError({"delegation_size": _("A delegation has from 1 to %(num)s people.", num=limit)})
    focal_points = [f for f in _focal_points(organisation.id) if _sees(f, meeting)]
    if not focal_points:
        raise ValidationError(
            {
                "organisation": _(
                    "Nobody at %(organisation)s can name a delegation: it has no focal point who may see this "
                    "%(tlp)s meeting. Name the organisation as a recipient, or ask an administrator to appoint its "
                    "focal point.",
                    organisation=organisation.name,
                    tlp=meeting.tlp.label,
                )
            }
        )
    invitation = db.session.scalar(
        sa.select(MeetingInvitation).where(
            MeetingInvitation.meeting_id == meeting.id, MeetingInvitation.organisation_id == organisation.id
        )
    )
    if invitation is not None:
        named = [d for d in _delegates(invitation) if d.response is not Rsvp.NOT_ATTENDING]
        if size < len(named):
            raise ValidationError(
                {
                    "delegation_size": ngettext(
                        "%(organisation)s has already named %(num)d person; the delegation cannot be smaller than "
                        "that.",
                        "%(organisation)s has already named %(num)d people; the delegation cannot be smaller than "
                        "that.",
                        len(named),
                        organisation=organisation.name,
                    )
                }
            )
        invitation.delegation_size = size
    else:
        invitation = MeetingInvitation(
            meeting_id=meeting.id,
            kind=InvitationKind.ORGANISATION,
            organisation_id=organisation.id,
            delegation_size=size,
            invited_by_id=actor.id,
        )
        db.session.add(invitation)
    db.session.flush()
    for focal in focal_points:
        notify(
            focal,
            "meeting.delegation",
            target=("meeting", meeting.id),
            tlp=meeting.tlp,
            dedupe_key=f"meeting.delegation:{invitation.id}",
        )
    record(
        "meeting.invite",
        actor=actor,
        target=("meeting", meeting.id),
        kind="organisation",
        organisation_id=organisation.id,
        delegation_size=size,
    )
    return invitation


def invite_person(actor: Any, meeting: Meeting, user: User) -> MeetingInvitation:
    """Invite one person by name (not for Senior Officials' and ministerial meetings)."""
    _may_invite(actor, meeting)
    _by_organisation_only(meeting, "person")
    if not _reachable(user) or not _sees(user, meeting):
        raise ValidationError(
            {
                "person": _(
                    "That person may not see this %(tlp)s meeting: name them (or their organisation) as a "
                    "recipient first.",
                    tlp=meeting.tlp.label,
                )
            }
        )
    if _participant(meeting, user) is not None:
        raise ValidationError({"person": _("That person is invited already.")})
    invitation = MeetingInvitation(
        meeting_id=meeting.id, kind=InvitationKind.PERSON, user_id=user.id, invited_by_id=actor.id
    )
    db.session.add(invitation)
    db.session.flush()
    _invite_person(meeting, invitation, user, actor)
    record("meeting.invite", actor=actor, target=("meeting", meeting.id), kind="person", user_id=user.id)
    return invitation


def invite_cluster(actor: Any, meeting: Meeting, cluster: Cluster) -> tuple[MeetingInvitation, int]:
    """Invite every member of ``cluster`` who may see the meeting; returns the invitation and how
    many people it newly invited (members the marking shuts out are left out)."""
    _may_invite(actor, meeting)
    _by_organisation_only(meeting, "cluster")
    invitation = db.session.scalar(
        sa.select(MeetingInvitation).where(
            MeetingInvitation.meeting_id == meeting.id, MeetingInvitation.cluster_id == cluster.id
        )
    )
    if invitation is None:
        invitation = MeetingInvitation(
            meeting_id=meeting.id, kind=InvitationKind.CLUSTER, cluster_id=cluster.id, invited_by_id=actor.id
        )
        db.session.add(invitation)
        db.session.flush()
    members = db.session.scalars(
        sa.select(User)
        .join(ClusterMembership, ClusterMembership.user_id == User.id)
        .where(ClusterMembership.cluster_id == cluster.id, User.status == UserStatus.ACTIVE, User.erased_at.is_(None))
        .order_by(User.id)
    ).all()
    invited = sum(1 for m in members if _sees(m, meeting) and _invite_person(meeting, invitation, m, actor))
    record(
        "meeting.invite",
        actor=actor,
        target=("meeting", meeting.id),
        kind="cluster",
        cluster=cluster.slug,
        people=invited,
    )
    return invitation, invited


def withdraw_invitation(actor: Any, invitation: MeetingInvitation) -> int:
    """Withdraw an invitation: the people it invited (delegates, the named person, the cluster's
    members, their replacements) are no longer participants. Returns how many were."""
    meeting = invitation.meeting
    _may_invite(actor, meeting)
    people = len(_delegates(invitation))
    kind = invitation.kind.value
    db.session.delete(invitation)
    db.session.flush()
    record("meeting.uninvite", actor=actor, target=("meeting", meeting.id), kind=kind, people=people)
    return people


def _delegates(invitation: MeetingInvitation) -> list[MeetingParticipant]:
    return list(
        db.session.scalars(
            sa.select(MeetingParticipant)
            .where(MeetingParticipant.invitation_id == invitation.id)
            .order_by(MeetingParticipant.id)
        )
    )


def delegation_of(meeting: Meeting, user: Any) -> MeetingInvitation | None:
    """The invitation of ``user``'s organisation to ``meeting`` when ``user`` may name its delegation."""
    invitation = db.session.scalar(
        sa.select(MeetingInvitation).where(
            MeetingInvitation.meeting_id == meeting.id,
            MeetingInvitation.organisation_id == getattr(user, "organisation_id", None),
        )
    )
    return invitation if invitation is not None and can(user, "name_delegation", invitation) else None


def name_delegation(actor: Any, invitation: MeetingInvitation, people: list[User]) -> list[MeetingParticipant]:
    """The delegation of ``invitation``'s organisation becomes ``people`` (a focal point of that
    organisation names them; each must be an active colleague who may see the meeting). At most
    ``delegation_size`` of them may still be attending: a delegate who declined keeps no seat.
    Newly named delegates are invited; those left out are no longer participants."""
    if not can(actor, "name_delegation", invitation):
        raise NotAllowed(_("Only a focal point of the invited organisation names its delegation."))
    meeting = invitation.meeting
    unique = list(dict.fromkeys(people))
    # Who declined keeps no seat: their replacement (or another colleague) takes it.
    declined = {d.user_id for d in _delegates(invitation) if d.response is Rsvp.NOT_ATTENDING}
    seated = [p for p in unique if p.id not in declined]
    if len(seated) > invitation.delegation_size:
        raise ValidationError(
            {
                "delegates": ngettext(
                    "The delegation has at most %(num)d people attending; you named %(named)d.",
                    "The delegation has at most %(num)d people attending; you named %(named)d.",
                    invitation.delegation_size,
                    named=len(seated),
                )
            }
        )
    for person in unique:
        if person.organisation_id != invitation.organisation_id or not _reachable(person):
            raise ValidationError({"delegates": _("Name active colleagues of your own organisation only.")})
        if not _sees(person, meeting):
            raise ValidationError(
                {
                    "delegates": _(
                        "%(name)s may not see this %(tlp)s meeting and cannot be a delegate.",
                        name=person.name,
                        tlp=meeting.tlp.label,
                    )
                }
            )
        other = _participant(meeting, person)
        if other is not None and other.invitation_id != invitation.id:
            raise ValidationError({"delegates": _("%(name)s is invited to this meeting already.", name=person.name)})
    wanted = {p.id for p in unique}
    for delegate in _delegates(invitation):
        if delegate.user_id not in wanted:
            db.session.delete(delegate)
    db.session.flush()
    for person in unique:
        _invite_person(meeting, invitation, person, actor)
    record(
        "meeting.delegation",
        actor=actor,
        target=("meeting", meeting.id),
        invitation_id=invitation.id,
        delegates=len(unique),
    )
    return _delegates(invitation)


def participation_of(meeting: Meeting, user: Any) -> MeetingParticipant | None:
    """``user``'s own invitation to ``meeting``, for them to answer (None: not invited)."""
    found = _participant(meeting, user) if getattr(user, "id", None) is not None else None
    return found if found is not None and can(user, "answer_invitation", found) else None


def answer(actor: Any, participant: MeetingParticipant, response: Rsvp, replacement: User | None = None) -> None:
    """Record the invited person's answer. With "not attending" they may name a ``replacement``
    of their own organisation who may see the meeting; the replacement is invited in their place."""
    if not can(actor, "answer_invitation", participant):
        raise NotAllowed(_("Only the invited person answers this invitation."))
    meeting = db.session.get(Meeting, participant.meeting_id)
    assert meeting is not None
    if replacement is not None:
        if response is not Rsvp.NOT_ATTENDING:
            raise ValidationError({"replacement": _("Name a replacement only when you do not attend yourself.")})
        if replacement.organisation_id != actor.organisation_id or not _reachable(replacement):
            raise ValidationError(
                {"replacement": _("Your replacement must be an active colleague of your organisation.")}
            )
        if replacement.id == actor.id:
            raise ValidationError({"replacement": _("Name a colleague, not yourself.")})
        if not _sees(replacement, meeting):
            raise ValidationError(
                {
                    "replacement": _(
                        "%(name)s may not see this %(tlp)s meeting.", name=replacement.name, tlp=meeting.tlp.label
                    )
                }
            )
        if _participant(meeting, replacement) is not None:
            raise ValidationError(
                {"replacement": _("%(name)s is invited to this meeting already.", name=replacement.name)}
            )
    participant.response = response
    participant.responded_at = utcnow()
    db.session.flush()
    if replacement is not None:
        db.session.add(
            MeetingParticipant(
                meeting_id=meeting.id,
                user_id=replacement.id,
                invitation_id=participant.invitation_id,
                named_by_id=actor.id,
                replaces_id=participant.id,
            )
        )
        db.session.flush()
        notify(
            replacement,
            "meeting.invitation",
            target=("meeting", meeting.id),
            tlp=meeting.tlp,
            dedupe_key=f"meeting.invitation:{meeting.id}",
        )
    record(
        "meeting.rsvp",
        actor=actor,
        target=("meeting", meeting.id),
        response=response.value,
        replacement=replacement is not None,
    )
