"""Meetings over /api/v1: create, read, change, delete, documents, and every answer checked against
the OpenAPI document (the ``Conformance`` checker of ``test_api_openapi``)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import sqlalchemy as sa

from app.extensions import db
from tests.test_api_openapi import Conformance
from tests.test_api_posts import bearer
from tests.test_meetings import CLUSTER, technical, upload


@pytest.fixture
def document(client) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return client.get("/api/v1/openapi.json").get_json()  # type: ignore[no-any-return]


@pytest.fixture
def coordinator(make):  # type: ignore[no-untyped-def]
    return make.user(clusters={CLUSTER: "coordinator"})


@pytest.fixture
def curator(make):  # type: ignore[no-untyped-def]
    return make.user(role="curator", org_type="commission")


# --- API ---------------------------------------------------------------------------------------------


def test_api_create_read_patch(coordinator, client):
    headers = bearer(coordinator)
    created = client.post("/api/v1/meetings", json=technical(), headers=headers)
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert created.headers["Location"].endswith(f"/api/v1/meetings/{body['id']}")
    assert body["starts_at"] == "2027-03-02T08:30:00+00:00" and [a["position"] for a in body["agenda"]] == [1, 2]
    upload(client, f"/api/v1/meetings/{body['id']}/documents", b"notes", "n.txt", title="Notes",
           agenda_item_id=str(body["agenda"][1]["id"]), headers=headers)  # fmt: skip
    got = client.get(f"/api/v1/meetings/{body['id']}", headers=headers).get_json()
    assert (
        got["documents"][0]["filename"] == "n.txt" and got["documents"][0]["agenda_item_id"] == body["agenda"][1]["id"]
    )
    patched = client.patch(f"/api/v1/meetings/{body['id']}", json={"tlp": "AMBER", "agenda": [{"title": "Only"}]},
                           headers=headers)  # fmt: skip
    assert patched.status_code == 200, patched.get_json()
    assert patched.get_json()["documents"][0]["tlp"] == "AMBER"  # documents follow a stricter meeting
    assert patched.get_json()["documents"][0]["agenda_item_id"] is None
    listed = client.get("/api/v1/meetings?cluster=policy&kind=technical&from=2027-03-02&to=2027-03-02", headers=headers)
    assert [m["id"] for m in listed.get_json()["items"]] == [body["id"]]
    for query in ("from=tomorrow", "kind=party", "cluster=nope", "per_page=1000", "to=2027-03-02T09:00:00"):
        assert client.get(f"/api/v1/meetings?{query}", headers=headers).status_code == 422


@pytest.mark.parametrize(
    "body",
    [
        technical(starts_at="2027-03-02T09:30:00"),
        technical(ends_at="2027-03-01T09:30:00+01:00"),
        technical(title="x" * 5000),
        technical(kind="party"),
        technical(cluster="nope"),
        technical(kind="ministerial"),
        technical(agenda=[{"title": 5}]),
        technical(tlp=["GREEN"]),
        technical(online="true", location=""),
        technical(recipient_orgs=["No such org"]),
        [1, 2],
    ],
)
def test_api_refuses_hostile_bodies_with_422(curator, client, body):
    from app.meetings.models import Meeting

    response = client.post("/api/v1/meetings", data=json.dumps(body), content_type="application/json",
                           headers=bearer(curator))  # fmt: skip
    assert response.status_code == 422, response.get_json()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Meeting)) == 0


def test_api_responses_match_the_openapi_document(make, coordinator, curator, client, document):
    check = Conformance(document)
    write, read, other = bearer(coordinator), bearer(coordinator, "read"), bearer(make.user())
    made = check.check(client.post("/api/v1/meetings", json=technical(), headers=write), "/meetings", "POST")
    mid = made.get_json()["id"]
    check.check(client.post("/api/v1/meetings", json=technical(kind="ministerial", cluster=None), headers=write),
                "/meetings", "POST")  # fmt: skip
    check.check(client.post("/api/v1/meetings", json=technical(tlp="x"), headers=write), "/meetings", "POST")
    check.check(
        client.post("/api/v1/meetings", data="x", content_type="text/plain", headers=write), "/meetings", "POST"
    )
    check.check(client.post("/api/v1/meetings", json=technical(), headers=read), "/meetings", "POST")
    check.check(client.get("/api/v1/meetings", headers=read), "/meetings")
    check.check(client.get("/api/v1/meetings?kind=x", headers=read), "/meetings")
    check.check(client.get("/api/v1/meetings"), "/meetings")
    one = "/meetings/{meeting_id}"
    check.check(client.get(f"/api/v1/meetings/{mid}", headers=read), one)
    check.check(client.get("/api/v1/meetings/999999", headers=read), one)
    check.check(client.patch(f"/api/v1/meetings/{mid}", json={"minutes": "# M"}, headers=write), one, "PATCH")
    check.check(client.patch(f"/api/v1/meetings/{mid}", json={"ends_at": "x"}, headers=write), one, "PATCH")
    check.check(client.patch(f"/api/v1/meetings/{mid}", json={}, headers=other), one, "PATCH")
    docs = "/meetings/{meeting_id}/documents"
    url = f"/api/v1/meetings/{mid}/documents"
    doc = check.check(upload(client, url, b"text", title="T", headers=write), docs, "POST").get_json()
    check.check(upload(client, url, b"<html>", "a.html", headers=write), docs, "POST")
    check.check(upload(client, url, b"x", tlp="CLEAR", headers=write), docs, "POST")
    check.check(upload(client, url, b"x", headers=other), docs, "POST")
    check.check(client.post(url, json={}, headers=write), docs, "POST")
    file = "/meeting-documents/{document_id}"
    check.check(client.get(f"/api/v1/meeting-documents/{doc['id']}", headers=read), file)
    check.check(client.get(f"/api/v1/meeting-documents/{doc['id']}", headers={**read, "Range": "bytes=0-1"}), file)
    check.check(client.get("/api/v1/meeting-documents/999999", headers=read), file)
    check.check(client.delete(f"/api/v1/meeting-documents/{doc['id']}", headers=other), file, "DELETE")
    check.check(client.delete(f"/api/v1/meeting-documents/{doc['id']}", headers=write), file, "DELETE")
    check.check(client.delete(f"/api/v1/meetings/{mid}", headers=write), one, "DELETE")
    check.check(client.delete(f"/api/v1/meetings/{mid}", headers=bearer(curator)), one, "DELETE")
    mine = {(p, m) for p, m, s in check.seen if s.startswith("2")}
    ours = {(p, m) for p, item in check.document["paths"].items() for m in item if m != "parameters"
            if p.startswith(("/meetings", "/meeting-documents")) and not p.endswith("/pack")}  # fmt: skip
    assert mine == ours


def test_document_positions_are_counted_among_what_the_caller_may_see(make, client):
    """A withheld document leaves no gap: the API's positions are 1, 2, 3... among the documents
    the caller may see, as packs number them, so nobody learns where withheld ones sit."""
    from tests.test_packs import add_document, make_meeting

    organiser = make.user(role="curator", org_type="commission", clusters={"policy": "coordinator"})
    reader = make.user(org_type="port_authority", clusters={"policy": "reader"})
    meeting = make_meeting(organiser)
    opening = add_document(meeting, 2, "Risk register", b"a", "a.txt", order=1)
    withheld = add_document(
        meeting, 2, "Informant report", b"b", "b.txt", tlp="AMBER", law_enforcement_only=True, order=2
    )
    closing = add_document(meeting, 2, "Mitigations", b"c", "c.txt", order=3)
    db.session.commit()

    listed = client.get(f"/api/v1/meetings/{meeting.id}", headers=bearer(reader)).get_json()["documents"]
    assert [(d["id"], d["position"]) for d in listed] == [(opening.id, 1), (closing.id, 2)]
    everything = client.get(f"/api/v1/meetings/{meeting.id}", headers=bearer(organiser)).get_json()["documents"]
    assert [(d["id"], d["position"]) for d in everything] == [(opening.id, 1), (withheld.id, 2), (closing.id, 3)]
    # One document's answer (after an upload) counts the same way.
    from app.meetings.queries import document_row

    assert document_row(reader, closing, None).position == 2
    assert document_row(organiser, closing, None).position == 3
