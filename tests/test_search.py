"""Search ranks within a bounded window of the newest matches, on both backends."""

from __future__ import annotations

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
