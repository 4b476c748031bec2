"""STIX 2.1 and TAXII 2.1 (README, "STIX and TAXII"): what a member system pulls is valid STIX,
carries the OASIS TLP 2.0 markings, and holds exactly what the token's owner may see, now.

The bundles are checked by the OASIS validator (``stix2-validator``) in strict mode, with one
check left out: 103, "SHOULD use UUIDv4", which the deterministic UUIDv5 ids PAX promises (so that
a second pull updates rather than duplicates) cannot meet by design.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
import sqlalchemy as sa
from stix2validator import ValidationOptions, validate_string

from app.audit.models import AuditEvent
from app.extensions import db
from app.markings import Tlp
from tests.test_crossmatch import CLUSTER, container, note, vessel

TAXII = "application/taxii+json;version=2.1"
ROOT = "/taxii2/pax/"
TLP2_IDS = {
    "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487": "clear",
    "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb": "green",
    "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421": "amber",
    "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003": "amber+strict",
    "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1": "red",
}
TLP2_EXTENSION = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
VALIDATOR = ValidationOptions(strict=True, disabled=["103"])


@pytest.fixture(autouse=True)
def in_request(app):  # type: ignore[no-untyped-def]
    with app.test_request_context():
        yield


def bearer(user) -> dict[str, str]:  # type: ignore[no-untyped-def]
    from app.auth.tokens import create_token

    _token, secret = create_token(user, "taxii", "read", 30)
    db.session.commit()
    return {"Authorization": f"Bearer {secret}", "Accept": TAXII}


def validated(text: str) -> dict[str, Any]:
    """The bundle, after the OASIS validator found no error in it: strict, with check 103 off,
    and as it comes (its defaults), where the only warnings may be check 103's."""
    results = validate_string(text, VALIDATOR)
    assert results.is_valid, [str(e) for e in results.errors]
    as_it_comes = validate_string(text)
    assert as_it_comes.is_valid, [str(e) for e in as_it_comes.errors]
    assert all("UUIDv4" in str(w) or "version 4 UUID" in str(w) for w in as_it_comes.warnings), as_it_comes.warnings
    return json.loads(text)  # type: ignore[no-any-return]


def collection_ids(client, headers) -> dict[str, str]:  # type: ignore[no-untyped-def]
    response = client.get(ROOT + "collections/", headers=headers)
    assert response.status_code == 200 and response.headers["Content-Type"] == TAXII
    return {c["title"]: c["id"] for c in response.get_json()["collections"]}


def pull(client, headers, collection: str, **params: Any) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """Every object of a collection, page by page."""
    objects: list[dict[str, Any]] = []
    query = dict(params)
    while True:
        response = client.get(f"{ROOT}collections/{collection}/objects/", headers=headers, query_string=query)
        assert response.status_code == 200, response.get_data(as_text=True)
        body = json.loads(response.get_data(as_text=True))
        objects += body["objects"]
        if not body["more"]:
            return objects
        query["next"] = body["next"]


def pulled_posts(client, headers) -> set[int]:  # type: ignore[no-untyped-def]
    """The PAX post ids of the reports in every collection the token sees."""
    found = set()
    for collection in collection_ids(client, headers).values():
        for obj in pull(client, headers, collection, **{"match[type]": "report"}):
            found.add(int(obj["external_references"][0]["external_id"].removeprefix("post-")))
    return found


def test_every_bundle_passes_the_oasis_validator_with_tlp_2_markings(app, make, client, login_as):
    officer = make.user(org_type="customs", clusters={CLUSTER: "contributor"})
    boxes, ship = [container(), container()], vessel()
    amber = note(officer, boxes, ship, tlp="AMBER", le_only=True)
    green = note(officer, [container()], tlp="GREEN")
    login_as(officer)

    single = client.get(f"/posts/{amber.id}/stix.json")
    assert single.status_code == 200 and single.headers["Content-Type"].startswith("application/stix+json")
    assert "attachment" in single.headers["Content-Disposition"]
    bundle = validated(single.get_data(as_text=True))
    by_type: dict[str, list[dict[str, Any]]] = {}
    for obj in bundle["objects"]:
        by_type.setdefault(obj["type"], []).append(obj)
    report = by_type["report"][0]
    assert set(report["object_refs"]) == {o["id"] for t in ("note", "location", "indicator") for o in by_type[t]}
    patterns = " ".join(i["pattern"] for i in by_type["indicator"])
    assert all(number in patterns for number in [*boxes, ship])
    location = by_type["location"][0]
    assert location["country"] == "BE" and location["external_references"][0]["external_id"] == "BEANR"
    # TLP 2.0 as the OASIS CTI TC published it, and the law-enforcement statement.
    amber_id = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"
    markings = {m["id"]: m for m in by_type["marking-definition"]}
    assert markings[amber_id]["extensions"][TLP2_EXTENSION] == {
        "extension_type": "property-extension",
        "tlp_2_0": "amber",
    }
    assert markings[amber_id]["name"] == "TLP:AMBER" and markings[amber_id]["created"] == "2022-10-01T00:00:00.000Z"
    statement = next(m for m in markings.values() if m.get("definition_type") == "statement")
    for obj in bundle["objects"]:
        if obj["type"] in ("report", "note", "location", "indicator"):
            assert set(obj["object_marking_refs"]) == {amber_id, statement["id"]}
            assert obj["created_by_ref"] == next(
                i["id"] for i in by_type["identity"] if i["name"] == officer.organisation.name
            )

    listed = client.get(f"/clusters/{CLUSTER}/stix.json?type=incident_note")
    assert listed.status_code == 200
    reports = [o for o in validated(listed.get_data(as_text=True))["objects"] if o["type"] == "report"]
    assert {r["id"] for r in reports} >= {report["id"]} and len(reports) == 2

    # TAXII pages, as a bundle, pass too; the ids are the page download's ids.
    headers = bearer(officer)
    pulled: dict[str, Any] = {}
    for collection in collection_ids(client, headers).values():
        pulled.update((o["id"], o) for o in pull(client, headers, collection))
    objects = list(pulled.values())
    as_bundle = json.dumps({"type": "bundle", "id": "bundle--1b1e5a3e-5e0c-4f6e-9d3b-0b8f6c1c2d3e", "objects": objects})
    validated(as_bundle)
    assert report["id"] in {o["id"] for o in objects}
    assert green.id and {o["id"] for o in objects if o["type"] == "report"} == {r["id"] for r in reports}


def test_ids_stay_and_modified_follows_the_versions(app, make, client):
    from app.api.posts import post_to_input
    from app.clusters.services import edit_post

    officer = make.user(org_type="police", clusters={CLUSTER: "contributor"})
    post = note(officer, [container()], tlp="GREEN")
    headers = bearer(officer)
    first = {o["id"]: o for o in pull(client, headers, collection_ids(client, headers)["Operational cooperation"])}
    edit_post(officer, post, replace(post_to_input(post), title="Seizure at the quay, revised"))
    db.session.commit()
    second = {o["id"]: o for o in pull(client, headers, collection_ids(client, headers)["Operational cooperation"])}
    assert set(first) == set(second)
    report = next(key for key, o in second.items() if o["type"] == "report")
    assert second[report]["name"] == "Seizure at the quay, revised"
    assert second[report]["modified"] > first[report]["modified"]
    assert second[report]["created"] == first[report]["created"]


def test_discovery_collections_manifest_and_versions(app, make, client):
    officer = make.user(org_type="police", clusters={CLUSTER: "contributor"})
    post = note(officer, [container()], vessel(), tlp="GREEN")
    headers = bearer(officer)
    discovery = client.get("/taxii2/", headers=headers)
    assert discovery.status_code == 200 and discovery.headers["Content-Type"] == TAXII
    assert discovery.get_json()["api_roots"] == [ROOT]
    root = client.get(ROOT, headers=headers).get_json()
    assert root["versions"] == [TAXII]
    listed = client.get(ROOT + "collections/", headers=headers).get_json()["collections"]
    assert len(listed) == 5 and all(c["can_read"] and c["can_write"] is False for c in listed)
    assert {c["title"] for c in listed} >= {"Operational cooperation", "Law enforcement only"}
    collection = collection_ids(client, headers)["Operational cooperation"]
    base = f"{ROOT}collections/{collection}/"
    assert client.get(base, headers=headers).get_json()["can_write"] is False

    manifest = client.get(base + "manifest/", headers=headers)
    assert manifest.status_code == 200 and manifest.headers["X-TAXII-Date-Added-First"]
    entries = manifest.get_json()["objects"]
    report = next(e for e in entries if e["id"].startswith("report--"))
    assert report["media_type"] == "application/stix+json;version=2.1"
    one = client.get(f"{base}objects/{report['id']}/", headers=headers)
    assert one.status_code == 200 and [o["id"] for o in one.get_json()["objects"]] == [report["id"]]
    assert one.get_json()["objects"][0]["modified"] == report["version"]
    versions = client.get(f"{base}objects/{report['id']}/versions/", headers=headers).get_json()
    assert versions == {"more": False, "versions": [report["version"]]}
    indicators = client.get(base + "objects/", headers=headers, query_string={"match[type]": "indicator"})
    assert {o["type"] for o in indicators.get_json()["objects"]} == {"indicator"}
    assert len(indicators.get_json()["objects"]) == 2
    by_id = client.get(base + "objects/", headers=headers, query_string={"match[id]": report["id"]})
    assert [o["id"] for o in by_id.get_json()["objects"]] == [report["id"]]
    assert post.id
    # Writing is not offered: 405 as a TAXII error object.
    refused = client.post(base + "objects/", headers=headers, json={"objects": []})
    assert refused.status_code == 405 and refused.headers["Content-Type"] == TAXII
    assert refused.get_json()["http_status"] == "405"


def test_red_and_law_enforcement_only_notes_reach_their_audience_only(app, make, client):
    officer = make.user(org_type="police", clusters={CLUSTER: "contributor"})
    recipient = make.user(org_type="customs")
    operator = make.user(org_type="terminal_operator", clusters={CLUSTER: "reader"})
    colleague = make.user(org=officer.organisation)
    red = note(officer, [container()], tlp="RED")
    from app.clusters.models import PostRecipientUser

    db.session.add(PostRecipientUser(post_id=red.id, user_id=recipient.id))
    db.session.commit()
    le_only = note(officer, [container()], tlp="GREEN", le_only=True)
    green = note(officer, [container()], tlp="GREEN")
    assert pulled_posts(client, bearer(officer)) == {red.id, le_only.id, green.id}
    assert pulled_posts(client, bearer(recipient)) == {red.id, le_only.id, green.id}
    assert pulled_posts(client, bearer(operator)) == {green.id}
    assert pulled_posts(client, bearer(colleague)) == {le_only.id, green.id}
    # Asked by id, a hidden object is not found, as a missing one.
    headers = bearer(operator)
    from app.taxii.ids import post_object_id

    for collection in collection_ids(client, headers).values():
        for hidden in (red.id, le_only.id):
            response = client.get(
                f"{ROOT}collections/{collection}/objects/{post_object_id(hidden, 'report')}/", headers=headers
            )
            assert response.status_code == 404 and response.get_json()["http_status"] == "404"


def test_a_note_tightened_after_a_pull_is_gone_from_the_next(app, make, client):
    from app.api.posts import post_to_input
    from app.clusters.services import edit_post

    officer = make.user(org_type="police", clusters={CLUSTER: "contributor"})
    reader = make.user(org_type="port_authority", clusters={CLUSTER: "reader"})
    post = note(officer, [container()], tlp="GREEN")
    headers = bearer(reader)
    collection = collection_ids(client, headers)["Operational cooperation"]
    assert pulled_posts(client, headers) == {post.id}
    base = f"{ROOT}collections/{collection}/"
    before = client.get(base + "manifest/", headers=headers).get_json()["objects"]
    assert before and client.get(base + f"objects/{before[0]['id']}/", headers=headers).status_code == 200
    mark = before[-1]["date_added"]

    edit_post(officer, post, replace(post_to_input(post), tlp=Tlp.AMBER_STRICT))
    db.session.commit()
    assert pulled_posts(client, headers) == set()
    assert client.get(base + "manifest/", headers=headers).get_json()["objects"] == []
    assert (
        client.get(base + "objects/", headers=headers, query_string={"added_after": mark}).get_json()["objects"] == []
    )
    assert client.get(base + f"objects/{before[0]['id']}/", headers=headers).status_code == 404
    assert client.get(f"/posts/{post.id}/stix.json").status_code in (302, 404)


@pytest.mark.parametrize(
    "query",
    [
        {"added_after": "yesterday"},
        {"added_after": "2026-13-45T99:99:99Z"},
        {"added_after": "\x00"},
        {"added_after": "9999-12-31T23:59:59-01:00"},
        {"added_after": "0000-01-01T00:00:00Z"},
        {"limit": "1000000000000000000000"},
        {"limit": "0"},
        {"limit": "-5"},
        {"limit": "ten"},
        {"match[type]": "malware"},
        {"match[type]": "report,<script>"},
        {"match[id]": "report--not-a-uuid"},
        {"match[version]": "whenever"},
        {"match[colour]": "red"},
        {"next": "!!!"},
        {"next": "MjAyNi0wMS0wMXwxfA"},
    ],
)
def test_hostile_parameters_get_taxii_errors(query, app, make, client):
    member = make.user()
    headers = bearer(member)
    collection = collection_ids(client, headers)["Policy development and implementation"]
    for endpoint in ("objects/", "manifest/"):
        response = client.get(f"{ROOT}collections/{collection}/{endpoint}", headers=headers, query_string=query)
        assert response.status_code == 400, (query, response.status_code)
        assert response.headers["Content-Type"] == TAXII
        error = response.get_json()
        assert error["http_status"] == "400" and error["title"] and error["description"]
        assert "Traceback" not in error["description"] and "{" not in error["description"]


def test_errors_are_taxii_error_objects(app, make, client):
    member = make.user()
    headers = bearer(member)
    for path, status in (
        ("/taxii2/", 401),
        (ROOT + "collections/", 401),
    ):
        response = client.get(path)
        assert response.status_code == status and response.get_json()["http_status"] == str(status)
        assert response.headers["Content-Type"] == TAXII
    for path in (ROOT + "collections/00000000-0000-4000-8000-000000000000/", ROOT + "status/1/", "/taxii2/other/"):
        response = client.get(path, headers=headers)
        assert response.status_code == 404 and response.get_json()["http_status"] == "404", path
    assert client.get("/taxii2/nothing/").get_json()["title"] == "Not Found"
    wrong = client.get("/taxii2/", headers={**headers, "Accept": "text/html"})
    assert wrong.status_code == 406 and wrong.get_json()["http_status"] == "406"


def test_each_pull_is_audited_with_ids_not_content(app, make, client):
    officer = make.user(org_type="police", clusters={CLUSTER: "contributor"})
    post = note(officer, [container()], tlp="AMBER", title="Quay seven cloning ring")
    headers = bearer(officer)
    collection = collection_ids(client, headers)["Operational cooperation"]
    objects = pull(client, headers, collection)
    event = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "taxii.pull").order_by(AuditEvent.seq.desc())
    ).first()
    assert event is not None and event.actor_id == officer.id and event.target_id == "operational-cooperation"
    assert event.details["object_ids"] == [o["id"] for o in objects] and event.details["post_ids"] == [post.id]
    assert "Quay seven" not in json.dumps(event.details)
    # A page is a list (one event); the AMBER note asked for by id is a view its organisation sees.
    report = next(o["id"] for o in objects if o["type"] == "report")
    assert client.get(f"{ROOT}collections/{collection}/objects/{report}/", headers=headers).status_code == 200
    views = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "post.view", AuditEvent.target_id == str(post.id))
    ).all()
    assert views and all(v.details["via"] == "taxii" and v.target_org_id == post.author_org_id for v in views)


def test_pulls_are_rate_limited_per_token_with_a_taxii_error(config_factory, make):
    from tests.test_throttling import limited_app

    app = limited_app(config_factory, TAXII_RATE_LIMIT="5 per minute")
    with app.app_context(), app.test_request_context():
        first, second = bearer(make.user()), bearer(make.user())
    client = app.test_client()
    for _ in range(5):
        assert client.get(ROOT + "collections/", headers=first).status_code == 200
    blocked = client.get(ROOT + "collections/", headers=first)
    assert blocked.status_code == 429 and "Retry-After" in blocked.headers
    assert blocked.headers["Content-Type"] == TAXII
    error = blocked.get_json()
    assert error["http_status"] == "429" and "try again" in error["description"]
    assert "per 1 minute" not in error["description"]
    # Another member's token, from the same address, is counted on its own.
    assert client.get(ROOT + "collections/", headers=second).status_code == 200


def test_the_migration_indexes_the_posts_already_shared(test_root):
    """Posts published before TAXII existed get their STIX ids from the migration, the same ids
    publication gives."""
    from app.db import make_engine
    from app.taxii.ids import object_uuids
    from tests.support import databases

    with databases.fresh_database(test_root, "stixids") as url:
        databases.upgrade(url, "5a0c1d2e3f18")
        engine = make_engine(url, pooled=False)
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO organisations (id, name, type, country, created_at) "
                    "VALUES (1, 'Port', 'port_authority', 'BE', CURRENT_TIMESTAMP)"
                )
            )
            conn.execute(
                sa.text(
                    "INSERT INTO posts (id, type, cluster_id, title, body, body_html, body_text, tlp, "
                    "law_enforcement_only, author_org_id, tags_text, version, created_at, updated_at) "
                    "SELECT 41, 'best_practice', min(id), 'T', 'B', '<p>B</p>', 'B', 'GREEN', false, 1, '', 1, "
                    "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP FROM clusters"
                )
            )
        databases.upgrade(url, "5a0c1d2e3f19")
        with engine.connect() as conn:
            rows = set(conn.execute(sa.text("SELECT uuid, post_id FROM stix_object_ids")).all())
        assert rows == {(value, 41) for value in object_uuids(41)}
        databases.downgrade(url, "5a0c1d2e3f18")
        engine.dispose()


def test_every_marking_flag_and_kind_validates(app, make, client, login_as):
    """One post of each kind under every marking and flag, as single downloads, as the cluster's
    list and as TAXII pages: the validator finds no error in any (run with -s for its summary)."""
    from app.clusters.services import publish_post
    from app.clusters.validation import parse_post

    officer = make.user(org_type="police", clusters={CLUSTER: "contributor"})
    posts = []
    for tlp in Tlp:
        for le_only in (False, True):
            posts.append(
                note(
                    officer,
                    [container()] if le_only else [],
                    vessel() if tlp.rank % 2 else None,
                    tlp=tlp.value,
                    le_only=le_only,
                )
            )
            raw = {
                "type": "best_practice",
                "cluster": CLUSTER,
                "title": f"Seal checks {tlp.value}",
                "body": "# Steps\n\n1. *Check* the seal.\n2. Log it: `seal-ok`.",
                "tlp": tlp.value,
                "law_enforcement_only": le_only,
                "tags": ["seals", "training"],
            }
            posts.append(publish_post(officer, parse_post(raw)))
    db.session.commit()
    login_as(officer)
    texts = [client.get(f"/posts/{p.id}/stix.json").get_data(as_text=True) for p in posts]
    texts.append(client.get(f"/clusters/{CLUSTER}/stix.json").get_data(as_text=True))
    headers = bearer(officer)
    for collection in collection_ids(client, headers).values():
        query: dict[str, str] = {"limit": "7"}
        while True:
            body = client.get(
                f"{ROOT}collections/{collection}/objects/", headers=headers, query_string=query
            ).get_json()
            if body["objects"]:
                unique = list({o["id"]: o for o in body["objects"]}.values())
                texts.append(
                    json.dumps(
                        {"type": "bundle", "id": "bundle--6f1c1f3e-0b7a-4c55-9d59-7d0c3f1b9a20", "objects": unique}
                    )
                )
            if not body["more"]:
                break
            query["next"] = body["next"]
    objects = warnings = 0
    for text in texts:
        results = validate_string(text, VALIDATOR)
        assert results.is_valid, [str(e) for e in results.errors]
        objects += len(json.loads(text)["objects"])
        warnings += len(results.warnings)
    listed = json.loads(texts[len(posts)])
    assert {o["id"] for o in listed["objects"] if o["type"] == "marking-definition"} >= set(TLP2_IDS)
    print(
        f"\nstix2-validator {__import__('stix2validator').__version__} (strict, check 103 off): {len(texts)} bundles, "
        f"{objects} objects, 0 errors, {warnings} warnings"
    )


def test_a_selective_filter_answers_in_bounded_pages(app, make, client, monkeypatch):
    """A filter few posts match never has one request turn the whole collection into STIX: the
    page stops after a budget of posts and ``next`` goes on from there."""
    from app.taxii import queries

    monkeypatch.setattr(queries, "SCAN_BUDGET", 3)
    officer = make.user(org_type="police", clusters={CLUSTER: "contributor"})
    for _ in range(7):
        note(officer, [], tlp="GREEN")
    boxed = note(officer, [container()], tlp="GREEN")
    headers = bearer(officer)
    collection = collection_ids(client, headers)["Operational cooperation"]
    base = f"{ROOT}collections/{collection}/objects/"
    found, query, pages = [], {"match[type]": "indicator"}, 0
    while True:
        body = client.get(base, headers=headers, query_string=query).get_json()
        pages += 1
        found += body["objects"]
        if not body["more"]:
            break
        query = {"match[type]": "indicator", "next": body["next"]}
    assert pages == 3 and [o["type"] for o in found] == ["indicator"]
    assert boxed.id and found[0]["id"].startswith("indicator--")
    locations = pull(client, headers, collection, **{"match[type]": "location", "limit": "2"})
    assert len(locations) == 8 and {o["type"] for o in locations} == {"location"}
