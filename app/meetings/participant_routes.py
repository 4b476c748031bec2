"""Invitations, delegations, answers and the participant list of a meeting; calendar subscriptions.

Every meeting is loaded with ``meeting_or_404`` (the policy's SQL filter inside), the list with
``visible_meeting_participants``; every write goes through ``app.meetings.invitations`` or
``app.meetings.feeds``. The subscription feed itself needs no session: its secret address is
the credential, rate limited per address and audited on every read.
"""

from __future__ import annotations

import hashlib
from typing import Any

import sqlalchemy as sa
from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user, login_required

from app.audit.services import record
from app.auth.models import User
from app.clusters.models import Cluster
from app.clusters.names import cluster_label
from app.directory.models import Organisation
from app.extensions import db, limiter
from app.forms import after_refusal
from app.i18n import in_language_of
from app.meetings import feeds, invitations, participants
from app.meetings.blueprint import bp
from app.meetings.calendar import calendar_response
from app.meetings.models import InvitationKind, Meeting, MeetingInvitation, MeetingKind, Rsvp
from app.meetings.queries import calendar_meetings
from app.policy import NotAllowed, audience_of, authorize, can, meeting_or_404
from app.validation import ValidationError

MEETING = "/<int:meeting_id>"

#: The confirmation of each answer, as a whole sentence.
ANSWER_SAVED = {
    Rsvp.IN_PERSON.value: _l("Your answer is saved: attends in person."),
    Rsvp.ONLINE.value: _l("Your answer is saved: attends online."),
    Rsvp.NOT_ATTENDING.value: _l("Your answer is saved: does not attend."),
}


def _int(value: str | None, default: int) -> int | None:
    """A whole number a form sent (``default`` when empty); None for anything else or out of
    the database's integer range."""
    text = (value or "").strip()
    if not text:
        return default
    if not (text.isascii() and text.isdigit() and len(text) <= 10) or int(text) >= 2**31:
        return None
    return int(text)


def _render_participants(meeting: Meeting, errors: dict[str, str] | None = None, status: int = 200) -> Any:
    can_invite = can(current_user, "invite_to_meeting", meeting)
    own = invitations.participation_of(meeting, current_user)
    delegation = invitations.delegation_of(meeting, current_user)
    organisations: list[Organisation] = []
    clusters: list[Cluster] = []
    if can_invite:
        organisations = list(db.session.scalars(sa.select(Organisation).order_by(Organisation.name)))
        clusters = list(db.session.scalars(sa.select(Cluster).order_by(Cluster.position)))
    colleagues = _colleagues(meeting, exclude=current_user.id) if own is not None else []
    candidates = _colleagues(meeting) if delegation is not None else []
    return render_template(
        "meetings/participants.html",
        meeting=meeting,
        rows=participants.participant_rows(current_user, meeting),
        invitations=participants.invitations_of(meeting) if can_invite else [],
        can_invite=can_invite,
        by_organisation_only=meeting.kind in (MeetingKind.SENIOR_OFFICIALS, MeetingKind.MINISTERIAL),
        organisations=organisations,
        clusters=clusters,
        default_delegation=invitations.DEFAULT_DELEGATION,
        max_delegation=current_app.config["MEETING_MAX_DELEGATION"],
        own=own,
        colleagues=colleagues,
        delegation=delegation,
        delegation_candidates=candidates,
        rsvp_options=[r for r in Rsvp if r is not Rsvp.PENDING],
        errors=errors or {},
    ), status


def _colleagues(meeting: Meeting, exclude: int | None = None) -> list[User]:
    """Active colleagues of the current user who may see ``meeting`` (candidates for a
    delegation or a replacement): the policy's audience of the meeting (``audience_of``, the same
    expression as ``visible_meetings`` applied to every account) within the organisation."""
    admitted = [
        member.user_id
        for member in audience_of(meeting)
        if member.organisation_id == current_user.organisation_id and member.user_id != exclude
    ]
    if not admitted:
        return []
    return list(
        db.session.scalars(
            sa.select(User).where(User.id.in_(admitted), User.erased_at.is_(None)).order_by(User.name, User.id)
        )
    )


@bp.route(MEETING + "/participants")
@login_required
def participant_list(meeting_id: int) -> Any:
    """Who is invited and their answers (the list carries the meeting's marking), the viewer's own
    invitation to answer, their organisation's delegation to name, and the organiser's invitations."""
    meeting = meeting_or_404(current_user, meeting_id)
    return _render_participants(meeting)


def _refused(meeting: Meeting, exc: ValidationError | NotAllowed) -> Any:
    if isinstance(exc, NotAllowed):
        return after_refusal(lambda: _render_participants(meeting, {"form": str(exc)}, 403))
    return after_refusal(lambda: _render_participants(meeting, dict(exc.fields), 422))


@bp.route(MEETING + "/invitations", methods=["POST"])
@login_required
def invite(meeting_id: int) -> Any:
    """Invite an organisation (with its delegation size), a person (by e-mail) or a cluster."""
    meeting = meeting_or_404(current_user, meeting_id, "invite_to_meeting")
    kind = request.form.get("kind", "")
    try:
        if kind == InvitationKind.ORGANISATION.value:
            org_id = _int(request.form.get("organisation"), 0)
            organisation = db.session.get(Organisation, org_id) if org_id else None
            if organisation is None:
                raise ValidationError({"organisation": _("Choose the organisation to invite.")})
            size = _int(request.form.get("delegation_size"), invitations.DEFAULT_DELEGATION)
            if size is None:
                raise ValidationError({"delegation_size": _("Give the delegation size as a whole number.")})
            invitations.invite_organisation(current_user, meeting, organisation, size)
            flash(
                _(
                    "%(organisation)s is invited; its focal point is asked to name the delegation.",
                    organisation=organisation.name,
                ),
                "success",
            )
        elif kind == InvitationKind.PERSON.value:
            email = (request.form.get("email") or "").strip().lower()[:320]
            person = db.session.scalar(sa.select(User).where(sa.func.lower(User.email) == email)) if email else None
            if person is None:
                raise ValidationError({"person": _("No member has that e-mail address.")})
            invitations.invite_person(current_user, meeting, person)
            flash(_("%(name)s is invited.", name=person.name), "success")
        elif kind == InvitationKind.CLUSTER.value:
            slug = (request.form.get("cluster") or "").strip()
            cluster = db.session.scalar(sa.select(Cluster).where(Cluster.slug == slug)) if slug else None
            if cluster is None:
                raise ValidationError({"cluster": _("Choose the cluster to invite.")})
            _invitation, count = invitations.invite_cluster(current_user, meeting, cluster)
            flash(
                ngettext(
                    "%(num)d members of %(cluster)s are newly invited.",
                    "%(num)d members of %(cluster)s are newly invited.",
                    count,
                    cluster=cluster_label(cluster),
                ),
                "success",
            )
        else:
            raise ValidationError({"form": _("Choose whom to invite: an organisation, a person or a cluster.")})
    except (ValidationError, NotAllowed) as exc:
        return _refused(meeting, exc)
    return redirect(url_for("meetings.participant_list", meeting_id=meeting.id))


@bp.route(MEETING + "/invitations/<int:meeting_invitation_id>/withdraw", methods=["POST"])
@login_required
def withdraw(meeting_id: int, meeting_invitation_id: int) -> Any:
    """Withdraw one of the meeting's invitations (those it invited are no longer participants)."""
    meeting = meeting_or_404(current_user, meeting_id, "invite_to_meeting")
    invitation = db.session.scalar(
        sa.select(MeetingInvitation).where(
            MeetingInvitation.id == meeting_invitation_id, MeetingInvitation.meeting_id == meeting.id
        )
    )
    if invitation is None:
        abort(404)
    people = invitations.withdraw_invitation(current_user, invitation)
    flash(
        ngettext(
            "The invitation is withdrawn; %(num)d person is no longer invited.",
            "The invitation is withdrawn; %(num)d people are no longer invited.",
            people,
        ),
        "success",
    )
    return redirect(url_for("meetings.participant_list", meeting_id=meeting.id, _anchor="invite"))


@bp.route(MEETING + "/delegation", methods=["POST"])
@login_required
def delegation(meeting_id: int) -> Any:
    """A focal point of an invited organisation names its delegation (the ticked colleagues)."""
    meeting = meeting_or_404(current_user, meeting_id)
    invitation = db.session.scalar(
        sa.select(MeetingInvitation).where(
            MeetingInvitation.meeting_id == meeting.id,
            MeetingInvitation.organisation_id == current_user.organisation_id,
        )
    )
    if invitation is None:
        abort(404)
    authorize(current_user, "name_delegation", invitation)
    ids = {_int(v, 0) for v in request.form.getlist("delegates")}
    people = list(db.session.scalars(sa.select(User).where(User.id.in_([i for i in ids if i])).order_by(User.name)))
    try:
        invitations.name_delegation(current_user, invitation, people)
    except (ValidationError, NotAllowed) as exc:
        return _refused(meeting, exc)
    flash(
        ngettext("Your delegation is named: %(num)d person.", "Your delegation is named: %(num)d people.", len(people)),
        "success",
    )
    return redirect(url_for("meetings.participant_list", meeting_id=meeting.id))


@bp.route(MEETING + "/rsvp", methods=["POST"])
@login_required
def rsvp(meeting_id: int) -> Any:
    """The invited person's answer, with an optional replacement from their organisation."""
    meeting = meeting_or_404(current_user, meeting_id)
    own = invitations.participation_of(meeting, current_user)
    if own is None:
        abort(404)
    authorize(current_user, "answer_invitation", own)
    value = request.form.get("response", "")
    try:
        if value not in Rsvp.values() or value == Rsvp.PENDING.value:
            raise ValidationError({"response": _("Choose whether you attend in person, online, or not.")})
        replacement = None
        replacement_id = _int(request.form.get("replacement"), 0)
        if replacement_id != 0:
            replacement = db.session.get(User, replacement_id) if replacement_id else None
            if replacement is None:
                raise ValidationError({"replacement": _("Choose a colleague from the list.")})
        invitations.answer(current_user, own, Rsvp(value), replacement)
    except (ValidationError, NotAllowed) as exc:
        return _refused(meeting, exc)
    flash(str(ANSWER_SAVED[value]), "success")
    return redirect(url_for("meetings.participant_list", meeting_id=meeting.id))


def _export(meeting_id: int, fmt: str) -> Response:
    meeting = meeting_or_404(current_user, meeting_id, "export_participants")
    rows = participants.participant_rows(current_user, meeting)
    record(
        "meeting.participants_export", actor=current_user, target=("meeting", meeting.id), format=fmt, rows=len(rows)
    )
    if fmt == "csv":
        body = ("\ufeff" + participants.to_csv(rows, current_user)).encode("utf-8")
        mimetype = "text/csv"
    else:
        body = participants.to_xlsx(rows, current_user)
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="meeting-{meeting.id}-participants.{fmt}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route(MEETING + "/participants.csv")
@login_required
def participants_csv(meeting_id: int) -> Response:
    return _export(meeting_id, "csv")


@bp.route(MEETING + "/participants.xlsx")
@login_required
def participants_xlsx(meeting_id: int) -> Response:
    return _export(meeting_id, "xlsx")


# --- calendar subscriptions ------------------------------------------------------------------------


@bp.route("/subscription", methods=["GET", "POST"])
@login_required
def subscription() -> Any:
    """The member's calendar subscription address: make one (or a new one, ending the old) with
    ``action=new``, end it with ``action=revoke``. A new address is shown once, on this answer."""
    address = None
    if request.method == "POST":
        action = request.form.get("action", "")
        if action == "new":
            secret = feeds.issue_feed(current_user)
            address = url_for("meetings.feed", token=secret, _external=True)
        elif action == "revoke":
            if feeds.revoke_feed(current_user):
                flash(_("Your calendar subscription address is revoked: calendars reading it get nothing."), "success")
            return redirect(url_for("meetings.subscription"))
        else:
            flash(_("Choose to make a new address or to revoke the one you have."), "error")
    feed = feeds.feed_of(current_user)
    return render_template("meetings/subscription.html", feed=feed, address=address)


def _feed_key() -> str:
    """Rate-limit key of a feed read: the address's secret, hashed (the secret never reaches the store)."""
    secret = (request.view_args or {}).get("token", "")
    return "calendar-feed:" + hashlib.sha256(str(secret).encode()).hexdigest()[:32]


@bp.route("/feed/<token>.ics")
@limiter.limit(lambda: current_app.config["CALENDAR_FEED_LIMIT"], key_func=_feed_key)
def feed(token: str) -> Response:
    """The subscription feed: no session, the secret address is the credential; an unknown or
    revoked address is 404 like any hidden thing."""
    owner = feeds.feed_owner(token)
    if owner is None:
        abort(404)
    meetings = calendar_meetings(owner)
    feeds.record_read(owner, len(meetings))
    # No session: the feed is written in its owner's language.
    with in_language_of(owner):
        response = calendar_response(meetings, _("PAX meetings"), "pax-meetings.ics", subscription=True)
    response.headers["Content-Disposition"] = "inline"
    return response
