"""Search ranks within a bounded window of the newest matches, on both backends."""

from __future__ import annotations

import pytest

from app.clusters import search as search_module
from app.clusters.services import publish_post
from app.clusters.validation import parse_post
from app.extensions import db


def _post(author, title: str, tlp: str = "GREEN", body: str = "Harbour procedure."):  # type: ignore[no-untyped-def]
    return publish_post(
        author, parse_post({"type": "best_practice", "cluster": "policy", "title": title, "body": body, "tlp": tlp})
    )


def test_broad_query_ranks_only_the_newest_window(make, monkeypatch):
    author = make.user(clusters={"policy": "contributor"})
    reader = make.user()
    posts = [_post(author, f"lashing check {n}", tlp="RED" if n % 3 == 0 else "GREEN") for n in range(12)]
    db.session.commit()
    monkeypatch.setattr(search_module, "WINDOW", 5)
    page = search_module.search(reader, "lashing check", per_page=20)
    newest_five = {p.id for p in posts[-5:]}
    visible_newest = {p.id for p in posts[-5:] if p.tlp.value == "GREEN"}
    assert {hit.post.id for hit in page.items} == visible_newest
    assert page.total == len(visible_newest)
    assert page.total_capped is True
    assert {hit.post.id for hit in page.items} <= newest_five


def test_narrow_query_finds_old_posts_too(make, monkeypatch):
    author = make.user(clusters={"policy": "contributor"})
    old = _post(author, "stevedore vetting")
    for n in range(8):
        _post(author, f"unrelated {n}")
    db.session.commit()
    monkeypatch.setattr(search_module, "WINDOW", 5)
    page = search_module.search(author, "stevedore")
    assert [hit.post.id for hit in page.items] == [old.id]
    assert page.total_capped is False


def test_title_matches_rank_above_body_matches(make):
    author = make.user(clusters={"policy": "contributor"})
    in_body = _post(author, "Weekly note", body="The reefer zone was checked twice.")
    in_title = _post(author, "Reefer zone checks")
    db.session.commit()
    page = search_module.search(author, "reefer")
    assert [hit.post.id for hit in page.items] == [in_title.id, in_body.id]
    assert "<mark>" in str(page.items[1].snippet)


def test_query_syntax_is_not_interpreted(make):
    author = make.user(clusters={"policy": "contributor"})
    _post(author, "Gate procedure")
    db.session.commit()
    for query in ('gate"', "gate*", "-gate", "gate:", "(gate)", "^gate"):
        page = search_module.search(author, query)
        assert [hit.post.title for hit in page.items] == ["Gate procedure"], query


# --- identifiers ---------------------------------------------------------------------------------

CONTAINER = "MSKU1234565"  # ISO 6346: iso6346.calc_check_digit("MSKU123456") == "5"
IMO = "9074729"


def _incident(author, title: str, tlp: str = "AMBER", body: str = "Found during a scan.", **details):  # type: ignore[no-untyped-def]
    incident = {
        "port_locode": "NLRTM",
        "occurred_on": "2025-03-14",
        "modus_operandi": "rip_on_rip_off",
        "substance": "cocaine",
        "container_numbers": [CONTAINER],
        "vessel_imo": IMO,
        **details,
    }
    raw = {"type": "incident_note", "cluster": "operational-cooperation", "title": title, "body": body, "tlp": tlp}
    return publish_post(author, parse_post({**raw, "tags": ["reefer-gang"], "incident": incident}))


def _customs(make, org=None):  # type: ignore[no-untyped-def]
    return make.user(org=org, clusters={"operational-cooperation": "contributor"}, org_type="customs")


@pytest.mark.parametrize(
    "query",
    ["msku 123456-5", "MSKU1234565", "Msku 123 456 5", "IMO 9074729", "imo9074729", "nlrtm", "NL RTM", "reefer-gang"],
)
def test_identifier_finds_the_members_own_note_whatever_its_spacing_or_case(make, query):
    author = _customs(make)
    note = _incident(author, "Seizure at quay 8")
    _post(make.user(clusters={"policy": "contributor"}), "Unrelated harbour note")
    db.session.commit()
    page = search_module.search(author, query)
    assert [hit.post.id for hit in page.items] == [note.id]
    assert page.items[0].exact and "<mark>" in str(page.items[0].snippet)
    assert page.total == 1


def test_identifier_never_reveals_a_note_the_searcher_may_not_see(make):
    author = _customs(make)
    colleague = _customs(make, org=author.organisation)
    other = _customs(make)
    mention = f"Container {CONTAINER} at NLRTM, vessel IMO {IMO}."
    strict = _incident(other, "Strict seizure", tlp="AMBER+STRICT", body=mention)
    red = _incident(author, "Red seizure", tlp="RED", body=mention)
    visible = _incident(other, "Amber seizure", tlp="AMBER")
    db.session.commit()
    for query in ("msku 123456-5", "imo 9074729", "nlrtm", "reefer-gang"):
        page = search_module.search(colleague, query)
        found = [hit.post.id for hit in page.items]
        assert visible.id in found and strict.id not in found and red.id not in found, query
        assert page.total == len(found) == len(set(found)), query


def test_identifier_hits_come_first_then_text_hits_without_duplicates_across_pages(make):
    author = _customs(make)
    in_text = _incident(author, "Note on Rotterdam", port_locode="BEANR", body="Transhipped via NLRTM last week.")
    in_details = _incident(author, "Seizure", body="Also named in the text: NLRTM.")
    db.session.commit()
    first = search_module.search(author, "nlrtm", per_page=1)
    second = search_module.search(author, "nlrtm", page=2, per_page=1)
    beyond = search_module.search(author, "nlrtm", page=3, per_page=1)
    assert [h.post.id for h in first.items] == [in_details.id] and first.items[0].exact
    assert [h.post.id for h in second.items] == [in_text.id] and not second.items[0].exact
    assert beyond.items == []
    assert first.total == second.total == beyond.total == 2


def test_a_word_shaped_like_a_port_code_is_searched_as_a_word(make):
    author = make.user(clusters={"policy": "contributor"})
    post = _post(author, "Cargo scanning", body="Cargo is scanned at the gate.")
    db.session.commit()
    page = search_module.search(author, "cargo")
    assert [(hit.post.id, hit.exact) for hit in page.items] == [(post.id, False)]
    assert page.total == 1


def test_api_search_finds_an_identifier_and_nothing_hidden(client, make):
    from tests.test_api_posts import bearer

    author = _customs(make)
    note = _incident(author, "Seizure at quay 8")
    _incident(_customs(make), "Strict seizure", tlp="AMBER+STRICT")
    db.session.commit()
    response = client.get("/api/v1/search", query_string={"q": "msku 123456-5"}, headers=bearer(author, "read"))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert [(item["id"], item["exact"]) for item in body["items"]] == [(note.id, True)]
    assert body["total"] == 1
