"""A real TAXII client (OASIS ``taxii2-client``) against the portal served by gunicorn on loopback.

It discovers the server, lists the collections, pages through a collection of 250 visible notes
100 at a time, then resumes with ``added_after`` and gets exactly what changed since. The token
belongs to a private operator: RED, AMBER+STRICT and law-enforcement-only notes in the same
cluster never reach it. Run with ``-s`` to see the journey.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from taxii2client.v21 import Server, as_pages

from tests.support import databases
from tests.support import gunicorn as gunicorn_support

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

CLUSTER = "operational-cooperation"
VISIBLE = 250


class Bearer(requests.auth.AuthBase):
    def __init__(self, secret: str) -> None:
        self.secret = secret

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.secret}"
        return request


def _publish(user: Any, title: str, tlp: str, le_only: bool = False, recipients: list[str] | None = None) -> int:
    from app.clusters.services import publish_post
    from app.clusters.validation import parse_post

    raw = {
        "type": "incident_note",
        "cluster": CLUSTER,
        "title": title,
        "body": "Bags behind the doors of a reefer.",
        "tlp": tlp,
        "law_enforcement_only": le_only,
        "recipient_users": recipients or [],
        "incident": {
            "port_locode": "NLRTM",
            "occurred_on": "2026-01-15",
            "modus_operandi": "rip_on_rip_off",
            "substance": "cocaine",
            "quantity_kg": 12,
            "container_numbers": ["MSCU1234566"],
            "vessel_imo": "9074729",
        },
    }
    return publish_post(user, parse_post(raw)).id


def _seed(tmp_path: Path, url: str) -> dict[str, Any]:
    """250 notes the operator may see and 40 it may not, then a read token of the operator."""
    from app import create_app
    from app.auth.tokens import create_token
    from app.extensions import db
    from tests.conftest import Factory, make_config

    seeder = create_app(make_config(tmp_path, url))
    with seeder.app_context(), seeder.test_request_context():
        make = Factory()
        officer = make.user(org_type="police", clusters={CLUSTER: "contributor"})
        colleague = make.user(org=officer.organisation)
        operator = make.user(org_type="terminal_operator", clusters={CLUSTER: "reader"})
        visible = [_publish(officer, f"Rip-off at the quay {n}", "GREEN" if n % 2 else "AMBER") for n in range(VISIBLE)]
        hidden = [_publish(officer, f"Red {n}", "RED", recipients=[colleague.email]) for n in range(15)]
        hidden += [_publish(officer, f"Strict {n}", "AMBER+STRICT") for n in range(15)]
        hidden += [_publish(officer, f"Police only {n}", "GREEN", le_only=True) for n in range(10)]
        _row, secret = create_token(operator, "taxii journey", "read", 1)
        db.session.commit()
        seeded = {
            "visible": visible,
            "hidden": hidden,
            "secret": secret,
            "officer_id": officer.id,
            "secret_key": seeder.config["SECRET_KEY"],
        }
        db.session.remove()
    db.engine.dispose()
    return seeded


def _change(tmp_path: Path, url: str, officer_id: int, edited: int) -> list[int]:
    """After the first pull: one visible note edited, two new ones, one new RED."""
    from dataclasses import replace

    from app import create_app
    from app.api.posts import post_to_input
    from app.auth.models import User
    from app.clusters.models import Post
    from app.clusters.services import edit_post
    from app.extensions import db
    from tests.conftest import make_config

    app = create_app(make_config(tmp_path, url))
    with app.app_context(), app.test_request_context():
        officer = db.session.get(User, officer_id)
        post = db.session.get(Post, edited)
        edit_post(officer, post, replace(post_to_input(post), title="Rip-off at the quay, revised"))
        new = [_publish(officer, "Second wave", "GREEN"), _publish(officer, "Third wave", "AMBER")]
        _publish(officer, "Red again", "RED")
        db.session.commit()
        db.session.remove()
    db.engine.dispose()
    return [edited, *new]


@pytest.fixture
def portal(tmp_path: Path) -> Iterator[dict[str, Any]]:
    with databases.fresh_database(tmp_path, "taxii") as url:
        databases.upgrade(url)
        seeded = _seed(tmp_path, url)
        (tmp_path / "keys.json").exists() or pytest.fail("the seeding app made no keys file")
        env = gunicorn_support.portal_env(tmp_path, url, seeded["secret_key"])
        server = gunicorn_support.start("taxii", env, tmp_path)
        try:
            yield {**seeded, "url": url, "server": server}
        finally:
            server.stop()


def _post_ids(reports: list[dict[str, Any]]) -> list[int]:
    return [int(r["external_references"][0]["external_id"].removeprefix("post-")) for r in reports]


def test_taxii2_client_discovers_pages_and_resumes(portal: dict[str, Any], tmp_path: Path) -> None:
    server_url = portal["server"].url
    auth = Bearer(portal["secret"])
    server = Server(f"{server_url}/taxii2/", auth=auth)
    print(f"\ndiscovery: {server.title!r}, api roots {[root.url for root in server.api_roots]}")
    root = server.default
    print(f"api root: {root.title!r}, versions {root.versions}")
    collections = {c.title: c for c in root.collections}
    for c in root.collections:
        print(f"collection {c.id} {c.title!r} can_read={c.can_read} can_write={c.can_write}")
    assert len(collections) == 5 and not any(c.can_write for c in collections.values())
    cluster = collections["Operational cooperation"]

    pages = list(as_pages(cluster.get_objects, per_request=100, type="report"))
    sizes = [len(page.get("objects", [])) for page in pages]
    print(f"pages of reports with limit=100: {sizes}, more={[page['more'] for page in pages]}")
    assert sizes == [100, 100, 50]
    reports = [obj for page in pages for obj in page["objects"]]
    assert sorted(_post_ids(reports)) == sorted(portal["visible"])
    every = list(as_pages(cluster.get_objects, per_request=100))
    objects = [obj for page in every for obj in page["objects"]]
    print(f"all objects of the collection: {len(objects)} in {len(every)} pages of at most 100")
    assert {o["type"] for o in objects} == {"report", "note", "location", "indicator", "identity", "marking-definition"}
    assert set(_post_ids([o for o in objects if o["type"] == "report"])) == set(portal["visible"])
    law_enforcement = collections["Law enforcement only"].get_objects()
    print(f"law-enforcement collection for the operator: {len(law_enforcement.get('objects', []))} objects")
    assert law_enforcement.get("objects", []) == []
    manifest = cluster.get_manifest(limit=100)
    assert len(manifest["objects"]) == 100 and manifest["more"]

    mark = max(r["modified"] for r in reports)
    changed = _change(tmp_path, portal["url"], portal["officer_id"], portal["visible"][7])
    resumed = list(as_pages(cluster.get_objects, per_request=100, added_after=mark, type="report"))
    again = [obj for page in resumed for obj in page["objects"]]
    print(f"resumed with added_after={mark}: {len(again)} reports, posts {sorted(_post_ids(again))}")
    assert sorted(_post_ids(again)) == sorted(changed)
    revised = next(r for r in again if _post_ids([r]) == [portal["visible"][7]])
    first = next(r for r in reports if r["id"] == revised["id"])
    assert revised["name"] == "Rip-off at the quay, revised" and revised["modified"] > first["modified"]
    print(f"the revised note kept its id {revised['id']} and moved from {first['modified']} to {revised['modified']}")

    # A hidden note's report, asked by id, is not there (a TAXII 404).
    from app.taxii.ids import post_object_id

    hidden = post_object_id(portal["hidden"][0], "report")
    response = requests.get(
        f"{cluster.url}objects/{hidden}/", auth=auth, headers={"Accept": "application/taxii+json;version=2.1"}
    )
    assert response.status_code == 404 and response.json()["http_status"] == "404"
    assert response.headers["Content-Type"] == "application/taxii+json;version=2.1"
