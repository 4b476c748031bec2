"""Meetings and their documents: scheduling, the agenda, minutes, documents, calendars, the API,
and hostile input (form errors or 422, never a 500). The rights and visibility matrices are in
``test_meetings_rights.py`` and ``test_meetings_visibility.py``."""

from __future__ import annotations

import io
from typing import Any

import pytest
import sqlalchemy as sa
from icalendar import Calendar

from app.extensions import db
from tests.conftest import csrf_token_from
from tests.test_api_posts import bearer

CLUSTER = "policy"


def technical(**overrides: Any) -> dict[str, Any]:
    """A valid API body for a technical meeting of the policy cluster."""
    payload: dict[str, Any] = {
        "title": "Policy cluster: technical meeting",
        "kind": "technical",
        "cluster": CLUSTER,
        "starts_at": "2027-03-02T09:30:00+01:00",
        "ends_at": "2027-03-02T17:00:00+01:00",
        "location": "Brussels, Berlaymont",
        "tlp": "GREEN",
        "agenda": [{"title": "Welcome"}, {"title": "Roadmap report", "notes": "DG HOME presents"}],
    }
    payload.update(overrides)
    return payload


def schedule(user: Any, **overrides: Any) -> Any:
    from app.meetings.services import schedule_meeting
    from app.meetings.validation import parse_meeting

    meeting = schedule_meeting(user, parse_meeting(technical(**overrides)))
    db.session.commit()
    return meeting


def add_doc(user: Any, meeting: Any, content: bytes = b"agenda text", tlp: str | None = None, **kw: Any) -> Any:
    from app.markings import Tlp
    from app.meetings.documents import add_document

    item = kw.pop("item", None)
    document, _meta = add_document(
        user, meeting, item, kw.pop("title", "A document"), Tlp(tlp) if tlp else None,
        kw.pop("le_only", False), kw.pop("filename", "doc.txt"), [content], 10**6,
    )  # fmt: skip
    db.session.commit()
    return document


def upload(client: Any, url: str, content: bytes, name: str = "doc.txt", **fields: Any) -> Any:
    headers = fields.pop("headers", None)
    data: dict[str, Any] = dict(fields)
    data["file"] = (io.BytesIO(content), name)
    return client.post(url, data=data, content_type="multipart/form-data", headers=headers)


@pytest.fixture
def coordinator(make):  # type: ignore[no-untyped-def]
    return make.user(clusters={CLUSTER: "coordinator"})


@pytest.fixture
def curator(make):  # type: ignore[no-untyped-def]
    return make.user(role="curator", org_type="commission")


# --- validation --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"starts_at": "2027-03-02T09:30:00"}, "starts_at"),
        ({"ends_at": "2027-03-01T09:00:00+01:00"}, "ends_at"),
        ({"title": "x" * 5000}, "title"),
        ({"title": ""}, "title"),
        ({"kind": "party"}, "kind"),
        ({"kind": "ministerial"}, "cluster"),
        ({"cluster": None}, "cluster"),
        ({"cluster": 7}, "cluster"),
        ({"tlp": "PURPLE"}, "tlp"),
        ({"location": "", "online": False}, "location"),
        ({"location": "x" * 301}, "location"),
        ({"online": "yes"}, "online"),
        ({"starts_at": 20270302}, "starts_at"),
        ({"starts_at": "next tuesday"}, "starts_at"),
        ({"starts_at": "9999-01-01T00:00:00+00:00", "ends_at": "9999-01-02T00:00:00+00:00"}, "starts_at"),
        ({"agenda": "Welcome"}, "agenda"),
        ({"agenda": [{"title": ""}]}, "agenda"),
        ({"agenda": [{"title": "a", "extra": 1}]}, "agenda"),
        ({"recipient_orgs": "Europol"}, "recipient_orgs"),
        ({"minutes": 5}, "minutes"),
        ({"title": "bad\x00title"}, "title"),
        ({"surprise": True}, "_"),
    ],
)
def test_hostile_meeting_input_is_refused_with_a_field_message(overrides, field):
    from app.meetings.validation import parse_meeting
    from app.validation import ValidationError

    with pytest.raises(ValidationError) as caught:
        parse_meeting(technical(**overrides))
    assert field in caught.value.fields, caught.value.fields


def test_page_times_are_brussels_time_and_a_skipped_hour_is_refused():
    from app.meetings.validation import BRUSSELS, parse_meeting
    from app.validation import ValidationError

    winter = parse_meeting(technical(starts_at="2027-01-12T09:00", ends_at="2027-01-12T10:00"), local_zone=BRUSSELS)
    summer = parse_meeting(technical(starts_at="2027-07-12T09:00", ends_at="2027-07-12T10:00"), local_zone=BRUSSELS)
    assert winter.starts_at.isoformat() == "2027-01-12T08:00:00+00:00"
    assert summer.starts_at.isoformat() == "2027-07-12T07:00:00+00:00"
    with pytest.raises(ValidationError) as caught:
        parse_meeting(technical(starts_at="2027-03-28T02:30", ends_at="2027-03-28T04:00"), local_zone=BRUSSELS)
    assert "clocks" in caught.value.fields["starts_at"]


def test_unknown_cluster_is_a_field_error(coordinator):
    from app.meetings.services import schedule_meeting
    from app.meetings.validation import parse_meeting
    from app.validation import ValidationError

    with pytest.raises(ValidationError) as caught:
        schedule_meeting(coordinator, parse_meeting(technical(cluster="no-such-cluster")))
    assert "cluster" in caught.value.fields


# --- agenda, minutes, documents ----------------------------------------------------------------------


def test_agenda_positions_stay_one_to_n_through_moves_and_removals(coordinator):
    from app.meetings import services
    from app.meetings.validation import AgendaEntry

    meeting = schedule(coordinator, agenda=[{"title": t} for t in "ABCD"])
    items = {i.title: i for i in meeting.agenda}
    doc = add_doc(coordinator, meeting, item=items["B"])
    assert services.move_agenda_item(coordinator, items["D"], "up")
    assert not services.move_agenda_item(coordinator, items["A"], "up")
    db.session.commit()
    db.session.refresh(meeting)
    assert [(i.position, i.title) for i in meeting.agenda] == [(1, "A"), (2, "B"), (3, "D"), (4, "C")]
    services.remove_agenda_item(coordinator, items["B"])
    services.add_agenda_item(coordinator, meeting, AgendaEntry("E", "notes"))
    db.session.commit()
    db.session.refresh(meeting)
    assert [(i.position, i.title) for i in meeting.agenda] == [(1, "A"), (2, "D"), (3, "C"), (4, "E")]
    db.session.refresh(doc)
    assert doc.agenda_item_id is None  # the removed item's document stays, with the meeting


def test_minutes_are_rendered_and_sanitised(coordinator, client, login_as):
    from app.meetings.services import save_minutes

    meeting = schedule(coordinator)
    save_minutes(coordinator, meeting, "**Agreed**\n\n<script>alert(1)</script>[x](javascript:alert(1))")
    db.session.commit()
    assert "<strong>Agreed</strong>" in meeting.minutes_html
    assert "<script" not in meeting.minutes_html and 'href="javascript' not in meeting.minutes_html
    login_as(coordinator)
    html = client.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert "<strong>Agreed</strong>" in html and "<script>alert" not in html


def test_a_document_marking_looser_than_the_meeting_is_refused(coordinator, client, login_as):
    from app.markings import Tlp
    from app.meetings.documents import add_document
    from app.validation import ValidationError

    meeting = schedule(coordinator, tlp="AMBER")
    with pytest.raises(ValidationError) as caught:
        add_document(coordinator, meeting, None, "Note", Tlp.GREEN, False, "n.txt", [b"x"], 10**6)
    assert "tlp" in caught.value.fields
    db.session.rollback()
    headers = bearer(coordinator)
    response = upload(client, f"/api/v1/meetings/{meeting.id}/documents", b"x", tlp="GREEN", headers=headers)
    assert response.status_code == 422 and "tlp" in response.get_json()["error"]["fields"]
    response = upload(client, f"/api/v1/meetings/{meeting.id}/documents", b"x", tlp="RED", headers=headers)
    assert response.status_code == 201 and response.get_json()["tlp"] == "RED"
    login_as(coordinator)
    token = csrf_token_from(client.get(f"/meetings/{meeting.id}/documents/new").get_data(as_text=True))
    page = upload(client, f"/meetings/{meeting.id}/documents/new", b"x", csrf_token=token, tlp="CLEAR", title="t")
    assert page.status_code == 422 and "or stricter" in page.get_data(as_text=True)


def test_upload_page_stores_the_document_on_an_agenda_item(coordinator, client, login_as):
    from app.files.services import read_all
    from app.meetings.models import MeetingDocument

    meeting = schedule(coordinator)
    item = meeting.agenda[1]
    login_as(coordinator)
    token = csrf_token_from(client.get(f"/meetings/{meeting.id}/documents/new").get_data(as_text=True))
    response = upload(
        client, f"/meetings/{meeting.id}/documents/new", b"time,event\n09:00,start\n", "plan.csv",
        csrf_token=token, title="Plan", tlp="AMBER", agenda_item_id=str(item.id),
    )  # fmt: skip
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    doc = db.session.scalar(sa.select(MeetingDocument))
    assert (doc.title, doc.tlp.value, doc.agenda_item_id) == ("Plan", "AMBER", item.id)
    assert read_all(doc.file) == b"time,event\n09:00,start\n"
    assert client.get(f"/meetings/documents/{doc.id}").data == b"time,event\n09:00,start\n"
    # A foreign agenda item, a missing CSRF token and a forbidden type are refused, never a 500.
    other = schedule(coordinator, title="Other")
    bad = upload(client, f"/meetings/{meeting.id}/documents/new", b"x", csrf_token=token,
                 agenda_item_id=str(other.agenda[0].id))  # fmt: skip
    assert bad.status_code == 422
    assert upload(client, f"/meetings/{meeting.id}/documents/new", b"x").status_code == 400
    html_file = upload(client, f"/meetings/{meeting.id}/documents/new", b"<html>", "a.html", csrf_token=token)
    assert html_file.status_code == 415


def test_documents_reorder_within_their_item(coordinator):
    from app.meetings.documents import move_document
    from app.meetings.queries import visible_documents

    meeting = schedule(coordinator)
    first, second = add_doc(coordinator, meeting, title="First"), add_doc(coordinator, meeting, title="Second")
    item_doc = add_doc(coordinator, meeting, title="On item", item=meeting.agenda[0])
    assert [d.title for d in visible_documents(coordinator, meeting)] == ["First", "Second", "On item"]
    assert move_document(coordinator, second, "up")
    assert not move_document(coordinator, item_doc, "down")
    db.session.commit()
    assert [d.id for d in visible_documents(coordinator, meeting)] == [second.id, first.id, item_doc.id]


def test_deleting_a_meeting_shreds_its_files(make, coordinator, client):
    from app.files.models import StoredFile
    from app.files.services import blob_store
    from app.meetings.models import AgendaItem, Meeting, MeetingDocument

    meeting = schedule(make.user(clusters={CLUSTER: "coordinator"}))
    docs = [add_doc(coordinator, meeting, f"doc {n}".encode()) for n in range(2)]
    keys = [d.file.blob_key for d in docs]
    assert {k for k, _t in blob_store().list_blobs()} >= set(keys)
    response = client.delete(f"/api/v1/meetings/{meeting.id}", headers=bearer(coordinator))
    assert response.status_code == 403  # coordinators prepare; curators and the organiser delete
    response = client.delete(f"/api/v1/meetings/{meeting.id}", headers=bearer(meeting.author))
    assert response.status_code == 204
    db.session.commit()
    for model in (Meeting, AgendaItem, MeetingDocument, StoredFile):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(model)) == 0
    assert not {k for k, _t in blob_store().list_blobs()} & set(keys)


def test_removing_a_document_shreds_it_and_is_audited(coordinator, client):
    from app.audit.models import AuditEvent
    from app.files.models import StoredFile

    meeting = schedule(coordinator)
    doc = add_doc(coordinator, meeting)
    response = client.delete(f"/api/v1/meeting-documents/{doc.id}", headers=bearer(coordinator))
    assert response.status_code == 204
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StoredFile)) == 0
    actions = set(db.session.scalars(sa.select(AuditEvent.action)))
    assert {"meeting.schedule", "meeting.document_upload", "meeting.document_remove"} <= actions


# --- calendars ---------------------------------------------------------------------------------------


def test_ics_files_parse_and_hold_only_visible_meetings(make, coordinator, client, login_as, new_client):
    mine = schedule(coordinator, tlp="AMBER", title="Cluster meeting")
    outsider = make.user()
    hidden = schedule(make.user(clusters={"innovation": "coordinator"}), cluster="innovation", tlp="AMBER")
    public = schedule(coordinator, tlp="GREEN", title="Open meeting")
    login_as(outsider)
    response = client.get("/meetings/calendar.ics")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert response.headers["Content-Disposition"].startswith("attachment")
    events = Calendar.from_ical(response.data).walk("VEVENT")
    assert {str(e["UID"]) for e in events} == {f"meeting-{public.id}@127.0.0.1"}
    assert client.get(f"/meetings/{mine.id}/meeting.ics").status_code == 404
    assert client.get(f"/meetings/{hidden.id}/meeting.ics").status_code == 404
    one = Calendar.from_ical(client.get(f"/meetings/{public.id}/meeting.ics").data).walk("VEVENT")[0]
    assert one["DTSTART"].dt.isoformat() == "2027-03-02T08:30:00+00:00"
    assert "TLP:GREEN" in str(one["DESCRIPTION"]) and f"/meetings/{public.id}" in str(one["DESCRIPTION"])
    assert str(one["CLASS"]) == "PUBLIC"
    events = Calendar.from_ical(new_client(coordinator).get("/meetings/calendar.ics").data).walk("VEVENT")
    classes = {str(e["UID"]): str(e["CLASS"]) for e in events}
    assert classes == {f"meeting-{mine.id}@127.0.0.1": "CONFIDENTIAL", f"meeting-{public.id}@127.0.0.1": "PUBLIC"}


def test_a_red_meetings_calendar_event_names_neither_title_nor_place(coordinator, new_client):
    """Calendar files end up on calendar servers and phones: a RED meeting's event only says one exists."""
    red = schedule(coordinator, tlp="RED", title="Informant handling in terminal 4", location="Room 12, HQ")
    data = new_client(coordinator).get(f"/meetings/{red.id}/meeting.ics").data
    event = Calendar.from_ical(data).walk("VEVENT")[0]
    assert b"Informant" not in data and b"Room 12" not in data
    assert str(event["SUMMARY"]) == "PAX meeting (TLP:RED)" and str(event["CLASS"]) == "PRIVATE"
    assert f"/meetings/{red.id}" in str(event["DESCRIPTION"])


# --- pages -------------------------------------------------------------------------------------------


def _form(token: str, **overrides: str) -> dict[str, str]:
    data = {
        "csrf_token": token, "title": "Cluster meeting", "kind": "technical", "cluster": CLUSTER,
        "starts_date": "2027-05-04", "starts_time": "09:30", "ends_date": "2027-05-04", "ends_time": "17:00",
        "location": "Antwerp", "tlp": "GREEN", "agenda": "Welcome\nRoadmap\n",
    }  # fmt: skip
    data.update(overrides)
    return data


def test_schedule_page_reads_brussels_time_and_shows_it_back(coordinator, client, login_as):
    from app.meetings.models import Meeting

    login_as(coordinator)
    page = client.get("/meetings/new").get_data(as_text=True)
    assert 'value="senior_officials"' not in page  # coordinators are offered their clusters' technical meetings
    response = client.post("/meetings/new", data=_form(csrf_token_from(page)))
    assert response.status_code == 302
    meeting = db.session.scalar(sa.select(Meeting))
    assert meeting.starts_at.isoformat() == "2027-05-04T07:30:00+00:00"
    assert [i.title for i in meeting.agenda] == ["Welcome", "Roadmap"]
    html = client.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert "09:30 to 17:00 Brussels time (CEST)" in html
    assert client.get("/meetings/").get_data(as_text=True).count(f'href="/meetings/{meeting.id}"') == 1


@pytest.mark.parametrize(
    "overrides",
    [
        {"starts_time": ""},
        {"ends_date": "2027-05-03"},
        {"title": "x" * 5000},
        {"kind": "party"},
        {"cluster": "no-such"},
        {"kind": "ministerial"},
        {"starts_date": "2027-02-30"},
        {"location": ""},
        {"tlp": ""},
        {"recipient_users": "nobody@example.invalid"},
        {"title": "a\x00b"},
    ],
)
def test_schedule_page_answers_bad_input_with_form_errors(curator, client, login_as, overrides):
    login_as(curator)
    token = csrf_token_from(client.get("/meetings/new").get_data(as_text=True))
    response = client.post("/meetings/new", data=_form(token, **overrides))
    assert response.status_code == 422, response.status_code
    assert "ecl-feedback-message" in response.get_data(as_text=True) or "form-errors" in response.get_data(as_text=True)


def test_agenda_and_minutes_pages(coordinator, client, login_as):
    meeting = schedule(coordinator)
    login_as(coordinator)
    token = csrf_token_from(client.get(f"/meetings/{meeting.id}/agenda").get_data(as_text=True))
    assert client.post(f"/meetings/{meeting.id}/agenda", data={"csrf_token": token, "title": "AOB"}).status_code == 302
    assert client.post(f"/meetings/{meeting.id}/agenda", data={"csrf_token": token, "title": ""}).status_code == 422
    last = meeting.agenda[0]
    url = f"/meetings/{meeting.id}/agenda/{last.id}/move"
    assert client.post(url, data={"csrf_token": token, "direction": "down"}).status_code == 302
    assert client.post(url, data={"csrf_token": token, "direction": "sideways"}).status_code == 303
    response = client.post(f"/meetings/{meeting.id}/minutes", data={"csrf_token": token, "minutes": "# Done"})
    assert response.status_code == 302
    db.session.expire_all()
    assert [i.title for i in meeting.agenda] == ["Roadmap report", "Welcome", "AOB"]
    assert meeting.minutes_html.startswith("<h1>Done</h1>")


# --- the demo ----------------------------------------------------------------------------------------


def test_demo_meetings_load_once(app):
    from app.demo import load_demo
    from app.meetings.demo import load_meetings_demo
    from app.meetings.models import Meeting, MeetingDocument
    from app.workplan.models import Workplan

    created = load_demo()  # which loads the meetings (app.meetings.demo.load_meetings_demo)
    db.session.commit()
    again = load_demo()
    load_meetings_demo(again)
    db.session.commit()
    assert created.get("meetings", 0) >= 3 and created.get("meeting documents", 0) >= 3
    assert not again.get("meetings") and not again.get("meeting documents")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Meeting)) == created["meetings"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(MeetingDocument)) == created["meeting documents"]
    workplan = db.session.scalar(sa.select(Workplan).where(Workplan.year == 2026))
    assert workplan.status.value == "adopted" and workplan.adopted_at_meeting_id is not None


def test_dashboard_lists_only_visible_upcoming_meetings(make, coordinator, client, login_as):
    public = schedule(coordinator, title="Open cluster meeting")
    hidden = schedule(coordinator, title="Restricted cluster meeting", tlp="AMBER")
    login_as(make.user())
    html = client.get("/dashboard").get_data(as_text=True)
    assert f'href="/meetings/{public.id}"' in html and f'href="/meetings/{hidden.id}"' not in html
