"""Reading a meeting's participant list, and exporting it as CSV or XLSX.

Every read filters with the policy's ``visible_meeting_participants``: the list carries the
meeting's marking. Every text cell of an export goes through ``app.csvguard.neutralise``.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app import localtime
from app.auth.models import User
from app.clusters.names import cluster_label
from app.csvguard import neutralise
from app.directory.models import Organisation
from app.extensions import db
from app.meetings.models import InvitationKind, Meeting, MeetingInvitation, MeetingParticipant
from app.policy import audience_of, visible_meeting_participants

#: The export's column titles, written in the language of the member who exports.
HEADER = [
    _l("Name"),
    _l("E-mail"),
    _l("Organisation"),
    _l("Invited as"),
    _l("Answer"),
    _l("In place of"),
    _l("Answered at"),
]


def header_row() -> list[str]:
    return [str(title) for title in HEADER]


@dataclass(frozen=True)
class ParticipantRow:
    participant: MeetingParticipant
    name: str
    email: str
    organisation: str
    invited_as: str
    answer: str
    in_place_of: str
    #: False when the meeting's marking no longer admits them (it was tightened since): they get
    #: no reminder or notice, and cannot open the meeting.
    in_audience: bool = True


def _invited_as(invitation: MeetingInvitation) -> str:
    if invitation.kind is InvitationKind.ORGANISATION and invitation.organisation is not None:
        return _("Delegation of %(organisation)s", organisation=invitation.organisation.name)
    if invitation.kind is InvitationKind.CLUSTER and invitation.cluster is not None:
        return _("Member of %(cluster)s", cluster=cluster_label(invitation.cluster))
    return _("Invited by name")


def participant_rows(user: Any, meeting: Meeting) -> list[ParticipantRow]:
    """The participants of ``meeting`` that ``user`` may see, by organisation and name."""
    stmt = (
        sa.select(MeetingParticipant)
        .join(User, User.id == MeetingParticipant.user_id)
        .join(Organisation, Organisation.id == User.organisation_id)
        .where(MeetingParticipant.meeting_id == meeting.id, visible_meeting_participants(user))
        .order_by(Organisation.name, User.name, MeetingParticipant.id)
    )
    participants = list(db.session.scalars(stmt).unique())
    # Who of them the meeting's marking still admits: the policy's own audience of the meeting.
    admitted = {member.user_id for member in audience_of(meeting)} if participants else set()
    rows = []
    for participant in participants:
        person = participant.user
        replaced = participant.replaces.user.name if participant.replaces is not None else ""
        rows.append(
            ParticipantRow(
                participant,
                person.name,
                person.email,
                person.organisation.name,
                _invited_as(participant.invitation),
                participant.response.label
                if participant.user_id in admitted
                else _("%(answer)s (may no longer see the meeting)", answer=participant.response.label),
                replaced,
                participant.user_id in admitted,
            )
        )
    return rows


def invitations_of(meeting: Meeting) -> list[MeetingInvitation]:
    """The meeting's invitations, for those who prepare it (callers check ``invite_to_meeting``)."""
    return list(
        db.session.scalars(
            sa.select(MeetingInvitation)
            .where(MeetingInvitation.meeting_id == meeting.id)
            .order_by(MeetingInvitation.kind, MeetingInvitation.id)
        ).unique()
    )


def _table(rows: list[ParticipantRow], reader: Any) -> list[list[str]]:
    zone = localtime.zone_of(reader)
    return [
        [
            r.name,
            r.email,
            r.organisation,
            r.invited_as,
            r.answer,
            r.in_place_of,
            localtime.format_datetime(r.participant.responded_at, zone) if r.participant.responded_at else "",
        ]
        for r in rows
    ]


def to_csv(rows: list[ParticipantRow], reader: Any) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header_row())
    for row in _table(rows, reader):
        writer.writerow([neutralise(v) for v in row])
    return out.getvalue()


def to_xlsx(rows: list[ParticipantRow], reader: Any) -> bytes:
    """A one-sheet workbook, openpyxl's write-only mode, every text cell neutralised."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Font

    book = Workbook(write_only=True)
    sheet = book.create_sheet(_("Participants")[:31])
    sheet.freeze_panes = "A2"
    header = []
    for title in header_row():
        cell = WriteOnlyCell(sheet, value=title)
        cell.font = Font(bold=True)
        header.append(cell)
    sheet.append(header)
    for row in _table(rows, reader):
        sheet.append([ILLEGAL_CHARACTERS_RE.sub("", neutralise(v)) for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
