"""Comparing two versions of a post, side by side and word by word: removals in <del>, additions in
<ins>, each announced in words; only versions the member may see are compared, others are 404."""

from __future__ import annotations

import re
from typing import Any

from app.clusters.compare import word_diff
from app.clusters.services import edit_post
from app.clusters.validation import parse_post
from app.extensions import db
from tests.test_posts_pages import publish


def raw(**fields: Any) -> dict[str, Any]:
    base = {
        "type": "best_practice",
        "cluster": "policy",
        "title": "Gate checks",
        "body": "Check seals.",
        "tlp": "GREEN",
    }
    return {**base, **fields}


def test_word_diff_marks_removed_and_added_words_and_escapes_the_text() -> None:
    left, right = word_diff("Check the <b>seals</b> daily.", "Check all seals twice daily.")
    assert "<del>" in left and "<ins>" not in left and "<ins>" in right and "<del>" not in right
    assert "&lt;b&gt;" in left and "<b>" not in left
    removed = re.findall(r"\[removed: </span>(.*?)<span", left)
    added = re.findall(r"\[added: </span>(.*?)<span", right)
    assert removed == ["the", "&lt;b&gt;", "&lt;/b&gt;"]
    assert added == ["all", " twice"]


def test_a_member_compares_an_earlier_version_with_the_current_one(make, new_client) -> None:
    author = make.user(clusters={"policy": "contributor"})
    post = publish(author, body="Check seals on arrival.")
    edit_post(author, post, parse_post(raw(body="Check every seal on arrival and departure.")), post.version)
    db.session.commit()
    reader = new_client(make.user(clusters={"policy": "reader"}))
    history = reader.get(f"/posts/{post.id}/history").get_data(as_text=True)
    assert f'href="/posts/{post.id}/history/compare"' in history
    page = reader.get(f"/posts/{post.id}/history/compare?a=1&b=2")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Version 1, the earlier" in html and "Version 2 (current), the later" in html
    assert re.search(r"<del><span class=\"ecl-u-sr-only\">\[removed: </span>seals<", html)
    assert re.search(r"<ins><span class=\"ecl-u-sr-only\">\[added: </span>every seal<", html) or (
        "every" in "".join(re.findall(r"\[added: </span>(.*?)<span", html))
    )
    assert "and departure" in "".join(re.findall(r"\[added: </span>(.*?)<span", html))
    # The default compares the newest earlier version with the current one.
    assert reader.get(f"/posts/{post.id}/history/compare").get_data(as_text=True).count("<ins>") >= 1


def test_a_version_the_member_may_not_see_is_404_and_bad_numbers_are_plain_words(make, new_client) -> None:
    author = make.user(clusters={"policy": "contributor"})
    colleague = make.user(org=author.organisation)
    post = publish(author, tlp="AMBER+STRICT", body="Only our organisation knew this.")
    edit_post(author, post, parse_post(raw(tlp="GREEN", body="Now everyone may know.")), post.version)
    db.session.commit()
    outsider = new_client(make.user(clusters={"policy": "reader"}))
    assert outsider.get(f"/posts/{post.id}/history/compare?a=1&b=2").status_code == 404
    assert outsider.get(f"/posts/{post.id}/history/compare?a=2&b=2").status_code == 200
    insider = new_client(colleague)
    seen = insider.get(f"/posts/{post.id}/history/compare?a=1&b=2").get_data(as_text=True)
    assert "organisation" in "".join(re.findall(r"\[removed: </span>(.*?)<span", seen))
    for query in ("a=x&b=2", "a=0&b=2", "a=1&b=99"):
        answer = insider.get(f"/posts/{post.id}/history/compare?{query}")
        assert answer.status_code == 400, query
        assert "Choose two version numbers of this post to compare." in answer.get_data(as_text=True)
