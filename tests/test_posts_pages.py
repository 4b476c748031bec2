"""The post pages as members (and people outside a post's audience) use them.

Feed, post page, new/edit/delete forms, comments, history, "my organisation's posts",
search and the dashboard's unread posts; what a user or an attacker notices.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from app.clusters.models import Cluster, Comment, Post, PostVersion
from app.extensions import db
from tests.conftest import csrf_token_from

VALID_CONTAINER = "CSQU3054383"
BAD_CONTAINER = "CSQU3054384"
VALID_IMO = "9074729"


# --- helpers -------------------------------------------------------------------------------------


def publish(author: Any, cluster: str = "policy", **fields: Any) -> Post:
    """A post written through the service, as the API or a page would."""
    from app.clusters.services import publish_post
    from app.clusters.validation import parse_post

    raw = {"type": "best_practice", "cluster": cluster, "title": "Gate checks", "body": "Check seals.", "tlp": "GREEN"}
    raw.update(fields)
    post = publish_post(author, parse_post(raw))
    db.session.commit()
    return post


def workplan_item(slug: str = "policy", title: str = "Port security guidelines") -> int:
    from app.workplan.models import WorkplanItem
    from app.workplan.services import workplan_of

    cluster_id = db.session.scalar(sa.select(Cluster.id).where(Cluster.slug == slug))
    plan = workplan_of(2026)
    item = WorkplanItem(cluster_id=cluster_id, workplan=plan, title=title)
    db.session.add(item)
    db.session.commit()
    return item.id


def form_data(page_html: str, **fields: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "csrf_token": csrf_token_from(page_html),
        "type": "best_practice",
        "title": "Seal checks at the gate",
        "body": "Check **every** seal.",
        "tlp": "GREEN",
        "tags": "",
    }
    match = re.search(r'<input[^>]*name="version"[^>]*value="(\d+)"', page_html)
    if match:
        data["version"] = match.group(1)
    data.update(fields)
    return {k: v for k, v in data.items() if v is not None}


def submit_new(client: Any, slug: str = "policy", **fields: Any) -> Any:
    page = client.get(f"/clusters/{slug}/posts/new")
    assert page.status_code == 200
    return client.post(f"/clusters/{slug}/posts/new", data=form_data(page.get_data(as_text=True), **fields))


def submit_edit(client: Any, post_id: int, **fields: Any) -> Any:
    page = client.get(f"/posts/{post_id}/edit")
    assert page.status_code == 200
    return client.post(f"/posts/{post_id}/edit", data=form_data(page.get_data(as_text=True), **fields))


def any_token(client: Any) -> str:
    return csrf_token_from(client.get("/account/").get_data(as_text=True))


def post_count() -> int:
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count()).select_from(Post)) or 0


def field_group(html: str, field_id: str) -> str:
    """The ECL form group holding the input ``field_id``: its label, help, error and input."""
    end = html.index(f'id="{field_id}"')
    start = html.rindex('<div class="ecl-form-group', 0, end)
    return html[start : html.index(">", end) + 1]


def post_id_from(response: Any) -> int:
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    match = re.fullmatch(r"/posts/(\d+)", response.headers["Location"])
    assert match, response.headers["Location"]
    return int(match.group(1))


# --- writing posts through the form ---------------------------------------------------------------


def test_contributor_publishes_a_best_practice(client, make, login_as):
    login_as(make.user(clusters={"policy": "contributor"}))
    response = submit_new(
        client, title="Seal checks at the gate", body="Check **every** seal.", tlp="AMBER", tags="seals, Gate Checks"
    )
    post_id = post_id_from(response)
    page = client.get(f"/posts/{post_id}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "is published in Policy development and implementation" in text
    assert "Seal checks at the gate" in text
    assert "<strong>every</strong>" in text
    assert 'class="pax-tlp pax-tlp--amber pax-tlp--l">TLP:AMBER</span>' in text
    assert "share it only on a need-to-know basis within your organisation and its clients" in text
    assert 'href="/clusters/policy?tag=gate-checks"' in text


def test_contributor_publishes_an_incident_note(client, make, login_as):
    login_as(make.user(clusters={"operational-cooperation": "contributor"}, org_type="customs"))
    response = submit_new(
        client,
        "operational-cooperation",
        type="incident_note",
        title="Cocaine in reefer",
        body="Found during a scan.",
        tlp="AMBER",
        law_enforcement_only="y",
        incident_port_locode="beanr",
        incident_occurred_on="2025-03-14",
        incident_modus_operandi="rip_on_rip_off",
        incident_substance="cocaine",
        incident_quantity_kg="1250.5",
        incident_container_numbers=f"{VALID_CONTAINER}\n",
        incident_vessel_imo=VALID_IMO,
    )
    text = client.get(f"/posts/{post_id_from(response)}").get_data(as_text=True)
    for shown in ("Incident details", "BEANR", "14 March 2025", "Rip-on/rip-off", "Cocaine", "1,250.5 kg"):
        assert shown in text
    assert VALID_CONTAINER in text and VALID_IMO in text
    assert "Law enforcement only" in text


@pytest.mark.parametrize(
    ("typed", "shown", "refusal"),
    [
        ("48,5", "48.5 kg", None),
        ("1 234,5", "1,234.5 kg", None),
        ("1,234,5", None, "use one decimal point or comma and no other separators"),
        ("1,234", None, "write 1234 or 1.234"),
    ],
)
def test_incident_quantity_takes_a_decimal_comma_and_refuses_an_ambiguous_one(
    client, make, login_as, typed, shown, refusal
):
    login_as(make.user(clusters={"operational-cooperation": "contributor"}, org_type="customs"))
    response = submit_new(
        client,
        "operational-cooperation",
        type="incident_note",
        title="Seizure weighed at the scale",
        body="Weighed twice.",
        tlp="AMBER",
        incident_port_locode="BEANR",
        incident_occurred_on="2025-03-14",
        incident_modus_operandi="rip_on_rip_off",
        incident_substance="cocaine",
        incident_quantity_kg=typed,
    )
    if refusal is None:
        text = client.get(f"/posts/{post_id_from(response)}").get_data(as_text=True)
        assert shown in text
    else:
        assert response.status_code == 422
        assert refusal in field_group(response.get_data(as_text=True), "incident_quantity_kg")


def test_contributor_publishes_a_deliverable_against_a_workplan_item(client, make, login_as):
    item_id = workplan_item("policy", "Guidelines on port access")
    login_as(make.user(clusters={"policy": "coordinator"}))
    form = client.get("/clusters/policy/posts/new").get_data(as_text=True)
    assert "2026: Guidelines on port access" in form
    response = submit_new(client, type="deliverable", title="Access guidelines v1", workplan_item_id=str(item_id))
    text = client.get(f"/posts/{post_id_from(response)}").get_data(as_text=True)
    assert "Deliverable" in text and "2026: Guidelines on port access" in text


def test_a_validation_error_keeps_all_input_and_stores_nothing(client, make, login_as):
    login_as(make.user(clusters={"operational-cooperation": "contributor"}))
    response = submit_new(
        client,
        "operational-cooperation",
        type="incident_note",
        title="Cloned container at the quay",
        body="The body text I wrote.",
        tlp="AMBER",
        tags="cloning",
        incident_port_locode="NLRTM",
        incident_occurred_on="2025-01-02",
        incident_modus_operandi="container_cloning",
        incident_substance="cocaine",
        incident_container_numbers=BAD_CONTAINER,
        incident_vessel_imo=VALID_IMO,
    )
    text = response.get_data(as_text=True)
    assert response.status_code == 422
    assert post_count() == 0
    container = field_group(text, "incident_container_numbers")
    assert "is not a valid ISO 6346 container number" in container
    assert 'aria-invalid="true"' in container
    assert "is not a valid ISO 6346" not in field_group(text, "title")
    assert 'value="Cloned container at the quay"' in text
    assert "The body text I wrote.</textarea>" in text
    assert f">{BAD_CONTAINER}</textarea>" in text
    assert 'value="NLRTM"' in text and 'value="cloning"' in text and f'value="{VALID_IMO}"' in text
    assert re.search(r'value="AMBER"\s+checked', text)
    assert re.search(r'<option value="container_cloning" selected>', text)
    assert 'href="#incident_container_numbers"' in text  # the summary links to the field


def test_missing_fields_are_named_next_to_them(client, make, login_as):
    login_as(make.user(clusters={"policy": "contributor"}))
    response = submit_new(client, type="", title="", body="", tlp=None)
    text = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Choose the type of post." in field_group(text, "type")
    assert "Enter the title." in field_group(text, "title")
    assert "Enter the text." in field_group(text, "body")
    assert "Choose the TLP marking." in text
    assert post_count() == 0


def test_recipients_are_checked_and_shown(client, make, login_as):
    partner = make.org("customs", name="Douane Antwerpen")
    author = make.user(clusters={"policy": "contributor"})
    login_as(author)
    wrong = submit_new(client, tlp="GREEN", recipient_orgs="Douane Antwerpen")
    assert wrong.status_code == 422
    assert "Recipient organisations are for TLP:AMBER" in wrong.get_data(as_text=True)
    post_id = post_id_from(submit_new(client, tlp="AMBER+STRICT", recipient_orgs=partner.name))
    assert "Douane Antwerpen" in client.get(f"/posts/{post_id}").get_data(as_text=True)


def test_a_reader_cannot_post(client, make, login_as):
    login_as(make.user(clusters={"policy": "reader"}))
    assert client.get("/clusters/policy/posts/new").status_code == 403
    response = client.post(
        "/clusters/policy/posts/new",
        data={"csrf_token": any_token(client), "type": "best_practice", "title": "x", "body": "y", "tlp": "GREEN"},
    )
    assert response.status_code == 403
    assert post_count() == 0
    assert "New post" not in client.get("/clusters/policy").get_data(as_text=True)


def test_a_non_member_cannot_post_and_sees_no_button(client, make, login_as):
    login_as(make.user())
    assert client.get("/clusters/policy/posts/new").status_code == 403
    assert 'href="/clusters/policy/posts/new"' not in client.get("/clusters/policy").get_data(as_text=True)


# --- editing, history, deleting ----------------------------------------------------------------------


def test_editing_keeps_the_previous_version_in_the_history(client, make, login_as):
    author = make.user(clusters={"policy": "contributor"})
    post = publish(author, title="First title", body="First body text")
    login_as(author)
    form = client.get(f"/posts/{post.id}/edit").get_data(as_text=True)
    assert 'value="First title"' in form and "First body text</textarea>" in form
    response = submit_edit(client, post.id, title="Second title", body="Second body", tlp="AMBER")
    assert response.headers["Location"] == f"/posts/{post.id}"
    page = client.get(f"/posts/{post.id}").get_data(as_text=True)
    assert "Second title" in page and "saved as version 2" in page
    history = client.get(f"/posts/{post.id}/history").get_data(as_text=True)
    assert "Version 2 (current)" in history and "Version 1" in history
    assert "First title" in history and "First body text" in history
    assert "pax-tlp--green" in history and "pax-tlp--amber" in history
    assert author.name in history


def test_edit_with_a_validation_error_changes_nothing(client, make, login_as):
    author = make.user(clusters={"policy": "contributor"})
    post = publish(author, title="Kept title")
    login_as(author)
    response = submit_edit(client, post.id, title="New title", tags="not a tag!")
    assert response.status_code == 422
    assert 'value="New title"' in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Post, post.id).title == "Kept title"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PostVersion)) == 0


def test_a_stale_edit_is_not_silently_overwritten(client, make, login_as):
    author = make.user(clusters={"policy": "contributor"})
    post = publish(author)
    login_as(author)
    page = client.get(f"/posts/{post.id}/edit").get_data(as_text=True)
    assert submit_edit(client, post.id, title="Changed elsewhere").status_code == 302
    stale = client.post(f"/posts/{post.id}/edit", data=form_data(page, title="My late change"))
    assert stale.status_code == 409
    text = stale.get_data(as_text=True)
    assert "Someone else saved a change to this post while you were editing it" in text
    assert "My late change" in text and "Now saved: “Changed elsewhere”" in text
    db.session.expire_all()
    assert db.session.get(Post, post.id).title == "Changed elsewhere"


def test_another_member_may_not_edit_or_delete(client, make, login_as):
    author = make.user(clusters={"policy": "contributor"})
    post = publish(author, title="Not yours")
    login_as(make.user(clusters={"policy": "coordinator"}))
    page = client.get(f"/posts/{post.id}").get_data(as_text=True)
    assert f'href="/posts/{post.id}/edit"' not in page and f'href="/posts/{post.id}/delete"' not in page
    assert client.get(f"/posts/{post.id}/edit").status_code == 403
    token = any_token(client)
    data = {
        "csrf_token": token,
        "type": "best_practice",
        "title": "Hijacked",
        "body": "x",
        "tlp": "GREEN",
        "version": "1",
    }
    assert client.post(f"/posts/{post.id}/edit", data=data).status_code == 403
    assert client.get(f"/posts/{post.id}/delete").status_code == 403
    assert client.post(f"/posts/{post.id}/delete", data={"csrf_token": token}).status_code == 403
    db.session.expire_all()
    assert db.session.get(Post, post.id).title == "Not yours"


def test_the_focal_point_of_the_authors_organisation_may_edit(client, make, login_as):
    author = make.user(clusters={"policy": "contributor"})
    focal = make.user(org=author.organisation, focal_point=True)
    post = publish(author, title="Written by a colleague")
    login_as(focal)
    assert f'href="/posts/{post.id}/edit"' in client.get(f"/posts/{post.id}").get_data(as_text=True)
    assert submit_edit(client, post.id, title="Corrected by the focal point").status_code == 302
    history = client.get(f"/posts/{post.id}/history").get_data(as_text=True)
    assert focal.name in history and "Written by a colleague" in history


def test_the_author_deletes_after_confirming(client, make, login_as):
    author = make.user(clusters={"policy": "contributor"})
    post = publish(author, title="To be removed")
    login_as(author)
    confirm = client.get(f"/posts/{post.id}/delete")
    assert confirm.status_code == 200 and "This cannot be undone" in confirm.get_data(as_text=True)
    response = client.post(
        f"/posts/{post.id}/delete", data={"csrf_token": csrf_token_from(confirm.get_data(as_text=True))}
    )
    assert response.status_code == 302 and response.headers["Location"] == "/clusters/policy"
    assert client.get(f"/posts/{post.id}").status_code == 404
    assert post_count() == 0
    assert "is deleted, with its history and comments" in client.get("/clusters/policy").get_data(as_text=True)
    assert "To be removed" not in client.get("/clusters/policy").get_data(as_text=True)


# --- comments -----------------------------------------------------------------------------------------


def test_members_comment_and_readers_only_read(client, make, login_as, new_client):
    author = make.user(clusters={"policy": "contributor"})
    post = publish(author, tlp="AMBER")
    login_as(make.user(clusters={"policy": "contributor"}))
    page = client.get(f"/posts/{post.id}").get_data(as_text=True)
    response = client.post(
        f"/posts/{post.id}/comments", data={"csrf_token": csrf_token_from(page), "body": "Seen the *same* at our port."}
    )
    assert response.status_code == 302 and response.headers["Location"].startswith(f"/posts/{post.id}#comment-")
    assert "Seen the <em>same</em> at our port." in client.get(f"/posts/{post.id}").get_data(as_text=True)

    reader = new_client(make.user(clusters={"policy": "reader"}))
    page = reader.get(f"/posts/{post.id}").get_data(as_text=True)
    assert "Seen the <em>same</em> at our port." in page
    assert f'action="/posts/{post.id}/comments"' not in page
    refused = reader.post(f"/posts/{post.id}/comments", data={"csrf_token": csrf_token_from(page), "body": "Me too"})
    assert refused.status_code == 403
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Comment)) == 1


def test_an_empty_comment_is_refused_on_the_page(client, make, login_as):
    author = make.user(clusters={"policy": "contributor"})
    post = publish(author)
    login_as(author)
    page = client.get(f"/posts/{post.id}").get_data(as_text=True)
    response = client.post(f"/posts/{post.id}/comments", data={"csrf_token": csrf_token_from(page), "body": "  "})
    assert response.status_code == 422 and "Write your comment." in response.get_data(as_text=True)


# --- who sees what -------------------------------------------------------------------------------------


def test_outside_an_amber_posts_audience_everything_is_404(client, make, login_as):
    author = make.user(clusters={"policy": "contributor"})
    post = publish(author, title="Amber for the policy cluster", tlp="AMBER")
    publish(author, title="Green for everyone", tlp="GREEN")
    login_as(make.user(clusters={"innovation": "contributor"}))
    token = any_token(client)
    for url in (f"/posts/{post.id}", f"/posts/{post.id}/history", f"/posts/{post.id}/edit", f"/posts/{post.id}/delete"):
        assert client.get(url).status_code == 404, url
    for url in (f"/posts/{post.id}/comments", f"/posts/{post.id}/edit", f"/posts/{post.id}/delete"):
        assert client.post(url, data={"csrf_token": token, "body": "hi"}).status_code == 404, url
    assert client.get("/posts/999999").status_code == 404
    feed = client.get("/clusters/policy").get_data(as_text=True)
    assert "Green for everyone" in feed and "Amber for the policy cluster" not in feed
    assert "Amber for the policy cluster" not in client.get("/search?q=amber").get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Comment)) == 0


def test_red_post_is_seen_by_named_recipients_only(client, make, login_as, new_client):
    author = make.user(clusters={"policy": "contributor"})
    named = make.user(clusters={"policy": "reader"})
    post = publish(author, title="Red for one person", tlp="RED", recipient_users=[named.email])
    login_as(named)
    page = client.get(f"/posts/{post.id}").get_data(as_text=True)
    assert "pax-tlp--red" in page and named.name in page
    colleague = new_client(make.user(org=author.organisation, clusters={"policy": "coordinator"}))
    assert colleague.get(f"/posts/{post.id}").status_code == 404


def test_a_script_in_markdown_is_shown_as_text_never_as_a_tag(client, make, login_as):
    author = make.user(clusters={"policy": "contributor"})
    login_as(author)
    post_id = post_id_from(
        submit_new(
            client,
            title='<script>alert("t")</script> title',
            body='<script>alert("b")</script>\n\n<img src=x onerror=alert(1)> [link](javascript:alert(2))',
        )
    )
    for url in (f"/posts/{post_id}", "/clusters/policy", f"/posts/{post_id}/history", "/search?q=alert"):
        text = client.get(url).get_data(as_text=True)
        assert "<script>alert" not in text, url
        assert "<img src=x" not in text and "onerror=alert" not in text.replace("onerror=alert(1)&gt;", ""), url
        assert 'href="javascript:' not in text, url
    assert "&lt;script&gt;alert" in client.get(f"/posts/{post_id}").get_data(as_text=True)


# --- feeds, my organisation, search -------------------------------------------------------------------


def test_feed_lists_with_tlp_labels_filters_and_pages(client, make, login_as):
    author = make.user(clusters={"policy": "contributor"})
    for n in range(23):
        publish(author, title=f"Routine note {n:02d}", tlp="GREEN", tags=["routine"])
    publish(author, title="The incident", type="incident_note", tlp="AMBER", tags=["cloning"], incident={
        "port_locode": "BEANR", "occurred_on": "2025-01-01", "modus_operandi": "other", "substance": "none",
    })  # fmt: skip
    publish(author, title="Clear guidance", tlp="CLEAR")
    login_as(make.user(clusters={"policy": "reader"}))

    first = client.get("/clusters/policy").get_data(as_text=True)
    assert first.count('class="ecl-content-item ecl-content-item--divider pax-post-item"') == 20
    assert "25 posts" in first and 'aria-label="Go to page 2"' in first
    assert "Clear guidance" in first and "Routine note 04" not in first
    assert 'pax-tlp pax-tlp--clear">TLP:CLEAR' in first and 'pax-tlp pax-tlp--amber">TLP:AMBER' in first
    second = client.get("/clusters/policy?page=2").get_data(as_text=True)
    assert second.count("<article") == 5 and "Routine note 00" in second

    by_type = client.get("/clusters/policy?type=incident_note").get_data(as_text=True)
    assert "The incident" in by_type and "Routine note" not in by_type and "1 post" in by_type
    by_tlp = client.get("/clusters/policy?tlp=CLEAR").get_data(as_text=True)
    assert "Clear guidance" in by_tlp and "The incident" not in by_tlp
    by_tag = client.get("/clusters/policy?tag=cloning").get_data(as_text=True)
    assert "The incident" in by_tag and "Routine note" not in by_tag
    paged = client.get("/clusters/policy?tag=routine&page=2").get_data(as_text=True)
    assert paged.count("<article") == 3 and 'href="/clusters/policy?tag=routine&amp;page=1"' in paged.replace(
        "page=1&amp;tag=routine", "tag=routine&amp;page=1"
    )
    none = client.get("/clusters/policy?tlp=RED").get_data(as_text=True)
    assert "No posts match these filters" in none

    for odd in ("?type=memo", "?tlp=PURPLE", "?tag=%3Cb%3E", "?page=abc", "?page=-3", "?page=99999999999999999999"):
        response = client.get(f"/clusters/policy{odd}")
        assert response.status_code == 200, odd
        assert "<b>" not in response.get_data(as_text=True).split('id="main-content"')[1], odd
    assert "There is no TLP marking called" in client.get("/clusters/policy?tlp=PURPLE").get_data(as_text=True)
    assert "There is nothing on page 9" in client.get("/clusters/policy?page=9").get_data(as_text=True)


def test_a_capped_count_reads_more_than(app):
    from flask import render_template_string

    from app.pagination import Page

    page = Page(items=[object()] * 20, page=1, per_page=20, total=1000, total_capped=True)
    with app.test_request_context():
        html = render_template_string(
            '{% import "macros/pax.html" as pax %}'
            '{{ pax.result_count(page) }}|{{ pax.pagination(page, "clusters.index") }}',
            page=page,
        )
    assert html.startswith("more than 1,000 posts|")
    assert 'aria-label="Go to next page"' in html and "Page 1 of" not in html


def test_my_organisations_posts(client, make, login_as):
    author = make.user(clusters={"policy": "contributor"})
    colleague = make.user(org=author.organisation)
    publish(author, title="Ours in policy", tlp="AMBER+STRICT")
    publish(make.user(clusters={"policy": "contributor"}), title="Someone else's", tlp="GREEN")
    login_as(colleague)
    text = client.get("/organisation/posts").get_data(as_text=True)
    assert "Ours in policy" in text and "Someone else's" not in text
    assert "pax-tlp--amber-strict" in text


def test_search_finds_visible_posts_only_with_highlights(client, make, login_as):
    author = make.user(clusters={"policy": "contributor"})
    publish(author, title="Reefer inspections", body="Inspect every reefer container at the terminal.", tlp="GREEN")
    publish(author, title="Hidden reefer findings", body="Reefer secrets of the policy cluster.", tlp="AMBER")
    login_as(make.user(clusters={"innovation": "reader"}))

    empty = client.get("/search")
    assert empty.status_code == 200 and "Results" not in empty.get_data(as_text=True)
    text = client.get("/search?q=reefer").get_data(as_text=True)
    assert "Reefer inspections" in text and "Hidden reefer findings" not in text
    assert "<mark>" in text and "1 result" in text
    assert "pax-tlp--green" in text
    assert "Nothing found for" in client.get("/search?q=zeppelin").get_data(as_text=True)
    filtered = client.get("/search?q=reefer&cluster=innovation").get_data(as_text=True)
    assert "Nothing found for" in filtered
    assert client.get("/search?q=reefer&cluster=nowhere&type=x&tlp=y").status_code == 200


# --- dashboard ------------------------------------------------------------------------------------------


def test_dashboard_keeps_what_is_unread_until_it_is_read(client, make, login_as):
    """Reloading the dashboard no longer empties it (issue 21): a post stays until its reader
    opens it or marks everything read."""
    from tests.conftest import csrf_token_from

    reader = make.user(clusters={"policy": "reader"})
    login_as(reader)
    first = client.get("/dashboard").get_data(as_text=True)
    assert "Unread in your clusters" in first and "Nothing unread" in first

    fresh = publish(make.user(clusters={"policy": "contributor"}), title="Fresh from the policy cluster", tlp="AMBER")
    publish(make.user(clusters={"innovation": "contributor"}), "innovation", title="Elsewhere news", tlp="GREEN")
    second = client.get("/dashboard").get_data(as_text=True)
    assert "Fresh from the policy cluster" in second and "1 unread post" in second
    assert "Elsewhere news" not in second
    assert 'pax-tlp pax-tlp--amber">TLP:AMBER' in second
    third = client.get("/dashboard").get_data(as_text=True)
    assert "Fresh from the policy cluster" in third, "a reload must not empty the list"
    feed = client.get("/clusters/policy").get_data(as_text=True)
    assert "Unread" in feed and "Mark all read" in feed

    assert client.get(f"/posts/{fresh.id}").status_code == 200
    after_reading = client.get("/dashboard").get_data(as_text=True)
    assert "Fresh from the policy cluster" not in after_reading and "Nothing unread" in after_reading

    publish(make.user(clusters={"policy": "contributor"}), title="Another one", tlp="GREEN")
    page = client.get("/clusters/policy").get_data(as_text=True)
    assert "Another one" in page and "pax-post-list__unread" in page
    marked = client.post("/dashboard/read-all", data={"csrf_token": csrf_token_from(page), "next": "/clusters/policy"})
    assert marked.status_code == 302 and marked.headers["Location"].endswith("/clusters/policy")
    assert "pax-post-list__unread" not in client.get("/clusters/policy").get_data(as_text=True)
    assert "Nothing unread" in client.get("/dashboard").get_data(as_text=True)
    away = client.post("/dashboard/read-all", data={"csrf_token": csrf_token_from(page), "next": "//evil.example/"})
    assert away.headers["Location"].endswith("/dashboard")


@pytest.mark.parametrize("tlp", ["CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"])
def test_every_marking_has_its_standard_colour(app, tlp):
    from flask import render_template_string

    colours = {"RED": "#ff2b2b", "AMBER": "#ffc000", "AMBER+STRICT": "#ffc000", "GREEN": "#33ff00", "CLEAR": "#fff"}
    with app.test_request_context():
        html = render_template_string('{% import "macros/pax.html" as pax %}{{ pax.tlp_label(t) }}', t=tlp)
    css_class = re.search(r"pax-tlp--([a-z-]+)", html).group(1)
    rules = (Path(app.root_path).parent / "static" / "css" / "pax.css").read_text(encoding="utf-8")
    block = re.search(r"([^}]*\.pax-tlp--" + re.escape(css_class) + r"\b[^{]*)\{([^}]*)\}", rules)
    assert block and f"color: {colours[tlp]}" in block.group(2)
    assert f">TLP:{tlp}</span>" in html


def test_odd_input_is_refused_plainly_never_a_server_error(client, make, login_as):
    author = make.user(clusters={"policy": "contributor"})
    post = publish(author)
    login_as(author)
    for url in (
        "/posts/99999999999999999999",
        "/posts/2147483648/history",
        "/clusters/%00",
        "/clusters/policy%00/posts/new",
    ):
        assert client.get(url).status_code == 404, url
    for url in (
        "/clusters/policy?page=%C2%B2&tag=a%00",
        "/search?q=a%00b&cluster=%00&tlp=%00",
        "/organisation/posts?type=%00",
    ):
        assert client.get(url).status_code == 200, url
    assert submit_new(client, tlp="AMBER", recipient_orgs="Port\x00").status_code == 422
    assert submit_new(client, type="deliverable", workplan_item_id="99999999999").status_code == 422
    assert submit_new(client, type="deliverable", workplan_item_id="²").status_code == 422
    assert submit_edit(client, post.id, title="Nul\x00title").status_code == 422
    assert post_count() == 1


# --- what a feed page costs ------------------------------------------------------------------------


def test_a_feed_card_changes_when_its_post_or_organisation_does(client, make, login_as):
    """Cards are rendered once per version (app/htmlcache/fragments.py): an edit or a renamed organisation
    must show at once, in the feed and on the dashboard."""
    author = make.user(clusters={"policy": "contributor"})
    post = publish(author, title="Seal audit", tlp="GREEN", tags=["seals"])
    login_as(author)
    before = client.get("/clusters/policy").get_data(as_text=True)
    assert "Seal audit" in before and "pax-tlp--green" in before and ">seals<" in before

    assert submit_edit(client, post.id, title="Seal audit, revised", tlp="AMBER", tags="gates").status_code == 302
    after = client.get("/clusters/policy").get_data(as_text=True)
    assert "Seal audit, revised" in after and "pax-tlp--amber" in after and ">gates<" in after
    assert "pax-tlp--green" not in after and ">seals<" not in after

    author.organisation.name = "Renamed Port Authority"
    db.session.commit()
    assert "Renamed Port Authority" in client.get("/clusters/policy").get_data(as_text=True)


def test_a_feed_page_costs_the_same_statements_however_many_posts(app, client, make, login_as):
    from sqlalchemy import event

    author = make.user(clusters={"policy": "contributor"})
    login_as(make.user(clusters={"policy": "reader"}))
    statements: list[str] = []

    def count(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        # The test's transaction wraps each request's in a SAVEPOINT; a server has none.
        if "SAVEPOINT" not in statement:
            statements.append(statement)

    def cost() -> int:
        statements.clear()
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            assert client.get("/clusters/policy").status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        return len(statements)

    publish(author, title="One", tags=["a"])
    few = cost()
    for n in range(24):
        publish(author, title=f"Note {n}", tags=["a", f"t{n}"], tlp="AMBER" if n % 2 else "GREEN")
    assert cost() == few
    # Session with account and unread count, cluster with the reader's facts, page with card
    # columns, tag suggestions, which of the page's posts are unread, and the posts of cards not
    # rendered before.
    assert few <= 6, statements
    # Once every card on the page is rendered, no post is loaded at all.
    assert cost() == few - 1, statements
    assert not any("posts.body_html" in s for s in statements)


def test_feed_counts_stop_at_the_cap_on_every_page(app, make, monkeypatch):
    from app.clusters import queries

    author = make.user(clusters={"policy": "contributor"})
    for n in range(9):
        publish(author, title=f"Note {n}")
    monkeypatch.setattr(queries, "COUNT_CAP", 5)
    with app.test_request_context():
        first = queries.feed(author, queries.PostFilter(), page=1, per_page=2)
        assert [p.post.title for p in first.items] == ["Note 8", "Note 7"]
        assert (first.total, first.total_capped, first.has_next) == (5, True, True)
        # Past the cap the page still holds the right posts, and the count still says "more than".
        fourth = queries.feed(author, queries.PostFilter(), page=4, per_page=2)
        assert [p.post.title for p in fourth.items] == ["Note 2", "Note 1"]
        assert (fourth.total, fourth.total_capped) == (5, True)
        beyond = queries.feed(author, queries.PostFilter(), page=9, per_page=2)
        assert (beyond.items, beyond.total, beyond.total_capped) == ([], 5, True)
        monkeypatch.setattr(queries, "COUNT_CAP", 1000)
        exact = queries.feed(author, queries.PostFilter(), page=5, per_page=2)
        assert ([p.post.title for p in exact.items], exact.total, exact.total_capped) == (["Note 0"], 9, False)


def test_a_card_whose_post_is_deleted_after_the_list_query_is_left_out(app, make):
    """The list query and the load of its cards' posts are two statements; a post deleted in
    between is missing from the page rather than an error."""
    from app.clusters import queries
    from app.clusters.cards import post_card
    from app.clusters.services import delete_post
    from app.htmlcache.fragments import fragments

    author = make.user(clusters={"policy": "contributor"})
    publish(author, title="Kept")
    gone = publish(author, title="Gone")
    with app.test_request_context():
        page = queries.feed(author, queries.PostFilter())
        fragments().clear()
        delete_post(author, gone)
        db.session.commit()
        cards = [str(post_card(card)) for card in page.items]
    assert cards[0] == "" and "Kept" in cards[1]


def test_the_lru_cache_keeps_only_the_most_recent():
    from markupsafe import escape

    from app.htmlcache.lru import LruCache

    cache = LruCache[str](capacity=2)
    renders: list[str] = []

    def render(text: str):  # type: ignore[no-untyped-def]
        return lambda: renders.append(text) or escape(text)

    assert cache.get("a", render("A")) == "A" and cache.get("b", render("B")) == "B"
    assert cache.get("a", render("A again")) == "A"  # a hit, and now the most recent
    cache.get("c", render("C"))
    assert len(cache) == 2 and cache.get("b", render("B again")) == "B again"
    assert renders == ["A", "B", "C", "B again"]
