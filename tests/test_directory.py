"""The member directory (issue 21, item 5): who belongs to the Alliance and how to reach them,
for active members only, showing a person's work e-mail and phone only by their choice."""

from __future__ import annotations

import re
from typing import Any

import pytest

from app.extensions import db
from tests.conftest import csrf_token_from


@pytest.fixture
def world(make: Any) -> dict[str, Any]:
    port = make.org("port_authority", name="Directory Port Authority", country="NL")
    customs = make.org("customs", name="Directory Customs", country="BE")
    focal = make.user(port, focal_point=True, clusters={"policy": "coordinator"})
    focal.work_phone, focal.directory_shows_phone = "+31 10 252 10 10", True
    db.session.commit()
    return {
        "port": port,
        "customs": customs,
        "focal": focal,
        "colleague": make.user(port, clusters={"policy": "contributor"}),
        "officer": make.user(customs),
        "pending": make.user(customs, status="pending"),
    }


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_directory_lists_organisations_focal_points_and_coordinators(world: dict[str, Any], new_client: Any):
    page = text_of(new_client(world["officer"]).get("/directory/").get_data(as_text=True))
    assert "Directory Port Authority" in page and "Directory Customs" in page
    assert f"Focal point: {world['focal'].name}" in page and "+31 10 252 10 10" in page
    # The focal point did not choose to show their e-mail: it is not there.
    assert world["focal"].email not in page
    assert "Cluster coordinators" in page and world["focal"].name in page


def organisations_listed(html: str) -> str:
    start = html.index('id="orgs-title"')
    return text_of(html[start : html.index("</section>", start)])


def test_filters_narrow_by_country_type_and_cluster(world: dict[str, Any], new_client: Any):
    browser = new_client(world["officer"])
    by_country = organisations_listed(browser.get("/directory/?country=be").get_data(as_text=True))
    assert "Directory Customs" in by_country and "Directory Port Authority" not in by_country
    by_type = organisations_listed(browser.get("/directory/?type=port_authority").get_data(as_text=True))
    assert "Directory Port Authority" in by_type and "Directory Customs" not in by_type
    by_cluster = organisations_listed(browser.get("/directory/?cluster=policy").get_data(as_text=True))
    assert "Directory Port Authority" in by_cluster and "Directory Customs" not in by_cluster
    assert browser.get("/directory/?country=<script>&type=x&cluster=nowhere").status_code == 200


def test_an_organisation_page_shows_people_roles_clusters_and_chosen_contacts(world: dict[str, Any], new_client: Any):
    page = new_client(world["officer"]).get(f"/directory/organisations/{world['port'].id}").get_data(as_text=True)
    text = text_of(page)
    assert 'id="focal-point"' in page
    assert world["colleague"].name in text and "contributor" in text.lower()
    assert world["colleague"].email not in text and "Contact details not shown" in text


def test_only_active_members_see_it_and_pending_people_are_not_listed(world: dict[str, Any], client: Any, new_client):
    assert client.get("/directory/").status_code in (302, 401)
    page = text_of(
        new_client(world["colleague"]).get(f"/directory/organisations/{world['customs'].id}").get_data(as_text=True)
    )
    assert world["officer"].name in page and world["pending"].name not in page


def test_a_member_chooses_what_the_directory_shows(world: dict[str, Any], new_client: Any):
    officer = world["officer"]
    browser = new_client(officer)
    token = csrf_token_from(browser.get("/account/").get_data(as_text=True))
    bad = browser.post("/account/directory", data={"csrf_token": token, "work_phone": "call me maybe"})
    assert bad.status_code == 422 and "Write the phone number with digits" in bad.get_data(as_text=True)
    saved = browser.post(
        "/account/directory",
        data={"csrf_token": token, "work_phone": "+32 2 299 11 11", "show_email": "y", "show_phone": "y"},
    )
    assert saved.status_code == 302
    other = new_client(world["colleague"])
    page = text_of(other.get(f"/directory/organisations/{world['customs'].id}").get_data(as_text=True))
    assert officer.email in page and "+32 2 299 11 11" in page
    browser.post("/account/directory", data={"csrf_token": token, "work_phone": "+32 2 299 11 11"})
    page = text_of(other.get(f"/directory/organisations/{world['customs'].id}").get_data(as_text=True))
    assert officer.email not in page and "+32 2 299 11 11" not in page


def test_a_cross_match_hit_offers_to_contact_the_other_organisations_focal_point(app, make: Any, new_client: Any):
    """Law-enforcement users learn which organisation holds a matching note they may not open,
    and are offered its focal point's contact."""
    from tests.test_crossmatch import author, container, note

    shared = container()
    first = author(make, cluster="operational-cooperation")
    note(first, [shared], tlp="AMBER+STRICT", cluster="operational-cooperation")
    second = author(make, org_type="customs")
    ours = note(second, [shared], tlp="AMBER+STRICT")
    page = new_client(second).get(f"/posts/{ours.id}").get_data(as_text=True)
    link = f"/directory/organisations/{first.organisation_id}#focal-point"
    assert f"Contact the focal point of {first.organisation.name}" in page and link in page
    assert new_client(second).get(link.split("#")[0]).status_code == 200
