"""Demo meetings for ``demo load``: a past Senior Officials' meeting that adopted the 2026
workplan (with minutes), and upcoming technical meetings of two clusters with agendas and
documents of mixed markings. Idempotent: meetings are found by title, documents by meeting and
title. Uses the demo accounts of ``app.demo`` (loaded first).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from app.auth.services import find_user_by_email
from app.extensions import db
from app.markings import Tlp
from app.meetings.documents import add_document
from app.meetings.models import Meeting, MeetingDocument
from app.meetings.services import schedule_meeting
from app.meetings.validation import BRUSSELS, parse_meeting

CURATOR = "claire.martin@ec-home.example"
OPS_COORDINATOR = "anna.peeters@portofantwerpbruges.example"
CORRUPTION_COORDINATOR = "piotr.nowak@europol.example"
SOM_TITLE = "Senior Officials' meeting: adoption of the 2026 workplan"
SOM_DAY = date(2025, 12, 9)

MINUTES = """## Conclusions

1. The Senior Officials **adopted the 2026 workplan** of the European Ports Alliance.
2. Cluster coordinators report progress at each technical meeting.
3. The next Senior Officials' meeting takes place in the second half of 2026.

## Attendance

Representatives of the Member States, port authorities, terminal operators, shipping lines,
customs, police, Europol and the Commission.
"""


def _pdf(text: str) -> bytes:
    """A one-page PDF showing ``text`` (ASCII), small enough to write by hand."""
    stream = f"BT /F1 14 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _local(day: date, hour: int, minute: int = 0) -> str:
    return datetime(day.year, day.month, day.day, hour, minute).isoformat()


def _meeting(created: dict[str, int], email: str, raw: dict[str, Any]) -> Meeting | None:
    meeting = db.session.scalar(sa.select(Meeting).where(Meeting.title == raw["title"]))
    if meeting is not None:
        return meeting
    organiser = find_user_by_email(email)
    if organiser is None:
        return None
    meeting = schedule_meeting(organiser, parse_meeting(raw, local_zone=BRUSSELS))
    created["meetings"] = created.get("meetings", 0) + 1
    return meeting


def _document(
    created: dict[str, int],
    meeting: Meeting,
    email: str,
    item: int | None,
    title: str,
    tlp: Tlp,
    filename: str,
    content: bytes,
    le_only: bool = False,
) -> None:
    exists = db.session.scalar(
        sa.select(MeetingDocument.id).where(MeetingDocument.meeting_id == meeting.id, MeetingDocument.title == title)
    )
    author = find_user_by_email(email)
    if exists is not None or author is None:
        return
    agenda_item = meeting.agenda[item] if item is not None and item < len(meeting.agenda) else None
    add_document(author, meeting, agenda_item, title, tlp, le_only, filename, [content], len(content))
    created["meeting documents"] = created.get("meeting documents", 0) + 1


def _adopt_workplan(meeting: Meeting) -> None:
    from app.workplan.models import WorkplanStatus
    from app.workplan.services import adopt_workplan, workplan_of

    workplan = workplan_of(2026)
    curator = find_user_by_email(CURATOR)
    if workplan.status is not WorkplanStatus.ADOPTED and curator is not None:
        adopt_workplan(curator, workplan, meeting, SOM_DAY)


def load_meetings_demo(created: dict[str, int]) -> None:
    """Create the demo meetings and documents that are missing; counts go into ``created``."""
    soon = _weekday(date.today() + timedelta(days=21))
    later = _weekday(date.today() + timedelta(days=45))
    som = _meeting(
        created,
        CURATOR,
        {
            "title": SOM_TITLE,
            "kind": "senior_officials",
            "starts_at": _local(SOM_DAY, 10),
            "ends_at": _local(SOM_DAY, 16),
            "location": "Brussels, Charlemagne building",
            "online": True,
            "tlp": "GREEN",
            "agenda": [
                {"title": "Opening by the Commission"},
                {"title": "Adoption of the 2026 workplan", "notes": "Presented by DG HOME; decision."},
                {"title": "Any other business"},
            ],
            "minutes": MINUTES,
        },
    )
    if som is not None:
        _adopt_workplan(som)
        _document(created, som, CURATOR, 1, "Conclusions of the meeting", Tlp.GREEN, "conclusions.pdf",
                  _pdf("Senior Officials adopted the 2026 workplan of the European Ports Alliance."))  # fmt: skip
    ops = _meeting(
        created,
        OPS_COORDINATOR,
        {
            "title": "Operational cooperation: technical meeting on container misuse",
            "kind": "technical",
            "cluster": "operational-cooperation",
            "starts_at": _local(soon, 9, 30),
            "ends_at": _local(soon, 16, 30),
            "location": "Antwerp, Port House",
            "tlp": "GREEN",
            "agenda": [
                {"title": "Welcome and adoption of the agenda"},
                {"title": "Common risk indicators for container misuse", "notes": "Workplan item; Anna Peeters."},
                {"title": "Rip-on/rip-off cases of the last quarter", "notes": "Customs and police; restricted."},
            ],
        },
    )
    if ops is not None:
        _document(created, ops, OPS_COORDINATOR, None, "Agenda", Tlp.GREEN, "agenda.txt",
                  b"1. Welcome and adoption of the agenda\n2. Common risk indicators\n3. Recent cases\n")  # fmt: skip
        _document(created, ops, OPS_COORDINATOR, 1, "Draft risk indicators", Tlp.AMBER, "risk-indicators.csv",
                  b"indicator,weight\nempty container leaving stack unsealed,3\nrelease PIN reused,5\n")  # fmt: skip
    corruption = _meeting(
        created,
        CORRUPTION_COORDINATOR,
        {
            "title": "Infiltration and corruption: technical meeting on insider threats",
            "kind": "technical",
            "cluster": "infiltration-corruption",
            "starts_at": _local(later, 10),
            "ends_at": _local(later, 15),
            "online": True,
            "tlp": "AMBER",
            "agenda": [
                {"title": "Vetting port staff: guidance outline"},
                {"title": "Recent insider recruitment cases", "notes": "Law enforcement participants only."},
            ],
        },
    )
    if corruption is not None:
        _document(created, corruption, CORRUPTION_COORDINATOR, 0, "Vetting guidance outline", Tlp.AMBER,
                  "vetting-outline.txt", b"Outline\n- Scope\n- Background checks\n- Periodic re-vetting\n")  # fmt: skip
        _document(created, corruption, CORRUPTION_COORDINATOR, 1, "Case note: insider recruitment", Tlp.AMBER_STRICT,
                  "case-note.txt", b"Case note for law enforcement participants only.\n", le_only=True)  # fmt: skip
    _invite_demo(created, som, ops)
    db.session.flush()


def _invite_demo(created: dict[str, int], som: Meeting | None, ops: Meeting | None) -> None:
    """The Senior Officials' meeting invited the Port of Antwerp-Bruges Authority (its focal point
    named herself); the container-misuse meeting invites its cluster. Once: a meeting that has
    invitations is left as it is."""
    from app.clusters.services import cluster_by_slug
    from app.directory.models import Organisation
    from app.meetings.invitations import invite_cluster, invite_organisation, name_delegation
    from app.meetings.models import MeetingInvitation

    def fresh(meeting: Meeting | None) -> bool:
        return meeting is not None and not db.session.scalar(
            sa.select(sa.func.count()).select_from(MeetingInvitation).where(MeetingInvitation.meeting_id == meeting.id)
        )

    curator, anna = find_user_by_email(CURATOR), find_user_by_email(OPS_COORDINATOR)
    if fresh(som) and curator is not None and anna is not None:
        port = db.session.get(Organisation, anna.organisation_id)
        assert som is not None and port is not None
        name_delegation(anna, invite_organisation(curator, som, port, 2), [anna])
        created["meeting invitations"] = created.get("meeting invitations", 0) + 1
    if fresh(ops) and anna is not None:
        assert ops is not None
        invite_cluster(anna, ops, cluster_by_slug("operational-cooperation"))
        created["meeting invitations"] = created.get("meeting invitations", 0) + 1


def _weekday(day: date) -> date:
    """Meetings are held on working days: a weekend date moves to the Monday after."""
    return day + timedelta(days=(7 - day.weekday()) % 7 if day.weekday() >= 5 else 0)
