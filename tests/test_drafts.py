"""Nothing written is lost: drafts, autosave, and forms sent after a session ended or aged.

What a member notices (their words come back, in their browser only, and only to them) and what
an attacker would try (another member's draft, a cross-site form put into a member's page).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from app.auth.models import UserSession
from app.drafts.models import Draft, DraftKind
from app.extensions import db
from tests.conftest import csrf_token_from, sign_in
from tests.test_posts_pages import form_data, publish

SAME_ORIGIN = {"Sec-Fetch-Site": "same-origin"}


def _end_sessions(user: Any) -> None:
    db.session.execute(
        sa.update(UserSession).where(UserSession.user_id == user.id).values(revoked_at=datetime.now(UTC))
    )
    db.session.commit()


def _drafts(user: Any) -> list[Draft]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(Draft).where(Draft.user_id == user.id)).all())


def _textarea(html: str, name: str) -> str:
    match = re.search(rf'<textarea[^>]*name="{name}"[^>]*>(.*?)</textarea>', html, re.S)
    assert match, f"no textarea {name}"
    return match.group(1).strip()


def test_a_comment_sent_after_the_session_ended_is_filled_in_again_after_signing_in(client, make, login_as):
    author = make.user(clusters={"policy": "contributor"})
    post = publish(author)
    login_as(author)
    page = client.get(f"/posts/{post.id}").get_data(as_text=True)
    _end_sessions(author)

    sent = client.post(
        f"/posts/{post.id}/comments",
        data={"csrf_token": csrf_token_from(page), "body": "Seal 4471 was cut and glued back."},
        headers={**SAME_ORIGIN, "Referer": f"http://localhost/posts/{post.id}"},
    )
    assert sent.status_code == 302
    assert sent.headers["Location"].startswith("/login?next=")
    assert f"%2Fposts%2F{post.id}" in sent.headers["Location"]
    kept = _drafts(author)
    assert [d.kind for d in kept] == [DraftKind.KEPT]
    assert "Seal 4471" not in kept[0].fields_sealed  # sealed, not stored in clear
    assert "is kept: sign in again" in client.get("/login").get_data(as_text=True)

    sign_in(client, make, author)
    html = client.get(f"/posts/{post.id}").get_data(as_text=True)
    assert _textarea(html, "body") == "Seal 4471 was cut and glued back."
    assert "What you wrote is filled in again below" in html
    # Filled in once, it is now the member's draft, and sending the comment ends it.
    assert [d.kind for d in _drafts(author)] == [DraftKind.DRAFT]
    draft_id = _drafts(author)[0].id
    assert "Seal 4471" in client.get("/drafts/").get_data(as_text=True)
    done = client.post(
        f"/posts/{post.id}/comments",
        data={"csrf_token": csrf_token_from(html), "body": "Seal 4471 was cut and glued back.", "pax_draft": draft_id},
    )
    assert done.status_code == 302
    assert _drafts(author) == []


def test_a_kept_form_opens_only_in_its_browser_and_only_for_its_author(client, app, make, login_as, new_client):
    author = make.user(clusters={"policy": "contributor"})
    post = publish(author)
    login_as(author)
    token = csrf_token_from(client.get(f"/posts/{post.id}").get_data(as_text=True))
    _end_sessions(author)
    client.post(
        f"/posts/{post.id}/comments",
        data={"csrf_token": token, "body": "Only for my eyes."},
        headers={**SAME_ORIGIN, "Referer": f"http://localhost/posts/{post.id}"},
    )
    # The same member in another browser: nothing is filled in.
    elsewhere = new_client(author)
    assert "Only for my eyes." not in elsewhere.get(f"/posts/{post.id}").get_data(as_text=True)
    # Another member signing in on this browser (a shared office computer): nothing either.
    colleague = make.user(org=author.organisation, clusters={"policy": "contributor"})
    sign_in(client, make, colleague)
    assert "Only for my eyes." not in client.get(f"/posts/{post.id}").get_data(as_text=True)
    assert "Only for my eyes." not in client.get("/drafts/").get_data(as_text=True)


def test_a_cross_site_post_is_never_kept_to_fill_in_a_members_form(client, make, login_as):
    author = make.user(clusters={"policy": "contributor"})
    post = publish(author)
    login_as(author)
    _end_sessions(author)
    sent = client.post(
        f"/posts/{post.id}/edit",
        data={"title": "Planted", "body": "Planted", "tlp": "CLEAR", "type": "best_practice", "cluster": "policy"},
        headers={"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"},
    )
    assert sent.status_code == 400
    assert _drafts(author) == []
    # Even with a valid token (say, leaked), a cross-site form is not kept.
    sign_in(client, make, author)
    token = csrf_token_from(client.get("/account/").get_data(as_text=True))
    _end_sessions(author)
    sent = client.post(
        f"/posts/{post.id}/edit",
        data={"csrf_token": token, "title": "Planted", "body": "Planted", "tlp": "CLEAR"},
        headers={"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"},
    )
    assert sent.status_code == 302
    assert _drafts(author) == []


def test_a_form_whose_token_no_longer_holds_is_shown_again_filled_in(client, make, login_as):
    """Signing in again in another tab renews the session and its CSRF secret: the long post
    written meanwhile in the first tab would have ended on "form expired"."""
    member = make.user(clusters={"policy": "contributor"})
    login_as(member)
    page = client.get("/clusters/policy/posts/new").get_data(as_text=True)
    data = form_data(page, title="Reefer fraud at terminal 3", body="A long note. " * 200)
    data["csrf_token"] = "an-aged-token"
    sent = client.post("/clusters/policy/posts/new", data=data, headers=SAME_ORIGIN)
    assert sent.status_code == 302
    assert sent.headers["Location"] == "/clusters/policy/posts/new"
    html = client.get(sent.headers["Location"]).get_data(as_text=True)
    assert 'value="Reefer fraud at terminal 3"' in html
    assert _textarea(html, "body").startswith("A long note. A long note.")
    assert "What you wrote is filled in again below" in html


def test_secrets_and_sign_in_forms_are_never_kept(client, make, login_as):
    member = make.user()
    login_as(member)
    token = csrf_token_from(client.get("/account/").get_data(as_text=True))
    _end_sessions(member)
    client.post(
        "/account/password",
        data={"csrf_token": token, "current_password": "x" * 20, "new_password": "y" * 20},
        headers=SAME_ORIGIN,
    )
    assert _drafts(member) == []


def test_save_draft_without_script_and_continue_it_later(client, make, login_as, new_client):
    member = make.user(clusters={"policy": "contributor"})
    login_as(member)
    page = client.get("/clusters/policy/posts/new").get_data(as_text=True)
    data = form_data(page, title="Half-written: cloned containers", body="First paragraph.")
    saved = client.post("/clusters/policy/posts/new", data={**data, "pax_save_draft": "1"})
    assert saved.status_code == 302
    match = re.fullmatch(r"/clusters/policy/posts/new\?draft=(\d+)", saved.headers["Location"])
    assert match, saved.headers["Location"]
    draft_id = int(match.group(1))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Draft)) == 1
    # Nothing was published.
    from app.clusters.models import Post

    assert not db.session.scalars(sa.select(Post).where(Post.title.like("Half-written%"))).first()

    later = new_client(member)  # the browser was closed; the draft is on the server
    listing = later.get("/drafts/").get_data(as_text=True)
    assert "Half-written: cloned containers" in listing
    html = later.get(f"/clusters/policy/posts/new?draft={draft_id}").get_data(as_text=True)
    assert 'value="Half-written: cloned containers"' in html
    assert "You are continuing a draft" in html

    # Another member can neither open, list nor delete it.
    other = new_client(make.user(clusters={"policy": "contributor"}))
    opened = other.get(f"/clusters/policy/posts/new?draft={draft_id}").get_data(as_text=True)
    assert "Half-written" not in opened
    assert "Half-written" not in other.get("/drafts/").get_data(as_text=True)
    token = csrf_token_from(other.get("/drafts/").get_data(as_text=True))
    assert other.post(f"/drafts/{draft_id}/delete", data={"csrf_token": token}).status_code == 404

    # Publishing from the draft ends it.
    published = later.post(
        "/clusters/policy/posts/new",
        data=form_data(html, title="Cloned containers", body="Done.", pax_draft=str(draft_id)),
    )
    assert published.status_code == 302
    assert _drafts(member) == []


def test_autosave_keeps_one_draft_per_form_and_answers_in_words(client, make, login_as):
    member = make.user(clusters={"policy": "contributor"})
    login_as(member)
    page = client.get("/clusters/policy/posts/new").get_data(as_text=True)
    data = form_data(page, title="Autosaved", body="One")
    data["pax_action"] = "/clusters/policy/posts/new"
    first = client.post(
        "/drafts/autosave", data=data, headers={"Referer": "http://localhost/clusters/policy/posts/new"}
    )
    assert first.status_code == 200, first.get_data(as_text=True)
    assert first.json["saved"] is True
    assert first.json["message"].startswith("Draft saved at ")
    second = client.post("/drafts/autosave", data={**data, "body": "One two", "pax_draft": first.json["id"]})
    assert second.json["id"] == first.json["id"]
    assert len(_drafts(member)) == 1
    # Only forms that take drafts.
    other = client.post("/drafts/autosave", data={**data, "pax_action": "/account/password"})
    assert other.status_code == 422
    assert other.json["message"] == "This form does not take drafts."


def test_autosave_after_the_session_ended_keeps_the_text(client, make, login_as):
    member = make.user(clusters={"policy": "contributor"})
    login_as(member)
    page = client.get("/clusters/policy/posts/new").get_data(as_text=True)
    _end_sessions(member)
    data = form_data(page, title="Typed while signed out", body="Every word")
    data["pax_action"] = "/clusters/policy/posts/new"
    answer = client.post(
        "/drafts/autosave",
        data=data,
        headers={**SAME_ORIGIN, "Referer": "http://localhost/clusters/policy/posts/new"},
    )
    assert answer.status_code == 401
    assert answer.json["kept"] is True
    assert "sign in again" in answer.json["message"]
    sign_in(client, make, member)
    html = client.get("/clusters/policy/posts/new").get_data(as_text=True)
    assert 'value="Typed while signed out"' in html


def test_drafts_expire_with_the_retention_purge(app, client, make, login_as, runner):
    member = make.user(clusters={"policy": "contributor"})
    login_as(member)
    page = client.get("/clusters/policy/posts/new").get_data(as_text=True)
    client.post("/clusters/policy/posts/new", data={**form_data(page, title="Old"), "pax_save_draft": "1"})
    db.session.execute(sa.update(Draft).values(expires_at=datetime.now(UTC) - timedelta(days=1)))
    db.session.commit()
    assert "Old" not in client.get("/drafts/").get_data(as_text=True).split("Your drafts, newest first")[-1]
    result = runner.invoke(args=["retention", "purge"])
    assert result.exit_code == 0, result.output
    assert "Deleted 1 expired draft." in result.output
    assert _drafts(member) == []


# --- files at publish time -------------------------------------------------------------------------

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000") + b"\x00" * 64


def _with_files(page_html: str, files: list[tuple[bytes, str]], **fields: Any) -> dict[str, Any]:
    import io

    data = form_data(page_html, **fields)
    data["files"] = [(io.BytesIO(content), name) for content, name in files]
    return data


def _world() -> tuple[int, int, int, int]:
    """Posts, attachments, stored files and queued mails: a refused publish moves none of them."""
    from app.clusters.models import Attachment, Post
    from app.files.models import StoredFile
    from app.notifications.models import OutboxMessage

    db.session.commit()
    return tuple(  # type: ignore[return-value]
        db.session.scalar(sa.select(sa.func.count()).select_from(model)) or 0
        for model in (Post, Attachment, StoredFile, OutboxMessage)
    )


def test_a_new_post_is_published_with_its_files_and_subscribers_told_only_then(client, make, login_as):
    from app.clusters.models import Post
    from app.notifications.models import DeliveryMode, OutboxMessage
    from tests.test_notifications import follow

    author = make.user(clusters={"policy": "contributor"})
    subscriber = make.user(clusters={"policy": "reader"})
    follow(subscriber, DeliveryMode.IMMEDIATE)
    login_as(author)
    page = client.get("/clusters/policy/posts/new").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in page and 'name="files"' in page and " multiple" in page

    before = _world()
    sent = client.post(
        "/clusters/policy/posts/new",
        data=_with_files(page, [(PDF, "seal-report.pdf"), (PNG, "seal.png")], title="Seals with files"),
        content_type="multipart/form-data",
    )
    assert sent.status_code == 302
    post = db.session.scalars(sa.select(Post).where(Post.title == "Seals with files")).one()
    assert sorted(a.file.kind for a in post.attachments) == ["attachment", "attachment"]
    assert _world() == (before[0] + 1, before[1] + 2, before[2] + 2, before[3] + 1)
    mail = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.user_id == subscriber.id)).one()
    assert mail.created_at >= max(a.file.created_at for a in post.attachments)
    assert "with 2 files" in client.get(f"/posts/{post.id}").get_data(as_text=True)


def test_a_refused_file_publishes_nothing_and_keeps_what_was_typed(client, make, login_as):
    from app.notifications.models import DeliveryMode
    from tests.test_notifications import follow

    author = make.user(clusters={"policy": "contributor"})
    follow(make.user(clusters={"policy": "reader"}), DeliveryMode.IMMEDIATE)
    login_as(author)
    page = client.get("/clusters/policy/posts/new").get_data(as_text=True)
    before = _world()
    sent = client.post(
        "/clusters/policy/posts/new",
        data=_with_files(
            page,
            [(PDF, "fine.pdf"), (b"MZ\x90\x00" + b"\x00" * 60, "setup.exe")],
            title="Typed with care",
            body="Every word of it.",
        ),
        content_type="multipart/form-data",
    )
    assert sent.status_code == 415
    html = sent.get_data(as_text=True)
    assert "This file is a Windows program, which PAX does not accept" in html
    assert 'value="Typed with care"' in html and "Every word of it." in html
    assert "choose them again" in html
    assert "application/" not in html.split('id="main-content"')[-1].split("<footer")[0]
    assert _world() == before  # no post, no file, no blob row, no mail


def test_save_draft_from_the_form_with_files_keeps_the_text(client, make, login_as):
    member = make.user(clusters={"policy": "contributor"})
    login_as(member)
    page = client.get("/clusters/policy/posts/new").get_data(as_text=True)
    data = _with_files(page, [(PDF, "later.pdf")], title="Text kept, file not")
    data["pax_save_draft"] = "1"
    before = _world()
    saved = client.post("/clusters/policy/posts/new", data=data, content_type="multipart/form-data")
    assert saved.status_code == 302 and "?draft=" in saved.headers["Location"]
    assert _world() == before
    assert 'value="Text kept, file not"' in client.get(saved.headers["Location"]).get_data(as_text=True)


def test_a_form_with_files_and_an_aged_token_is_kept(client, make, login_as):
    member = make.user(clusters={"policy": "contributor"})
    login_as(member)
    page = client.get("/clusters/policy/posts/new").get_data(as_text=True)
    data = _with_files(page, [(PDF, "x.pdf")], title="Kept from a stream")
    data["csrf_token"] = "aged"
    sent = client.post("/clusters/policy/posts/new", data=data, content_type="multipart/form-data", headers=SAME_ORIGIN)
    assert sent.status_code == 302 and sent.headers["Location"] == "/clusters/policy/posts/new"
    assert 'value="Kept from a stream"' in client.get("/clusters/policy/posts/new").get_data(as_text=True)


def test_the_plain_words_check_catches_jargon_in_a_refusal():
    """Every test client response is checked by ``assert_plain_words``: it must catch what it is for."""
    import pytest
    from flask import Response

    from tests.conftest import assert_plain_words

    page = '<div class="ecl-feedback-message">This application/x-msdownload file is refused.</div>'
    with pytest.raises(AssertionError, match="jargon"):
        assert_plain_words(Response(page, status=415, mimetype="text/html"))
    with pytest.raises(AssertionError, match="jargon"):
        assert_plain_words(
            Response(
                '{"error": {"message": "the \'file\' part has no filename"}}', status=400, mimetype="application/json"
            )
        )
    assert_plain_words(Response(page, status=200, mimetype="text/html"))  # only refusals are read


def test_a_member_keeps_at_most_a_hundred_drafts(client, make, login_as):
    from app.drafts import services

    member = make.user(clusters={"policy": "contributor"})
    for n in range(services.MAX_DRAFTS):
        services.save_draft(member, "clusters.comment", "/dashboard", [("body", f"draft {n}")])
    db.session.commit()
    login_as(member)
    page = client.get("/clusters/policy/posts/new").get_data(as_text=True)
    data = {**form_data(page, title="One too many"), "pax_action": "/clusters/policy/posts/new"}
    answer = client.post("/drafts/autosave", data=data)
    assert answer.status_code == 422
    assert answer.json["message"].startswith("You have 100 drafts, the most PAX keeps")
    assert len(_drafts(member)) == services.MAX_DRAFTS


def test_a_draft_never_points_off_the_portal(client, make, login_as):
    member = make.user(clusters={"policy": "contributor"})
    login_as(member)
    page = client.get("/clusters/policy/posts/new").get_data(as_text=True)
    data = {**form_data(page, title="Elsewhere"), "pax_action": "/clusters/policy/posts/new"}
    for referrer in ("http://localhost//evil.example/x", "http://localhost/\\\\evil.example", "https://evil.example/"):
        client.post("/drafts/autosave", data=data, headers={"Referer": referrer})
    assert {d.page for d in _drafts(member)} == {"/clusters/policy/posts/new"}
