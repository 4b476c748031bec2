"""The workplan: history of every change, pages, timeline, exports, hostile input and the API.

Rights are in ``tests/test_workplan_rights.py``; this file checks what each action produces.
"""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET
from datetime import date, timedelta
from typing import Any

import openpyxl
import pytest
import sqlalchemy as sa

from app.extensions import db
from tests.conftest import csrf_token_from
from tests.test_api_openapi import Conformance
from tests.test_api_posts import bearer

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def curator(make):  # type: ignore[no-untyped-def]
    return make.user(role="curator", org_type="commission")


@pytest.fixture
def coordinator(make):  # type: ignore[no-untyped-def]
    return make.user(clusters={"policy": "coordinator"})


@pytest.fixture
def leads(make):  # type: ignore[no-untyped-def]
    return make.org("port_authority", name="Port of Testport"), make.org("customs", name="Testland Customs")


def create(curator, **fields: Any):  # type: ignore[no-untyped-def]
    from app.workplan.services import create_item
    from app.workplan.validation import parse_item

    raw = {"year": 2026, "cluster": "policy", "title": "An item", **fields}
    item = create_item(curator, parse_item(raw, creating=True))
    db.session.commit()
    return item


def update(user, item, **fields: Any):  # type: ignore[no-untyped-def]
    from app.workplan.services import update_item
    from app.workplan.validation import parse_item

    changes = update_item(user, item, parse_item(fields, creating=False))
    db.session.commit()
    return changes


# --- history -----------------------------------------------------------------------------------


def test_every_change_is_recorded_with_who_when_old_and_new(app, curator, coordinator, leads, login_as, client):
    from app.audit.models import AuditEvent
    from app.workplan.models import WorkplanItemChange

    item = create(curator, title="Risk indicators", due_date="2026-06-30", progress=0)
    update(
        curator, item, title="Common risk indicators", lead_organisations=[leads[1].name, leads[0].name], due_date=None
    )
    update(coordinator, item, status="in_progress", progress=40)
    assert update(coordinator, item, status="in_progress", progress=40) == []  # no change, no record

    rows = db.session.scalars(
        sa.select(WorkplanItemChange).where(WorkplanItemChange.item_id == item.id).order_by(WorkplanItemChange.id)
    ).all()
    got = [(c.field, c.old_value, c.new_value, c.actor_id) for c in rows]
    assert got == [
        ("created", None, "Risk indicators", curator.id),
        ("title", "Risk indicators", "Common risk indicators", curator.id),
        ("lead_organisations", "", "Port of Testport; Testland Customs", curator.id),
        ("due_date", "2026-06-30", "", curator.id),
        ("status", "Planned", "In progress", coordinator.id),
        ("progress", "0 %", "40 %", coordinator.id),
    ]
    assert all(c.at is not None for c in rows)
    actions = db.session.scalars(
        sa.select(AuditEvent.action).where(AuditEvent.target_id == str(item.id)).order_by(AuditEvent.id)
    ).all()
    assert actions == ["workplan.item_create", "workplan.item_update", "workplan.item_update"]

    login_as(coordinator)
    page = client.get(f"/workplan/items/{item.id}").get_data(as_text=True)
    history = page[page.index('id="history"') :]
    for text in ("Risk indicators", "Common risk indicators", "Planned", "In progress", "0 %", "40 %", curator.name):
        assert text in history
    assert coordinator.name in history
    # The coordinator's form carries status and progress only.
    assert 'name="status"' in page and 'name="progress"' in page and 'name="title"' not in page


def test_coordinator_cannot_change_other_fields_nor_other_clusters(app, curator, coordinator, make):
    from app.policy import NotAllowed

    item = create(curator)
    with pytest.raises(NotAllowed):
        update(coordinator, item, title="Mine now")
    db.session.rollback()
    other = create(curator, cluster="innovation")
    with pytest.raises(NotAllowed):
        update(coordinator, other, progress=50)
    db.session.rollback()
    with pytest.raises(NotAllowed):
        update(make.user(clusters={"policy": "contributor"}), item, progress=50)


def test_adoption_records_meeting_and_date_and_back_to_draft(app, curator, login_as, client):
    from app.audit.models import AuditEvent
    from app.workplan.models import Workplan, WorkplanStatus

    create(curator)
    login_as(curator)
    page = client.get("/workplan/2026/adopt").get_data(as_text=True)
    token = csrf_token_from(page)
    bad = client.post("/workplan/2026/adopt", data={"csrf_token": token, "adopted_on": "31/12/2026", "action": "adopt"})
    assert bad.status_code == 422 and "is not a date" in bad.get_data(as_text=True)
    bad = client.post(
        "/workplan/2026/adopt", data={"csrf_token": token, "adopted_on": "2026-02-01", "meeting_id": "99999"}
    )
    assert bad.status_code == 422
    ok = client.post("/workplan/2026/adopt", data={"csrf_token": token, "adopted_on": "2026-02-01", "action": "adopt"})
    assert ok.status_code == 302
    db.session.expire_all()
    workplan = db.session.scalar(sa.select(Workplan).where(Workplan.year == 2026))
    assert workplan.status is WorkplanStatus.ADOPTED and workplan.adopted_on == date(2026, 2, 1)
    assert "1 February 2026" in client.get("/workplan/2026").get_data(as_text=True)
    client.post("/workplan/2026/adopt", data={"csrf_token": token, "action": "draft"})
    db.session.expire_all()
    assert db.session.scalar(sa.select(Workplan.status).where(Workplan.year == 2026)) is WorkplanStatus.DRAFT
    assert db.session.scalar(sa.select(sa.func.count()).where(AuditEvent.action == "workplan.adopt")) == 2


# --- pages -------------------------------------------------------------------------------------


def test_year_page_shows_clusters_statuses_progress_and_overdue(app, curator, login_as, client):
    past = (date.today() - timedelta(days=3)).isoformat()
    create(curator, title="Late one", due_date=past, status="delayed", progress=30)
    create(curator, title="Done one", due_date=past, status="delivered", progress=100, cluster="innovation")
    login_as(curator)
    page = client.get("/workplan/").get_data(as_text=True)
    assert "Policy development and implementation" in page and "Innovation" in page
    assert "Delayed" in page and "Delivered" in page
    assert '<progress class="pax-wp-progress__bar" max="100" value="30"' in page and "30 %" in page
    assert page.count("Overdue") == 1  # the delivered one is not overdue
    assert "1 overdue" in page
    assert ' style="' not in page


def test_item_page_lists_only_deliverables_the_viewer_may_see(app, curator, make, login_as, client):
    from app.clusters.services import publish_post
    from app.clusters.validation import parse_post

    item = create(curator)
    author = make.user(clusters={"policy": "contributor"})
    for title, tlp in (("Open deliverable", "GREEN"), ("Secret deliverable", "RED")):
        raw = {"type": "deliverable", "cluster": "policy", "title": title, "body": "x", "tlp": tlp}
        publish_post(author, parse_post({**raw, "workplan_item_id": item.id}))
    db.session.commit()
    login_as(curator)
    page = client.get(f"/workplan/items/{item.id}").get_data(as_text=True)
    assert "Open deliverable" in page and "Secret deliverable" not in page
    export = client.get("/workplan/2026/export.csv").get_data(as_text=True)
    assert list(csv.reader(io.StringIO(export.lstrip("\ufeff"))))[1][-1] == "1"


def test_timeline_svg_parses_and_holds_every_item_with_overdue_marked(app, curator, login_as, client):
    past = (date.today() - timedelta(days=10)).isoformat()
    a = create(curator, title="Overdue <&> item", due_date=past, status="in_progress")
    future = (date.today() + timedelta(days=30)).isoformat()
    b = create(curator, title="Future item", due_date=future, cluster="innovation")
    c = create(curator, title="Undated item")
    login_as(curator)
    page = client.get("/workplan/2026/timeline").get_data(as_text=True)
    assert ' style="' not in page
    svg_text = re.search(r'<svg xmlns="http://www.w3.org/2000/svg" class="pax-tl__svg".*?</svg>', page, re.S).group(0)
    svg = ET.fromstring(svg_text)  # noqa: S314 (the portal's own output)
    assert svg.get("role") == "img" and svg.find(f"{SVG}title") is not None and svg.find(f"{SVG}desc") is not None
    rows = {int(g.get("data-item-id")): g for g in svg.iter(f"{SVG}g") if g.get("data-item-id")}
    assert set(rows) == {a.id, b.id, c.id}
    assert "pax-tl__row--overdue" in rows[a.id].get("class")
    assert any(t.text == "overdue" for t in rows[a.id].iter(f"{SVG}text"))
    assert rows[a.id].find(f"{SVG}path") is not None  # a different shape, not only a colour
    assert "pax-tl__row--overdue" not in rows[b.id].get("class")
    assert rows[a.id].find(f"{SVG}title").text.startswith("Overdue <&> item")
    # and the same data as a table
    table = page[page.index('id="table-heading"') :]
    assert "Future item" in table and "Undated item" in table and "Overdue" in table


# --- exports -------------------------------------------------------------------------------------


def _items_for_export(curator, leads):  # type: ignore[no-untyped-def]
    past = (date.today() - timedelta(days=5)).isoformat()
    create(curator, title='=HYPERLINK("http://evil.example","x")', due_date="2099-04-01", progress=20)
    create(curator, title="-2+3", lead_organisations=[leads[0].name], due_date=past, status="planned")
    create(curator, title="@SUM(A1)", cluster="innovation", status="delivered", progress=100)
    create(curator, title="Next year", year=2027)


EXPECTED_HEADER = [
    "Year",
    "Cluster",
    "Title",
    "Lead organisations",
    "Due date",
    "Status",
    "Progress (%)",
    "Overdue",
    "Deliverables",
]


def test_csv_export_holds_exactly_the_year_and_neutralises_formulas(app, curator, leads, login_as, client):
    _items_for_export(curator, leads)
    login_as(curator)
    response = client.get("/workplan/2026/export.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert 'filename="workplan-2026.csv"' in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0] == EXPECTED_HEADER
    body = {r[2]: r for r in rows[1:]}
    assert len(rows) == 4 and set(body) == {'\'=HYPERLINK("http://evil.example","x")', "'-2+3", "'@SUM(A1)"}
    assert all(r[0] == "2026" for r in rows[1:])
    late = body["'-2+3"]
    assert late[1] == "Policy development and implementation" and late[3] == "Port of Testport"
    assert late[5] == "Planned" and late[6] == "0" and late[7] == "yes" and late[8] == "0"
    assert body["'@SUM(A1)"][7] == "no" and body["'@SUM(A1)"][4] == ""
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)


def test_xlsx_export_opens_and_holds_the_same_rows(app, curator, leads, login_as, client):
    _items_for_export(curator, leads)
    login_as(curator)
    response = client.get("/workplan/2026/export.xlsx")
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    sheet = book.active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[0] == EXPECTED_HEADER and len(rows) == 4
    body = {r[2]: r for r in rows[1:]}
    first = body['\'=HYPERLINK("http://evil.example","x")']
    assert first[0] == 2026 and first[4].date() == date(2099, 4, 1) and first[6] == 20 and first[7] == "no"
    assert body["'-2+3"][7] == "yes"
    assert not any(isinstance(c, str) and c.startswith(("=", "+", "-", "@")) for r in rows for c in r)
    for row in sheet.iter_rows(min_row=2):
        assert all(cell.data_type != "f" for cell in row)


def test_unknown_year_is_404(app, curator, login_as, client):
    create(curator)
    login_as(curator)
    for url in ("/workplan/1999", "/workplan/2030", "/workplan/2030/export.csv", "/workplan/99999999/timeline"):
        assert client.get(url).status_code == 404


# --- hostile input -------------------------------------------------------------------------------

BAD_FIELDS = [
    ({"title": "x" * 5000}, "title"),
    ({"title": ""}, "title"),
    ({"title": "bad\x07bell"}, "title"),
    ({"due_date": "2026-02-30"}, "due_date"),
    ({"due_date": "tomorrow"}, "due_date"),
    ({"due_date": "99999-01-01"}, "due_date"),
    ({"progress": "-1"}, "progress"),
    ({"progress": "101"}, "progress"),
    ({"progress": "abc"}, "progress"),
    ({"progress": "1e2"}, "progress"),
    ({"status": "done"}, "status"),
    ({"cluster": "no-such-cluster"}, "cluster"),
    ({"lead_organisations": ["Nobody Ltd"]}, "lead_organisations"),
    ({"year": "1999"}, "year"),
    ({"year": "twenty"}, "year"),
]


@pytest.mark.parametrize("bad,field", BAD_FIELDS, ids=[f for _b, f in BAD_FIELDS])
def test_hostile_form_input_gives_form_errors(app, curator, login_as, client, bad, field):
    from app.workplan.models import WorkplanItem

    login_as(curator)
    token = csrf_token_from(client.get("/workplan/items/new").get_data(as_text=True))
    data = {"year": "2026", "cluster": "policy", "title": "T", "status": "planned", "progress": "0", **bad}
    response = client.post("/workplan/items/new", data={**data, "csrf_token": token})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Nothing was saved" in page and f'href="#{field}"' in page
    assert db.session.scalar(sa.select(sa.func.count(WorkplanItem.id))) == 0


API_BAD = [
    *[({**{k: v for k, v in b.items()}}, f) for b, f in BAD_FIELDS if f not in ("progress", "year")],
    ({"progress": -1}, "progress"),
    ({"progress": 101}, "progress"),
    ({"progress": "abc"}, "progress"),
    ({"progress": 50.5}, "progress"),
    ({"progress": True}, "progress"),
    ({"year": 1999}, "year"),
    ({"year": "2026x"}, "year"),
    ({"title": 5}, "title"),
    ({"title": ["a"]}, "title"),
    ({"lead_organisations": "Port of Testport"}, "lead_organisations"),
    ({"lead_organisations": [1, 2]}, "lead_organisations"),
    ({"due_date": 20260101}, "due_date"),
    ({"status": None}, "status"),
    ({"cluster": {"slug": "policy"}}, "cluster"),
    ({"colour": "red"}, "_"),
]


def test_hostile_api_input_gives_422_with_fields_never_500(app, curator, document, client):
    from app.workplan.models import WorkplanItem

    check = Conformance(document)
    headers = bearer(curator)
    base = {"year": 2026, "cluster": "policy", "title": "T"}
    for bad, field in API_BAD:
        response = check.check(
            client.post("/api/v1/workplan/items", json={**base, **bad}, headers=headers), "/workplan/items", "POST"
        )
        assert response.status_code == 422, (bad, response.get_json())
        assert field in response.get_json()["error"]["fields"], (bad, response.get_json())
    for body in ("[]", '"text"', "3", "null", "{", ""):
        response = client.post("/api/v1/workplan/items", data=body, content_type="application/json", headers=headers)
        check.check(response, "/workplan/items", "POST")
        assert response.status_code in (400, 422)
    item = create(curator)
    for bad, _field in API_BAD:
        if "title" in bad and bad["title"] == "":
            continue
        url = f"/api/v1/workplan/items/{item.id}"
        response = check.check(client.patch(url, json=bad, headers=headers), "/workplan/items/{item_id}", "PATCH")
        assert response.status_code == 422, (bad, response.get_json())
    assert db.session.scalar(sa.select(sa.func.count(WorkplanItem.id))) == 1


# --- API -----------------------------------------------------------------------------------------


@pytest.fixture
def document(client) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return client.get("/api/v1/openapi.json").get_json()


def test_api_operations_match_the_document(app, client, document, curator, coordinator, leads, make):
    check = Conformance(document)
    write, read = bearer(curator), bearer(curator, "read")
    coord = bearer(coordinator)
    member = bearer(make.user(clusters={"policy": "contributor"}))

    check.check(client.get("/api/v1/workplan", headers=read), "/workplan")  # 404: none yet
    body = {
        "year": 2026,
        "cluster": "policy",
        "title": "Vetting guidance",
        "description": "Text.",
        "lead_organisations": [leads[0].name],
        "due_date": "2026-09-30",
        "status": "planned",
        "progress": 0,
    }
    created = check.check(client.post("/api/v1/workplan/items", json=body, headers=write), "/workplan/items", "POST")
    assert created.status_code == 201
    item = created.get_json()
    assert created.headers["Location"].endswith(f"/api/v1/workplan/items/{item['id']}")
    assert item["lead_organisations"] == [leads[0].name] and item["history"][0]["field"] == "created"
    check.check(client.post("/api/v1/workplan/items", json=body, headers=member), "/workplan/items", "POST")
    check.check(client.post("/api/v1/workplan/items", json=body, headers=read), "/workplan/items", "POST")
    check.check(client.post("/api/v1/workplan/items", json=body), "/workplan/items", "POST")
    check.check(client.post("/api/v1/workplan/items", data="x", content_type="text/plain", headers=write),
                "/workplan/items", "POST")  # fmt: skip

    whole = check.check(client.get("/api/v1/workplan", headers=read), "/workplan").get_json()
    assert whole["year"] == 2026 and whole["status"] == "draft" and [i["id"] for i in whole["items"]] == [item["id"]]
    check.check(client.get("/api/v1/workplan?year=2026", headers=read), "/workplan")
    check.check(client.get("/api/v1/workplan?year=abc", headers=read), "/workplan")
    check.check(client.get("/api/v1/workplan?year=2031", headers=read), "/workplan")
    check.check(client.get("/api/v1/workplan"), "/workplan")

    one = "/workplan/items/{item_id}"
    url = f"/api/v1/workplan/items/{item['id']}"
    check.check(client.get(url, headers=read), one)
    check.check(client.get("/api/v1/workplan/items/999999", headers=read), one)
    check.check(client.get("/api/v1/workplan/items/abc", headers=read), one)
    check.check(client.get(url), one)

    patched = check.check(
        client.patch(url, json={"status": "in_progress", "progress": 30}, headers=coord), one, "PATCH"
    )
    assert patched.status_code == 200
    history = patched.get_json()["history"]
    assert [(h["field"], h["old_value"], h["new_value"], h["actor"]) for h in history[:2]] == [
        ("progress", "0 %", "30 %", coordinator.name),
        ("status", "Planned", "In progress", coordinator.name),
    ]
    refused = check.check(client.patch(url, json={"title": "Mine", "progress": 40}, headers=coord), one, "PATCH")
    assert refused.status_code == 403
    assert check.check(client.patch(url, json={"progress": 40}, headers=member), one, "PATCH").status_code == 403
    check.check(client.patch(url, json={"title": "Renamed", "due_date": None}, headers=write), one, "PATCH")
    check.check(client.patch(url, json={"progress": 400}, headers=write), one, "PATCH")
    check.check(client.patch(url, data="[", content_type="application/json", headers=write), one, "PATCH")
    check.check(client.patch(url, data="x", content_type="text/plain", headers=write), one, "PATCH")
    check.check(client.patch(url, json={}, headers=read), one, "PATCH")
    check.check(client.patch("/api/v1/workplan/items/999999", json={}, headers=write), one, "PATCH")
    check.check(client.patch(url, json={"title": "x"}), one, "PATCH")
    final = client.get(url, headers=read).get_json()
    assert final["title"] == "Renamed" and final["due_date"] is None and final["progress"] == 30

    ours = {(p, m) for p, m, _s in check.seen}
    documented = {(p, m) for p, item_ in document["paths"].items() if p.startswith("/workplan") for m in item_}
    documented -= {(p, "parameters") for p, _m in documented}
    assert ours == documented


def test_api_deliverables_are_filtered_by_visibility(app, client, curator, make):
    from app.clusters.services import publish_post
    from app.clusters.validation import parse_post

    item = create(curator)
    author = make.user(clusters={"policy": "contributor"})
    ids = {}
    for title, tlp in (("Open", "GREEN"), ("Secret", "RED")):
        raw = {"type": "deliverable", "cluster": "policy", "title": title, "body": "x", "tlp": tlp}
        ids[title] = publish_post(author, parse_post({**raw, "workplan_item_id": item.id})).id
    db.session.commit()
    data = client.get("/api/v1/workplan", headers=bearer(curator, "read")).get_json()
    assert data["items"][0]["deliverables"] == [ids["Open"]]
    mine = client.get(f"/api/v1/workplan/items/{item.id}", headers=bearer(author, "read")).get_json()
    assert sorted(mine["deliverables"]) == sorted(ids.values())


# --- demo ----------------------------------------------------------------------------------------


def test_demo_details_are_idempotent_and_include_an_overdue_item(app, runner):
    from app.demo import load_demo
    from app.workplan.demo import load_workplan_demo
    from app.workplan.models import WorkplanItem, WorkplanItemChange

    load_demo()
    db.session.commit()
    created: dict[str, int] = {}
    load_workplan_demo(created)
    db.session.commit()
    changes = db.session.scalar(sa.select(sa.func.count(WorkplanItemChange.id)))
    again: dict[str, int] = {}
    load_workplan_demo(again)
    db.session.commit()
    assert again == {} and db.session.scalar(sa.select(sa.func.count(WorkplanItemChange.id))) == changes
    items = db.session.scalars(sa.select(WorkplanItem)).all()
    assert all(i.leads for i in items) and changes >= 8
    assert any(i.is_overdue(date(2026, 3, 1)) for i in items)


def _meeting(author, tlp: str):  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    from app.markings import Tlp
    from app.meetings.models import Meeting, MeetingKind

    meeting = Meeting(
        kind=MeetingKind.SENIOR_OFFICIALS,
        title=f"Senior Officials {tlp}",
        starts_at=datetime(2026, 2, 1, 9, tzinfo=UTC),
        ends_at=datetime(2026, 2, 1, 17, tzinfo=UTC),
        location="Brussels",
        tlp=Tlp(tlp),
        author=author,
        author_org_id=author.organisation_id,
    )
    db.session.add(meeting)
    db.session.commit()
    return meeting


def test_adopting_meeting_is_named_only_to_those_who_see_it(app, curator, make, login_as, client):
    from app.validation import ValidationError
    from app.workplan.models import Workplan
    from app.workplan.services import adopt_workplan

    create(curator)
    organiser = make.user(role="curator", org_type="commission")
    open_meeting, secret = _meeting(organiser, "GREEN"), _meeting(organiser, "RED")
    workplan = db.session.scalar(sa.select(Workplan).where(Workplan.year == 2026))
    with pytest.raises(ValidationError):
        adopt_workplan(curator, workplan, secret, date(2026, 2, 1))
    db.session.rollback()
    adopt_workplan(curator, workplan, open_meeting, date(2026, 2, 1))
    db.session.commit()
    login_as(curator)
    page = client.get("/workplan/2026").get_data(as_text=True)
    assert "Senior Officials GREEN" in page
    if "meetings.show" in app.view_functions:
        assert f'href="/meetings/{open_meeting.id}"' in page
    form = client.get("/workplan/2026/adopt").get_data(as_text=True)
    assert "Senior Officials GREEN" in form and "Senior Officials RED" not in form
    # The organiser's RED meeting adopted it: others are not told which meeting it was.
    adopt_workplan(organiser, workplan, secret, date(2026, 2, 2))
    db.session.commit()
    page = client.get("/workplan/2026").get_data(as_text=True)
    assert "Senior Officials RED" not in page and "at a meeting" in page
    data = client.get("/api/v1/workplan", headers=bearer(curator, "read")).get_json()
    assert data["status"] == "adopted" and data["adopted_at_meeting_id"] is None


def test_empty_index_new_item_form_and_print_page(app, curator, make, login_as, client):
    login_as(curator)
    empty = client.get("/workplan/")
    assert empty.status_code == 200 and "No workplan yet" in empty.get_data(as_text=True)
    form = client.get("/workplan/items/new?year=2027").get_data(as_text=True)
    assert 'value="2027"' in form and 'name="lead_organisations"' in form
    token = csrf_token_from(form)
    data = {"year": "2027", "cluster": "innovation", "title": "Drone detection", "status": "planned", "progress": "5"}
    response = client.post("/workplan/items/new", data={**data, "csrf_token": token})
    assert response.status_code == 302
    printable = client.get("/workplan/2027/print").get_data(as_text=True)
    assert "Drone detection" in printable and "ecl-site-header" not in printable and ' style="' not in printable
    assert "Workplan 2027" in client.get("/workplan/").get_data(as_text=True)
