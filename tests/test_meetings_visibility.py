"""Who sees which meetings and documents: every TLP x law-enforcement flag x viewer relation x
read path, expected from the README's access table (``expected`` of the post matrix, the same table).

Ten technical meetings, one per marking and flag, each with a document of its own marking; and
a GREEN meeting whose documents are stricter than it (AMBER, AMBER+STRICT, RED, GREEN law
enforcement only), seen only by those the stricter marking admits. Each test builds one world
and asks it as every relation.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from icalendar import Calendar

from app.extensions import db
from app.markings import Tlp
from tests.test_visibility_matrix import CLUSTER, LE_FLAGS, OTHER_CLUSTER, RELATIONS, TLPS, expected

STRICTER = [(Tlp.AMBER, False), (Tlp.AMBER_STRICT, False), (Tlp.RED, False), (Tlp.GREEN, True)]


class World:
    def __init__(self, make: Any) -> None:
        from app.meetings.documents import add_document
        from app.meetings.invitations import invite_person
        from app.meetings.services import schedule_meeting
        from app.meetings.validation import parse_meeting
        from tests.test_meetings import technical

        author_org = make.org("terminal_operator")
        recipient_org = make.org("shipping_line")
        self.author = make.user(org=author_org, clusters={CLUSTER: "coordinator"})
        self.viewers = {
            "author": self.author,
            "same_organisation": make.user(org=author_org),
            "cluster_member": make.user(clusters={CLUSTER: "reader"}),
            "other_cluster": make.user(clusters={OTHER_CLUSTER: "contributor"}),
            "recipient_organisation": make.user(org=recipient_org),
            "recipient_user": make.user(),
            "law_enforcement_outsider": make.user(org_type="police"),
            "law_enforcement_cluster_member": make.user(org_type="customs", clusters={CLUSTER: "reader"}),
            "curator": make.user(role="curator", org_type="commission"),
            "admin": make.user(role="admin", org_type="commission"),
            "pending": make.user(status="pending"),
            "suspended": make.user(status="suspended"),
        }
        self.make = make
        recipients = {"recipient_orgs": [recipient_org.name], "recipient_users": [self.viewers["recipient_user"].email]}
        #: meeting id -> (tlp, le_only); document id -> (meeting id, tlp, le_only, content)
        self.meetings: dict[int, tuple[Tlp, bool]] = {}
        self.documents: dict[int, tuple[int, Tlp, bool, bytes]] = {}
        for n, (tlp, le_only) in enumerate(itertools.product(TLPS, LE_FLAGS)):
            raw = technical(
                cluster=CLUSTER, tlp=tlp.value, law_enforcement_only=le_only, title=f"Meeting {tlp.value} {le_only}",
                starts_at=f"2027-04-{n + 1:02d}T09:00:00+02:00", ends_at=f"2027-04-{n + 1:02d}T17:00:00+02:00",
                recipient_orgs=recipients["recipient_orgs"] if tlp in (Tlp.AMBER, Tlp.AMBER_STRICT) else [],
                recipient_users=recipients["recipient_users"] if tlp is Tlp.RED else [],
            )  # fmt: skip
            meeting = schedule_meeting(self.author, parse_meeting(raw))
            self.meetings[meeting.id] = (tlp, le_only)
            # The organiser is on each meeting's participant list (which carries its marking).
            invite_person(self.author, meeting, self.author)
            content = f"minutes of meeting {meeting.id}".encode()
            doc, _ = add_document(self.author, meeting, None, "Doc", None, False, "d.txt", [content], 1000)
            self.documents[doc.id] = (meeting.id, tlp, le_only, content)
        # A GREEN meeting naming recipients, with documents stricter than it.
        self.open_meeting = schedule_meeting(self.author, parse_meeting(technical(cluster=CLUSTER, **recipients)))
        self.stricter: dict[int, tuple[Tlp, bool, bytes]] = {}
        for tlp, le_only in STRICTER:
            content = f"stricter {tlp.value} {le_only}".encode()
            doc, _ = add_document(self.author, self.open_meeting, None, "S", tlp, le_only, "s.txt", [content], 1000)
            self.stricter[doc.id] = (tlp, le_only, content)
        db.session.commit()


def _client(world: World, viewer: Any) -> Any:
    from flask import current_app

    from tests.conftest import sign_in

    client = current_app.test_client()
    if viewer.status.value == "active":
        sign_in(client, world.make, viewer)
    return client


def _token(viewer: Any) -> dict[str, str]:
    from app.auth.tokens import create_token

    _, secret = create_token(viewer, "matrix", "read", 1)
    db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


# --- read paths: which meeting ids (or, for documents, which document ids) the viewer gets ----------


def service_list(world: World, viewer: Any, client: Any, headers: Any) -> set[int]:
    from app.meetings.queries import MeetingFilter, meeting_page

    return {m.id for m in meeting_page(viewer, MeetingFilter(), per_page=100).items}


def service_open(world: World, viewer: Any, client: Any, headers: Any) -> set[int]:
    from werkzeug.exceptions import NotFound

    from app.policy import meeting_or_404

    seen = set()
    for mid in world.meetings:
        try:
            meeting_or_404(viewer, mid)
        except NotFound:
            continue
        seen.add(mid)
    return seen


def list_page(world: World, viewer: Any, client: Any, headers: Any) -> set[int]:
    html = client.get("/meetings/?when=upcoming").get_data(as_text=True)
    return {mid for mid in world.meetings if f'href="/meetings/{mid}"' in html}


def meeting_page(world: World, viewer: Any, client: Any, headers: Any) -> set[int]:
    return {mid for mid in world.meetings if client.get(f"/meetings/{mid}").status_code == 200}


def meeting_ics(world: World, viewer: Any, client: Any, headers: Any) -> set[int]:
    return {mid for mid in world.meetings if client.get(f"/meetings/{mid}/meeting.ics").status_code == 200}


def calendar(world: World, viewer: Any, client: Any, headers: Any) -> set[int]:
    response = client.get("/meetings/calendar.ics")
    if response.status_code != 200:
        return set()
    uids = {str(e["UID"]) for e in Calendar.from_ical(response.data).walk("VEVENT")}
    return {mid for mid in world.meetings if f"meeting-{mid}@127.0.0.1" in uids}


def api_list(world: World, viewer: Any, client: Any, headers: Any) -> set[int]:
    response = client.get("/api/v1/meetings?per_page=100", headers=headers)
    return {item["id"] for item in response.get_json()["items"]} if response.status_code == 200 else set()


def api_get(world: World, viewer: Any, client: Any, headers: Any) -> set[int]:
    return {mid for mid in world.meetings if client.get(f"/api/v1/meetings/{mid}", headers=headers).status_code == 200}


def _by_document(seen_documents: set[int], world: World) -> set[int]:
    return {world.documents[d][0] for d in seen_documents if d in world.documents}


def document_download(world: World, viewer: Any, client: Any, headers: Any) -> set[int]:
    got = {
        d
        for d, (_m, _t, _l, content) in world.documents.items()
        if client.get(f"/meetings/documents/{d}").data == content
    }
    return _by_document(got, world)


def document_api(world: World, viewer: Any, client: Any, headers: Any) -> set[int]:
    url = "/api/v1/meeting-documents/{}"
    got = {d for d, row in world.documents.items() if client.get(url.format(d), headers=headers).data == row[3]}
    return _by_document(got, world)


def documents_listed(world: World, viewer: Any, client: Any, headers: Any) -> set[int]:
    """Documents named in the meeting page and the API's meeting, for meetings the viewer sees."""
    got = set()
    for mid in world.meetings:
        html = client.get(f"/meetings/{mid}").get_data(as_text=True)
        response = client.get(f"/api/v1/meetings/{mid}", headers=headers)
        listed = {d["id"] for d in response.get_json()["documents"]} if response.status_code == 200 else set()
        got |= {d for d in world.documents if f'href="/meetings/documents/{d}"' in html and d in listed}
    return _by_document(got, world)


def participant_list(world: World, viewer: Any, client: Any, headers: Any) -> set[int]:
    """Meetings whose participant list page shows the viewer who is on it."""
    name = f">{world.author.name}</th>"
    return {mid for mid in world.meetings if name in client.get(f"/meetings/{mid}/participants").get_data(as_text=True)}


def participants_service(world: World, viewer: Any, client: Any, headers: Any) -> set[int]:
    import sqlalchemy as sa

    from app.meetings.models import MeetingParticipant
    from app.policy import visible_meeting_participants

    return set(db.session.scalars(sa.select(MeetingParticipant.meeting_id).where(visible_meeting_participants(viewer))))


def subscription_feed(world: World, viewer: Any, client: Any, headers: Any) -> set[int]:
    """The viewer's own calendar subscription, read by a client with no session (suspended and
    pending accounts hold an address too, which must give nothing)."""
    from flask import current_app

    from app.meetings.feeds import issue_feed

    secret = issue_feed(viewer)
    db.session.commit()
    response = current_app.test_client().get(f"/meetings/feed/{secret}.ics")
    if response.status_code != 200:
        return set()
    uids = {str(e["UID"]) for e in Calendar.from_ical(response.data).walk("VEVENT")}
    return {mid for mid in world.meetings if f"meeting-{mid}@127.0.0.1" in uids}


READ_PATHS: dict[str, Callable[[World, Any, Any, Any], set[int]]] = {
    "service_list": service_list,
    "service_open": service_open,
    "list_page": list_page,
    "meeting_page": meeting_page,
    "meeting_ics": meeting_ics,
    "calendar": calendar,
    "api_list": api_list,
    "api_get": api_get,
    "document_download": document_download,
    "document_api": document_api,
    "documents_listed": documents_listed,
    "participant_list": participant_list,
    "participants_service": participants_service,
    "subscription_feed": subscription_feed,
}


def _viewers(world: World) -> Any:
    """Each relation and its viewer: the world holds one of every relation, so one world serves
    every relation's checks (which only read)."""
    for relation in RELATIONS:
        viewer = world.viewers[relation]
        if relation in ("pending", "suspended"):
            db.session.refresh(viewer)
        yield relation, viewer


def test_meeting_visibility(make):
    world = World(make)
    problems = []
    for relation, viewer in _viewers(world):
        client, headers = _client(world, viewer), _token(viewer)
        for path, read in READ_PATHS.items():
            got = read(world, viewer, client, headers)
            for mid, (tlp, le_only) in world.meetings.items():
                should = expected(tlp, le_only, relation)
                if (mid in got) != should:
                    problems.append(
                        f"{relation}: {path}: {tlp.label}{' LE-only' if le_only else ''} "
                        f"{'leaks' if not should else 'missing'}"
                    )
    assert not problems, problems


def test_documents_stricter_than_their_meeting(make):
    world = World(make)
    problems = []
    for relation, viewer in _viewers(world):
        problems += _stricter_problems(world, relation, viewer)
    assert not problems, problems


def _stricter_problems(world: World, relation: str, viewer: Any) -> list[str]:
    client, headers = _client(world, viewer), _token(viewer)
    api = client.get(f"/api/v1/meetings/{world.open_meeting.id}", headers=headers)
    listed = {d["id"] for d in api.get_json()["documents"]} if api.status_code == 200 else set()
    page = client.get(f"/meetings/{world.open_meeting.id}").get_data(as_text=True)
    problems = []
    for doc_id, (tlp, le_only, content) in world.stricter.items():
        should = expected(tlp, le_only, relation)
        seen = {
            "download": client.get(f"/meetings/documents/{doc_id}").data == content,
            "api_download": client.get(f"/api/v1/meeting-documents/{doc_id}", headers=headers).data == content,
            "api_listed": doc_id in listed,
            "page_listed": f'href="/meetings/documents/{doc_id}"' in page,
        }
        problems += [
            f"{relation}: {p}: {tlp.label}{' LE' if le_only else ''} {should=}" for p, s in seen.items() if s != should
        ]
    return problems
