"""Who can see this, and why (issue 19, item 5): the panel as members read it, and the edit form's
preview of how a new marking changes the audience."""

from __future__ import annotations

import html as html_text
import re
from typing import Any

import pytest
import sqlalchemy as sa

from app.extensions import db
from tests.conftest import csrf_token_from
from tests.test_marking_changes import CLUSTER


@pytest.fixture
def world(make: Any) -> dict[str, Any]:
    home = make.org("port_authority", name="Port of Home")
    recipient = make.org("terminal_operator", name="Recipient Terminals")
    elsewhere = make.org("shipping_line", name="Elsewhere Lines")
    return {
        "author": make.user(home, clusters={CLUSTER: "contributor"}),
        "colleague": make.user(home),
        "member": make.user(elsewhere, clusters={CLUSTER: "contributor"}),
        "recipient": make.user(recipient),
        "named": make.user(elsewhere),
        "outsider": make.user(make.org("logistics", name="Outside Logistics")),
        "R": recipient,
    }


def _post(world: dict[str, Any], **fields: Any) -> Any:
    from app.clusters.services import publish_post
    from app.clusters.validation import parse_post

    raw = {"type": "best_practice", "cluster": CLUSTER, "title": "Gate checks", "body": "Check seals.", **fields}
    post = publish_post(world["author"], parse_post(raw))
    db.session.commit()
    return post


def _panel_text(html: str) -> str:
    start = html.index('id="audience"')
    return html_text.unescape(
        re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html[start : html.index("</section>", start)]))
    )


def test_the_post_page_says_which_organisations_see_it_and_by_which_rule(
    world: dict[str, Any], new_client: Any
) -> None:
    post = _post(world, tlp="AMBER", recipient_orgs=[world["R"].name])
    panel = _panel_text(new_client(world["member"]).get(f"/posts/{post.id}").get_data(as_text=True))
    assert "Who can see this post" in panel
    assert "Port of Home" in panel and "The author's organisation: 2" in panel  # the author and a colleague
    assert "Elsewhere Lines" in panel and "Member of the cluster: 1" in panel
    assert "Recipient Terminals" in panel and "Named recipient organisation: 1" in panel
    assert "Outside Logistics" not in panel


def test_named_people_are_named_only_to_the_authors_organisation(world: dict[str, Any], new_client: Any) -> None:
    post = _post(world, tlp="RED", recipient_users=[world["named"].email])
    # The colleague may not see a RED post; the author's own page names the recipient.
    own = _panel_text(new_client(world["author"]).get(f"/posts/{post.id}").get_data(as_text=True))
    assert f"Named person: 1 ({world['named'].name})" in own
    theirs = _panel_text(new_client(world["named"]).get(f"/posts/{post.id}").get_data(as_text=True))
    assert "Named person: 1" in theirs and world["named"].name not in theirs
    assert "2 people in 2 organisations" in theirs


def test_an_item_one_may_not_see_has_no_panel(world: dict[str, Any], new_client: Any) -> None:
    from app.clusters.attachments import attach_file

    post = _post(world, tlp="AMBER+STRICT")
    attachment, _meta = attach_file(world["author"], post, "plan.txt", [b"plan"], 1 << 20)
    db.session.commit()
    outsider = new_client(world["outsider"])
    assert outsider.get(f"/attachments/{attachment.id}/audience").status_code == 404
    page = new_client(world["colleague"]).get(f"/attachments/{attachment.id}/audience")
    assert page.status_code == 200
    text = _panel_text(page.get_data(as_text=True))
    assert "Who can see this file" in text and "Port of Home" in text and "Elsewhere Lines" not in text


def test_the_edit_form_previews_how_the_audience_changes_and_saves_nothing(
    world: dict[str, Any], client: Any, new_client: Any
) -> None:
    from app.clusters.models import Post
    from app.markings import Tlp

    post = _post(world, tlp="AMBER+STRICT")
    author = new_client(world["author"])
    form = author.get(f"/posts/{post.id}/edit").get_data(as_text=True)
    fields = {
        "csrf_token": csrf_token_from(form),
        "version": str(post.version),
        "type": "best_practice",
        "title": "Gate checks",
        "body": "Check seals.",
        "tlp": "GREEN",
        "preview": "audience",
    }
    answer = author.post(f"/posts/{post.id}/edit", data=fields)
    assert answer.status_code == 200
    people = db.session.scalar(
        sa.select(sa.func.count()).select_from(sa.text("users")).where(sa.text("status = 'active'"))
    )
    orgs = db.session.scalar(
        sa.select(sa.func.count(sa.distinct(sa.text("organisation_id"))))
        .select_from(sa.text("users"))
        .where(sa.text("status = 'active'"))
    )
    # AMBER+STRICT: the author's organisation (2 people); GREEN: every active member.
    plural = "s" if orgs - 1 != 1 else ""
    expected = f"This makes the post visible to {orgs - 1:,} more organisation{plural} ({people - 2:,} more"
    assert expected in answer.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Post, post.id).tlp is Tlp.AMBER_STRICT

    tighter = author.post(f"/posts/{post.id}/edit", data={**fields, "tlp": "RED"})
    assert "hidden from 0 organisations (1 person)" in tighter.get_data(as_text=True)
    # A marking that cannot be saved says why, in the preview's place, and saves nothing.
    wrong = author.post(f"/posts/{post.id}/edit", data={**fields, "tlp": "PURPLE"})
    assert wrong.status_code == 422 and "This marking cannot be saved as it is:" in wrong.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Post, post.id).tlp is Tlp.AMBER_STRICT


def test_the_meeting_page_and_edit_form_say_who_sees_it(world: dict[str, Any], new_client: Any) -> None:
    from app.meetings.models import Meeting
    from app.meetings.services import schedule_meeting
    from app.meetings.validation import parse_meeting
    from tests.test_meetings import _form, technical

    raw = technical(tlp="AMBER+STRICT")
    del raw["agenda"]
    coordinator = world["author"]
    from app.auth.services import grant_membership

    grant_membership(coordinator, CLUSTER, "coordinator", actor=None)
    meeting = schedule_meeting(coordinator, parse_meeting(raw))
    db.session.commit()
    browser = new_client(coordinator)
    panel = _panel_text(browser.get(f"/meetings/{meeting.id}").get_data(as_text=True))
    assert "Who can see this meeting" in panel and "Port of Home" in panel and "Elsewhere Lines" not in panel
    page = browser.get(f"/meetings/{meeting.id}/edit").get_data(as_text=True)
    fields = _form(csrf_token_from(page), tlp="AMBER", version=str(meeting.version), preview="audience")
    del fields["agenda"]
    answer = browser.post(f"/meetings/{meeting.id}/edit", data=fields)
    assert answer.status_code == 200
    # AMBER adds the cluster's members: the member elsewhere.
    assert "This makes the meeting visible to 1 more organisation (1 more person)" in answer.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Meeting, meeting.id).tlp.value == "AMBER+STRICT"
