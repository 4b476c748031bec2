"""Who may do what to meetings: every role x every meeting action, through the services, the
pages and the API, expected from one table (``ALLOWED``).

The meeting is a GREEN technical meeting of the policy cluster, organised by a member with no
cluster role, with one agenda item and one document of the organiser. The actions run in order
on one world per role and channel (the last ones remove the document, then the meeting).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest

from app.extensions import db
from app.policy import NotAllowed
from tests.conftest import csrf_token_from, sign_in
from tests.test_api_posts import bearer
from tests.test_meetings import technical

ROLES = [
    "curator", "coordinator", "other_coordinator", "contributor", "reader", "organiser", "focal_point", "admin",
    "auditor",
]  # fmt: skip
SCHEDULE = ["schedule_technical_policy", "schedule_technical_innovation", "schedule_senior", "schedule_ministerial"]
PREPARE = ["edit", "agenda", "minutes", "upload_document", "remove_document"]
ACTIONS = [*SCHEDULE, *PREPARE, "delete"]

#: The one table: what each role may do. Curators schedule anything; a cluster's coordinators its
#: technical meetings and prepare them; the organiser prepares and deletes their meeting; nobody
#: else (focal points, administrators and auditors included) does any of it.
ALLOWED: dict[str, set[str]] = {
    "curator": set(ACTIONS),
    "coordinator": {"schedule_technical_policy", *PREPARE},
    "other_coordinator": {"schedule_technical_innovation"},
    "contributor": set(),
    "reader": set(),
    "organiser": {*PREPARE, "delete"},
    "focal_point": set(),
    "admin": set(),
    "auditor": set(),
}

SCHEDULED = {
    "schedule_technical_policy": {"kind": "technical", "cluster": "policy"},
    "schedule_technical_innovation": {"kind": "technical", "cluster": "innovation"},
    "schedule_senior": {"kind": "senior_officials", "cluster": None},
    "schedule_ministerial": {"kind": "ministerial", "cluster": None},
}


class World:
    def __init__(self, make: Any) -> None:
        from app.meetings.documents import add_document
        from app.meetings.services import schedule_meeting
        from app.meetings.validation import parse_meeting

        org = make.org("port_authority")
        curator = make.user(role="curator", org_type="commission")
        self.users = {
            "curator": curator,
            "coordinator": make.user(clusters={"policy": "coordinator"}),
            "other_coordinator": make.user(clusters={"innovation": "coordinator"}),
            "contributor": make.user(clusters={"policy": "contributor"}),
            "reader": make.user(clusters={"policy": "reader"}),
            "organiser": make.user(org=org),
            "focal_point": make.user(org=org, focal_point=True),
            "admin": make.user(role="admin", org_type="commission"),
            "auditor": make.user(role="auditor", org_type="commission"),
        }
        self.make = make
        self.meeting = schedule_meeting(curator, parse_meeting(technical()))
        # The organiser is a plain member: organising is what gives them rights on the meeting.
        self.meeting.author_id, self.meeting.author_org_id = self.users["organiser"].id, org.id
        db.session.flush()
        self.document, _ = add_document(
            curator, self.meeting, self.meeting.agenda[0], "Agenda", None, False, "a.txt", [b"a"], 100
        )
        self.document.author_id, self.document.author_org_id = self.users["organiser"].id, org.id
        db.session.commit()


def _service(world: World, user: Any, action: str) -> bool:
    from app.meetings import documents, services
    from app.meetings.validation import AgendaEntry, parse_meeting

    meeting = world.meeting
    calls: dict[str, Callable[[], Any]] = {
        **{
            name: (lambda o=o: services.schedule_meeting(user, parse_meeting(technical(**o))))
            for name, o in SCHEDULED.items()
        },
        "edit": lambda: services.update_meeting(user, meeting, parse_meeting(technical(title="Renamed"))),
        "agenda": lambda: services.add_agenda_item(user, meeting, AgendaEntry("AOB")),
        "minutes": lambda: services.save_minutes(user, meeting, "Done"),
        "upload_document": lambda: documents.add_document(
            user, meeting, None, "New", None, False, "n.txt", [b"n"], 100
        ),
        "remove_document": lambda: documents.remove_document(user, world.document),
        "delete": lambda: services.delete_meeting(user, meeting),
    }
    try:
        calls[action]()
    except NotAllowed:
        db.session.rollback()
        return False
    db.session.commit()
    return True


def _page(world: World, client: Any, action: str) -> bool:
    mid, did = world.meeting.id, world.document.id
    token = csrf_token_from(client.get("/meetings/").get_data(as_text=True))
    form = {
        "csrf_token": token, "title": "Renamed", "kind": "technical", "cluster": "policy",
        "starts_date": "2027-05-04", "starts_time": "09:30", "ends_date": "2027-05-04", "ends_time": "17:00",
        "location": "Antwerp", "tlp": "GREEN",
    }  # fmt: skip
    if action in SCHEDULED:
        response = client.post("/meetings/new", data={**form, **{k: v or "" for k, v in SCHEDULED[action].items()}})
    elif action == "edit":
        response = client.post(f"/meetings/{mid}/edit", data=form)
    elif action == "agenda":
        response = client.post(f"/meetings/{mid}/agenda", data={"csrf_token": token, "title": "AOB"})
    elif action == "minutes":
        response = client.post(f"/meetings/{mid}/minutes", data={"csrf_token": token, "minutes": "Done"})
    elif action == "upload_document":
        response = client.post(
            f"/meetings/{mid}/documents/new",
            data={"csrf_token": token, "title": "New", "file": (io.BytesIO(b"n"), "n.txt")},
            content_type="multipart/form-data",
        )
    elif action == "remove_document":
        response = client.post(f"/meetings/documents/{did}/delete", data={"csrf_token": token})
    else:
        response = client.post(f"/meetings/{mid}/delete", data={"csrf_token": token})
    assert response.status_code in (302, 403, 404), (
        action,
        response.status_code,
        response.get_data(as_text=True)[:300],
    )
    return response.status_code == 302


def _api(world: World, headers: dict[str, str], client: Any, action: str) -> bool:
    mid, did = world.meeting.id, world.document.id
    if action in SCHEDULED:
        response = client.post("/api/v1/meetings", json=technical(**SCHEDULED[action]), headers=headers)
    elif action == "edit":
        response = client.patch(f"/api/v1/meetings/{mid}", json={"title": "Renamed"}, headers=headers)
    elif action == "agenda":
        response = client.patch(f"/api/v1/meetings/{mid}", json={"agenda": [{"title": "Only"}]}, headers=headers)
    elif action == "minutes":
        response = client.patch(f"/api/v1/meetings/{mid}", json={"minutes": "Done"}, headers=headers)
    elif action == "upload_document":
        response = client.post(
            f"/api/v1/meetings/{mid}/documents",
            data={"file": (io.BytesIO(b"n"), "n.txt")},
            content_type="multipart/form-data",
            headers=headers,
        )
    elif action == "remove_document":
        response = client.delete(f"/api/v1/meeting-documents/{did}", headers=headers)
    else:
        response = client.delete(f"/api/v1/meetings/{mid}", headers=headers)
    assert response.status_code in (200, 201, 204, 403), (action, response.status_code, response.get_json())
    return response.status_code < 300


@pytest.mark.parametrize("channel", ["service", "page", "api"])
@pytest.mark.parametrize("role", ROLES)
def test_meeting_rights(role, channel, make, app):
    world = World(make)
    user = world.users[role]
    client = app.test_client()
    if channel == "page":
        sign_in(client, make, user)
    headers = bearer(user) if channel == "api" else {}
    wrong = []
    for action in ACTIONS:
        if channel == "service":
            done = _service(world, user, action)
        elif channel == "page":
            done = _page(world, client, action)
        else:
            done = _api(world, headers, client, action)
        if done != (action in ALLOWED[role]):
            wrong.append(f"{action}: {'done' if done else 'refused'}")
    assert not wrong, f"{role} through {channel}: {wrong}"
