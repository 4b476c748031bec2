"""Posts over /api/v1: what a member system, or someone probing it, sees.

Every refused request must leave the number of posts unchanged and never answer 500.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from app.clusters.models import Cluster, Post
from app.clusters.validation import parse_post
from app.extensions import db
from app.validation import ValidationError

CLUSTER = "operational-cooperation"


def bearer(user, scope: str = "write") -> dict[str, str]:  # type: ignore[no-untyped-def]
    from app.auth.tokens import create_token

    _token, secret = create_token(user, f"test-{scope}", scope, 30)
    db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


def post_count() -> int:
    db.session.commit()  # end this test's read transaction: see what the requests committed
    return db.session.scalar(sa.select(sa.func.count(Post.id))) or 0


def best_practice(**overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "type": "best_practice",
        "cluster": CLUSTER,
        "title": "Seal checks at the gate",
        "body": "Check **every** container against the manifest.",
        "tlp": "GREEN",
        "tags": ["Gate", "#Checks"],
    }
    payload.update(overrides)
    return payload


def incident_note(**incident: Any) -> dict[str, Any]:
    details: dict[str, Any] = {
        "port_locode": "BEANR",
        "occurred_on": "2024-03-01",
        "modus_operandi": "rip_on_rip_off",
        "substance": "cocaine",
        "quantity_kg": 120.5,
        "container_numbers": ["CSQU3054383"],
        "vessel_imo": "9074729",
    }
    details.update(incident)
    return {
        "type": "incident_note",
        "cluster": CLUSTER,
        "title": "Rip-on/rip-off at quay 1742",
        "body": "Bags found behind the doors.",
        "tlp": "AMBER",
        "incident": details,
    }


@pytest.fixture
def author(make):  # type: ignore[no-untyped-def]
    return make.user(clusters={CLUSTER: "contributor"}, org_type="police")


@pytest.fixture
def headers(author):  # type: ignore[no-untyped-def]
    return bearer(author)


def create(client, headers, payload):  # type: ignore[no-untyped-def]
    response = client.post("/api/v1/posts", json=payload, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


# --- round trips ---------------------------------------------------------------------------------


def test_create_read_list_patch_delete_round_trip(client, author, headers):
    response = client.post("/api/v1/posts", json=best_practice(), headers=headers)
    assert response.status_code == 201
    created = response.get_json()
    assert response.headers["Location"] == f"/api/v1/posts/{created['id']}"
    assert created["type"] == "best_practice" and created["cluster"] == CLUSTER
    assert created["tags"] == ["checks", "gate"]
    assert created["author"] == {"name": author.name, "organisation": author.organisation.name}
    assert created["organisation"] == author.organisation.name
    assert created["version"] == 1 and created["incident"] is None
    assert created["body_html"] == "<p>Check <strong>every</strong> container against the manifest.</p>\n"
    assert created["url"] == f"/posts/{created['id']}"
    assert created["created_at"].endswith("+00:00")

    location = response.headers["Location"]
    assert client.get(location, headers=headers).get_json() == created
    listed = client.get("/api/v1/posts", headers=headers).get_json()
    assert [p["id"] for p in listed["items"]] == [created["id"]]
    assert listed["total"] == 1 and listed["page"] == 1 and listed["per_page"] == 20

    patched = client.patch(location, json={"title": "Seal checks at every gate"}, headers=headers)
    assert patched.status_code == 200
    assert patched.get_json()["title"] == "Seal checks at every gate"
    assert patched.get_json()["version"] == 2
    assert patched.get_json()["body"] == created["body"]
    assert client.get(location, headers=headers).get_json()["title"] == "Seal checks at every gate"

    deleted = client.delete(location, headers=headers)
    assert deleted.status_code == 204 and deleted.data == b""
    assert client.get(location, headers=headers).status_code == 404
    assert client.get("/api/v1/posts", headers=headers).get_json()["items"] == []
    assert post_count() == 0


def test_incident_note_identifiers_are_stored_compact(client, headers):
    created = create(
        client,
        headers,
        incident_note(
            container_numbers=["csqu 305438 3", "MSKU 907032 3"], vessel_imo="IMO 9074729", quantity_kg="7.25"
        ),
    )
    assert created["incident"] == {
        "port_locode": "BEANR",
        "occurred_on": "2024-03-01",
        "modus_operandi": "rip_on_rip_off",
        "substance": "cocaine",
        "quantity_kg": 7.25,
        "container_numbers": ["CSQU3054383", "MSKU9070323"],
        "vessel_imo": "9074729",
    }


def test_deliverable_needs_an_item_of_the_same_cluster(client, headers):
    from app.workplan.models import WorkplanItem
    from app.workplan.services import workplan_of

    cluster = db.session.scalar(sa.select(Cluster).where(Cluster.slug == CLUSTER))
    other = db.session.scalar(sa.select(Cluster).where(Cluster.slug == "policy"))
    plan = workplan_of(2025)
    item = WorkplanItem(cluster_id=cluster.id, workplan=plan, title="Guidance on seals")
    elsewhere = WorkplanItem(cluster_id=other.id, workplan=plan, title="Policy paper")
    db.session.add_all([item, elsewhere])
    db.session.commit()
    deliverable = best_practice(type="deliverable", workplan_item_id=item.id)
    assert create(client, headers, deliverable)["workplan_item_id"] == item.id
    for item_id in (elsewhere.id, None, 2**31 - 1, 2**31, 10**30):
        response = client.post("/api/v1/posts", json={**deliverable, "workplan_item_id": item_id}, headers=headers)
        assert response.status_code == 422, item_id
        assert "workplan_item_id" in response.get_json()["error"]["fields"]
    assert post_count() == 1


def test_patch_keeps_unsent_fields_and_a_no_op_makes_no_version(client, headers):
    post = create(client, headers, incident_note())
    url = f"/api/v1/posts/{post['id']}"
    same = client.patch(url, json={}, headers=headers).get_json()
    assert same["version"] == 1
    changed = client.patch(url, json={"incident": {**post["incident"], "substance": "heroin"}}, headers=headers)
    assert changed.status_code == 200
    assert changed.get_json()["incident"]["substance"] == "heroin"
    assert changed.get_json()["incident"]["container_numbers"] == ["CSQU3054383"]
    assert changed.get_json()["version"] == 2
    # Changing the type drops the incident only when told to.
    refused = client.patch(url, json={"type": "best_practice"}, headers=headers)
    assert refused.status_code == 422 and "incident" in refused.get_json()["error"]["fields"]
    retyped = client.patch(url, json={"type": "best_practice", "incident": None}, headers=headers)
    assert retyped.status_code == 200 and retyped.get_json()["incident"] is None


def test_failed_patch_changes_nothing(client, headers):
    post = create(client, headers, best_practice(tags=["seals"]))
    url = f"/api/v1/posts/{post['id']}"
    response = client.patch(url, json={"title": "New title", "tlp": "PURPLE"}, headers=headers)
    assert response.status_code == 422
    assert set(response.get_json()["error"]["fields"]) == {"tlp"}
    assert client.get(url, headers=headers).get_json() == post


def test_focal_point_of_the_authors_organisation_may_edit_and_delete(client, make, author, headers):
    post = create(client, headers, best_practice())
    focal = make.user(org=author.organisation, focal_point=True)
    url = f"/api/v1/posts/{post['id']}"
    assert client.patch(url, json={"title": "Edited by the focal point"}, headers=bearer(focal)).status_code == 200
    assert client.delete(url, headers=bearer(focal)).status_code == 204


# --- who may do what -----------------------------------------------------------------------------


def test_hidden_post_is_404_for_every_method_like_a_missing_one(client, make, author, headers):
    recipient = make.user(clusters={CLUSTER: "reader"})
    red = create(client, headers, best_practice(tlp="RED", recipient_users=[recipient.email]))
    outsider = bearer(make.user(clusters={CLUSTER: "coordinator"}))
    missing = red["id"] + 1000
    for method in ("GET", "PATCH", "DELETE"):
        for post_id in (red["id"], missing):
            response = client.open(f"/api/v1/posts/{post_id}", method=method, json={"title": "x"}, headers=outsider)
            assert response.status_code == 404, (method, post_id)
            assert response.get_json() == {
                "error": {
                    "code": "not_found",
                    "message": "There is nothing here, or you do not have access to it.",
                    "fields": {},
                }
            }
    assert client.get(f"/api/v1/posts/{red['id']}", headers=bearer(recipient)).status_code == 200
    assert post_count() == 1
    listed = client.get("/api/v1/posts", headers=outsider).get_json()
    assert listed["items"] == [] and listed["total"] == 0
    assert client.get("/api/v1/search?q=seal", headers=outsider).get_json()["total"] == 0


def test_visible_post_that_is_not_yours_is_403_to_change(client, make, headers):
    post = create(client, headers, best_practice())
    other = bearer(make.user(clusters={CLUSTER: "contributor"}))
    url = f"/api/v1/posts/{post['id']}"
    assert client.get(url, headers=other).status_code == 200
    for method in ("PATCH", "DELETE"):
        response = client.open(url, method=method, json={"title": "Taken over"}, headers=other)
        assert response.status_code == 403
        assert response.get_json()["error"]["code"] == "forbidden"
    assert client.get(url, headers=other).get_json() == post


def test_read_token_cannot_write(client, author, headers):
    post = create(client, headers, best_practice())
    read = bearer(author, "read")
    url = f"/api/v1/posts/{post['id']}"
    for method, path in (("POST", "/api/v1/posts"), ("PATCH", url), ("DELETE", url)):
        response = client.open(path, method=method, json=best_practice(), headers=read)
        assert response.status_code == 403, method
        assert "scope" in response.get_json()["error"]["message"]
    assert post_count() == 1


def test_cluster_readers_and_non_members_cannot_post(client, make):
    for clusters in ({CLUSTER: "reader"}, {}):
        response = client.post("/api/v1/posts", json=best_practice(), headers=bearer(make.user(clusters=clusters)))
        assert response.status_code == 403
        assert "contributors" in response.get_json()["error"]["message"]
    assert post_count() == 0


def test_no_token_is_401(client):
    for method in ("GET", "POST"):
        response = client.open("/api/v1/posts", method=method, json=best_practice())
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("path", ["abc", "0", "-1", "1.5", "99999999999999999999", str(2**31), "%C3%A9"])
def test_post_ids_that_name_nothing_are_404(client, headers, path):
    for method in ("GET", "PATCH", "DELETE"):
        response = client.open(f"/api/v1/posts/{path}", method=method, json={}, headers=headers)
        assert response.status_code == 404, (method, path)
        assert response.get_json()["error"]["code"] == "not_found"


def test_control_characters_in_the_path_never_reach_the_database(client, headers):
    # Routing refuses them: the catch-all answers 404 whatever the method (as the OpenAPI document says).
    for method, status in (("GET", 404), ("PATCH", 404), ("DELETE", 404)):
        response = client.open("/api/v1/posts/1%00", method=method, json={}, headers=headers)
        assert response.status_code == status, method
        assert response.is_json


# --- hostile and malformed input -----------------------------------------------------------------

HOSTILE: list[tuple[str, dict[str, Any], str]] = [
    ("title not text", best_practice(title=123), "title"),
    ("title empty", best_practice(title="   "), "title"),
    ("title too long", best_practice(title="x" * 201), "title"),
    ("title with NUL", best_practice(title="a\x00b"), "title"),
    ("title with control character", best_practice(title="line\nbreak"), "title"),
    ("title lone surrogate", best_practice(title="\ud800"), "title"),
    ("body too long", best_practice(body="a" * 100_001), "body"),
    ("body not text", best_practice(body=["a"]), "body"),
    ("body with NUL", best_practice(body="a\x00"), "body"),
    ("tags not a list", best_practice(tags="x"), "tags"),
    ("tag with spaces and symbols", best_practice(tags=["<script>"]), "tags"),
    ("too many tags", best_practice(tags=[f"t{n}" for n in range(11)]), "tags"),
    ("law_enforcement_only as text", best_practice(law_enforcement_only="yes"), "law_enforcement_only"),
    ("law_enforcement_only as number", best_practice(law_enforcement_only=1), "law_enforcement_only"),
    ("unknown type", best_practice(type="rumour"), "type"),
    ("type not text", best_practice(type=["best_practice"]), "type"),
    ("unknown tlp", best_practice(tlp="TLP:AMBER"), "tlp"),
    ("lower-case tlp", best_practice(tlp="green"), "tlp"),
    ("unknown cluster", best_practice(cluster="secret-cluster"), "cluster"),
    ("cluster not text", best_practice(cluster=4), "cluster"),
    ("cluster with NUL", best_practice(cluster="policy\x00"), "cluster"),
    ("unknown field", best_practice(admin=True), "_"),
    ("recipient orgs not a list", best_practice(tlp="AMBER", recipient_orgs="Europol"), "recipient_orgs"),
    ("unknown recipient org", best_practice(tlp="AMBER", recipient_orgs=["No Such Org"]), "recipient_orgs"),
    ("recipient org with NUL", best_practice(tlp="AMBER", recipient_orgs=["Org\x00"]), "recipient_orgs"),
    ("recipient orgs on GREEN", best_practice(recipient_orgs=["Anything"]), "recipient_orgs"),
    ("unknown recipient user", best_practice(tlp="RED", recipient_users=["nobody@x.example"]), "recipient_users"),
    ("recipient user with NUL", best_practice(tlp="RED", recipient_users=["a\x00@x.example"]), "recipient_users"),
    ("incident on a best practice", best_practice(incident=incident_note()["incident"]), "incident"),
    ("incident missing", {**incident_note(), "incident": None}, "incident"),
    ("incident as a list", {**incident_note(), "incident": []}, "incident"),
    ("incident as text", {**incident_note(), "incident": "BEANR"}, "incident"),
    ("incident unknown field", incident_note(captain="X"), "incident"),
    ("bad check digit", incident_note(container_numbers=["CSQU3054384"]), "incident.container_numbers"),
    ("container too short", incident_note(container_numbers=["CSQU305438"]), "incident.container_numbers"),
    ("container underscore", incident_note(container_numbers=["CS_U3054383"]), "incident.container_numbers"),
    ("container non-Latin", incident_note(container_numbers=["ÄSQU3054383"]), "incident.container_numbers"),
    (
        "container Arabic digits",
        incident_note(container_numbers=["CSQU" + "\u0663\u0660\u0665\u0664\u0663\u0668\u0663"]),
        "incident.container_numbers",
    ),
    ("containers not a list", incident_note(container_numbers="CSQU3054383"), "incident.container_numbers"),
    ("containers of numbers", incident_note(container_numbers=[3054383]), "incident.container_numbers"),
    ("invalid IMO", incident_note(vessel_imo="9074728"), "incident.vessel_imo"),
    ("IMO too long", incident_note(vessel_imo="90747290"), "incident.vessel_imo"),
    ("IMO as number", incident_note(vessel_imo=9074729), "incident.vessel_imo"),
    ("IMO with letters", incident_note(vessel_imo="IMOABCDEFG"), "incident.vessel_imo"),
    ("LOCODE unknown country", incident_note(port_locode="XXANR"), "incident.port_locode"),
    ("LOCODE trailing newline", incident_note(port_locode="BEANR\n"), "incident.port_locode"),
    ("LOCODE not text", incident_note(port_locode=5), "incident.port_locode"),
    ("date in the future", incident_note(occurred_on="2999-01-01"), "incident.occurred_on"),
    ("date not a date", incident_note(occurred_on="yesterday"), "incident.occurred_on"),
    ("date as number", incident_note(occurred_on=20240301), "incident.occurred_on"),
    ("unknown modus operandi", incident_note(modus_operandi="magic"), "incident.modus_operandi"),
    ("unknown substance", incident_note(substance="tea"), "incident.substance"),
    ("negative quantity", incident_note(quantity_kg=-1), "incident.quantity_kg"),
    ("quantity as text", incident_note(quantity_kg="lots"), "incident.quantity_kg"),
    ("quantity as boolean", incident_note(quantity_kg=True), "incident.quantity_kg"),
    ("quantity with two decimal commas", incident_note(quantity_kg="1,234,5"), "incident.quantity_kg"),
    ("quantity with comma and point", incident_note(quantity_kg="1,234.5"), "incident.quantity_kg"),
    ("quantity comma of thousands or decimals", incident_note(quantity_kg="1,234"), "incident.quantity_kg"),
    ("quantity too large", incident_note(quantity_kg=1e300), "incident.quantity_kg"),
    ("quantity huge integer", incident_note(quantity_kg=10**300), "incident.quantity_kg"),
    ("workplan item on a best practice", best_practice(workplan_item_id=1), "workplan_item_id"),
    ("workplan item as text", best_practice(type="deliverable", workplan_item_id="1"), "workplan_item_id"),
    ("workplan item as boolean", best_practice(type="deliverable", workplan_item_id=True), "workplan_item_id"),
]


@pytest.mark.parametrize(
    ("typed", "kg"),
    [("48,5", "48.5"), ("1234,5", "1234.5"), ("1 234,5", "1234.5"), ("1234.5", "1234.5"), ("0,125", "0.125")],
)
def test_quantity_accepts_a_decimal_comma(typed, kg):
    post = parse_post(incident_note(quantity_kg=typed))
    assert post.incident is not None
    assert post.incident.quantity_kg == Decimal(kg)


@pytest.mark.parametrize(
    ("typed", "words"),
    [("1,234,5", "one decimal point or comma"), ("1,234", "write 1234 or 1.234"), ("lots", "is not a number")],
)
def test_ambiguous_quantity_is_refused_in_plain_words(typed, words):
    with pytest.raises(ValidationError) as refused:
        parse_post(incident_note(quantity_kg=typed))
    assert words in refused.value.fields["incident.quantity_kg"]


@pytest.mark.parametrize(("payload", "field"), [(p, f) for _n, p, f in HOSTILE], ids=[n for n, _p, _f in HOSTILE])
def test_hostile_post_is_refused_per_field_and_stores_nothing(client, headers, payload, field):
    before = post_count()
    response = client.post("/api/v1/posts", json=payload, headers=headers)
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "validation_failed"
    assert field in error["fields"], error
    assert all(isinstance(message, str) and message for message in error["fields"].values())
    assert post_count() == before


@pytest.mark.parametrize(("payload", "field"), [(p, f) for _n, p, f in HOSTILE], ids=[n for n, _p, _f in HOSTILE])
def test_hostile_patch_is_refused_and_changes_nothing(client, headers, payload, field):
    post = create(client, headers, incident_note() if payload.get("type") == "incident_note" else best_practice())
    url = f"/api/v1/posts/{post['id']}"
    response = client.patch(url, json=payload, headers=headers)
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["error"]["fields"]
    assert client.get(url, headers=headers).get_json() == post


def parsed_elements(html: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    """The elements an HTML parser (as a browser would) finds: tag names and their attributes."""
    from html.parser import HTMLParser

    found: list[tuple[str, list[tuple[str, str | None]]]] = []

    class Collector(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            found.append((tag, attrs))

    Collector().feed(html)
    return found


def test_script_in_markdown_is_stored_as_written_and_rendered_inert(client, headers):
    body = (
        "<script>alert(1)</script>\n\n<img src=x onerror=alert(2)>\n\n"
        "[click](javascript:alert(3)) [ok](https://example.org)\n\n**bold**"
    )
    post = create(client, headers, best_practice(body=body, title="<b onmouseover=alert(4)>Title</b>"))
    again = client.get(f"/api/v1/posts/{post['id']}", headers=headers).get_json()
    assert again["body"] == body
    assert again["title"] == "<b onmouseover=alert(4)>Title</b>"
    elements = parsed_elements(again["body_html"])
    assert {tag for tag, _attrs in elements} <= {"p", "a", "strong"}
    attributes = [(name, value or "") for _tag, attrs in elements for name, value in attrs]
    assert not [name for name, _value in attributes if name.startswith("on")]
    assert [value for name, value in attributes if name == "href"] == ["https://example.org"]
    assert '<a href="https://example.org" rel="noopener noreferrer nofollow">ok</a>' in again["body_html"]
    assert "<strong>bold</strong>" in again["body_html"]


def test_body_at_the_limit_is_accepted(client, headers):
    assert len(create(client, headers, best_practice(body="a" * 100_000))["body"]) == 100_000


RAW_BODIES: list[tuple[str, bytes, str, int]] = [
    ("truncated JSON", b'{"type": "best_practice", "title": "x"', "application/json", 400),
    ("trailing garbage", b'{"type": "best_practice"} x', "application/json", 400),
    ("empty body", b"", "application/json", 400),
    ("NaN", b'{"title": NaN}', "application/json", 400),
    ("Infinity quantity", b'{"incident": {"quantity_kg": Infinity}}', "application/json", 400),
    ("invalid UTF-8", b'{"title": "\xff\xfe"}', "application/json", 400),
    ("very deep nesting", b"[" * 100_000 + b"]" * 100_000, "application/json", 400),
    ("integer over the digit limit", b'{"workplan_item_id": ' + b"9" * 5000 + b"}", "application/json", 400),
    ("JSON array", b"[]", "application/json", 422),
    ("JSON string", b'"post"', "application/json", 422),
    ("JSON null", b"null", "application/json", 422),
    ("deep but parseable", b'{"tags": ' + b"[" * 500 + b"]" * 500 + b"}", "application/json", 422),
    ("lone surrogate in a key", b'{"\\ud800": 1}', "application/json", 422),
    ("text/plain", json.dumps(best_practice()).encode(), "text/plain", 415),
    ("form", b"title=x&body=y", "application/x-www-form-urlencoded", 415),
    ("no content type", json.dumps(best_practice()).encode(), "", 415),
    ("multipart", b"--b\r\n\r\n--b--\r\n", "multipart/form-data; boundary=b", 415),
]


@pytest.mark.parametrize(
    ("data", "content_type", "status"), [r[1:] for r in RAW_BODIES], ids=[r[0] for r in RAW_BODIES]
)
def test_malformed_bodies_get_the_uniform_error(client, headers, data, content_type, status):
    post = create(client, headers, best_practice())
    url = f"/api/v1/posts/{post['id']}"
    for method, path in (("POST", "/api/v1/posts"), ("PATCH", url)):
        response = client.open(path, method=method, data=data, content_type=content_type or None, headers=headers)
        assert response.status_code == status, (method, response.get_json())
        assert response.is_json and set(response.get_json()["error"]) == {"code", "message", "fields"}
    assert post_count() == 1
    assert client.get(url, headers=headers).get_json() == post


def test_json_larger_than_the_api_accepts_is_413(client, headers):
    payload = json.dumps(best_practice(body="a" * (3 * 1024 * 1024))).encode()
    response = client.post("/api/v1/posts", data=payload, content_type="application/json", headers=headers)
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "payload_too_large"
    assert post_count() == 0


def test_request_over_max_content_length_is_413_json(app, client, headers):
    app.config["MAX_CONTENT_LENGTH"] = 1000
    response = client.post("/api/v1/posts", json=best_practice(body="a" * 2000), headers=headers)
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "payload_too_large"
    assert client.post("/api/v1/posts", json=best_practice(), headers=headers).status_code == 201


# --- lists, filters and search -------------------------------------------------------------------


@pytest.fixture
def corpus(client, make, headers):  # type: ignore[no-untyped-def]
    """Five posts of the author (police) and one hidden from them."""
    made = [
        create(client, headers, best_practice(title="Gate seals", tags=["seals"])),
        create(client, headers, best_practice(title="Scanner rota", tlp="CLEAR", tags=["scanners"])),
        create(client, headers, best_practice(title="Strict", tlp="AMBER+STRICT")),
        create(client, headers, incident_note()),
        create(client, headers, best_practice(title="Policy paper on seals", cluster=CLUSTER, tlp="AMBER")),
    ]
    stranger = make.user(clusters={"policy": "contributor"})
    create(client, bearer(stranger), best_practice(title="Hidden seals", cluster="policy", tlp="RED"))
    return made


def ids(response) -> list[int]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.get_json()
    return [p["id"] for p in response.get_json()["items"]]


def test_list_is_newest_first_and_paginates(client, headers, corpus):
    newest_first = [p["id"] for p in reversed(corpus)]
    assert ids(client.get("/api/v1/posts", headers=headers)) == newest_first
    page2 = client.get("/api/v1/posts?per_page=2&page=2", headers=headers)
    assert ids(page2) == newest_first[2:4]
    assert page2.get_json() | {"items": []} == {
        "items": [],
        "page": 2,
        "per_page": 2,
        "total": 5,
        "total_capped": False,
    }
    assert ids(client.get("/api/v1/posts?page=99", headers=headers)) == []
    assert ids(client.get("/api/v1/posts?per_page=100", headers=headers)) == newest_first


def test_list_filters(client, headers, corpus):
    by_title = {p["title"]: p["id"] for p in corpus}
    get = lambda query: set(ids(client.get(f"/api/v1/posts?{query}", headers=headers)))  # noqa: E731
    assert get("type=incident_note") == {corpus[3]["id"]}
    assert get("tlp=CLEAR") == {by_title["Scanner rota"]}
    assert get("tlp=AMBER%2BSTRICT") == get("tlp=AMBER+STRICT") == {by_title["Strict"]}
    assert get("tag=seals") == get("tag=%23Seals") == {by_title["Gate seals"]}
    assert get("cluster=policy") == set()
    assert len(get(f"cluster={CLUSTER}")) == 5
    assert get("q=seals") == {by_title["Gate seals"], by_title["Policy paper on seals"]}
    assert get("q=seals&tlp=AMBER") == {by_title["Policy paper on seals"]}
    assert get("q=%21%21%21") == set()


@pytest.mark.parametrize(
    ("query", "fields"),
    [
        ("per_page=101", {"per_page"}),
        ("per_page=0", {"per_page"}),
        ("page=0", {"page"}),
        ("page=-1&per_page=abc", {"page", "per_page"}),
        ("page=1.5", {"page"}),
        ("page=%EF%BC%91", {"page"}),  # a full-width digit one
        ("page=99999999999999999999999", {"page"}),
        ("type=rumour&tlp=PURPLE", {"type", "tlp"}),
        ("tlp=green", {"tlp"}),
        ("cluster=nowhere", {"cluster"}),
        ("cluster=policy%00", {"cluster"}),
        ("cluster=" + "a" * 100, {"cluster"}),
        ("tag=%3Cscript%3E", {"tag"}),
        ("q=" + "a" * 501, {"q"}),
    ],
)
def test_bad_list_parameters_are_422_per_field(client, headers, query, fields):
    for path in ("/api/v1/posts", "/api/v1/search"):
        response = client.get(f"{path}?{query}&q=x", headers=headers)
        assert response.status_code == 422, (path, response.get_json())
        assert set(response.get_json()["error"]["fields"]) == fields


def test_search_gives_escaped_snippets_with_marks(client, headers, corpus):
    post = create(
        client,
        headers,
        best_practice(title="Drone sightings", body="A <img src=x onerror=alert(1)> drone over the terminal."),
    )
    response = client.get("/api/v1/search?q=drone", headers=headers)
    assert response.status_code == 200
    body = response.get_json()
    assert body["total"] == 1 and body["total_capped"] is False
    hit = body["items"][0]
    assert hit["id"] == post["id"] and hit["title"] == "Drone sightings"
    assert "<mark>" in hit["snippet"]
    assert "<img" not in hit["snippet"]
    assert isinstance(hit["rank"], float)
    assert "body" not in hit and "snippet" in hit
    assert client.get("/api/v1/search?q=seals&per_page=1", headers=headers).get_json()["total"] == 2


def test_search_needs_words(client, headers):
    for query in ("", "?q=", "?q=%20%20"):
        response = client.get(f"/api/v1/search{query}", headers=headers)
        assert response.status_code == 422
        assert set(response.get_json()["error"]["fields"]) == {"q"}
