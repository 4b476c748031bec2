"""Optimistic concurrency for what issue 18 left: editing one's comment, attachments' details, and
the move buttons of agendas and meeting documents. Stale saves answer 409 (pages) or 412 (API
If-Match), simultaneous ones one success and one 409, never a 500; nothing of a refused save is
written.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from app.audit.models import AuditEvent
from app.extensions import db
from tests.conftest import csrf_token_from
from tests.test_api_posts import bearer
from tests.test_concurrency import CLUSTER, _race, a_document, a_meeting, a_post, form_fields, fresh, no_500

# --- comments -------------------------------------------------------------------------------------


def a_comment(author: Any, post: Any, body: str = "First words.") -> Any:
    from app.clusters.services import add_comment

    comment = add_comment(author, post, body)
    db.session.commit()
    return comment


def test_the_author_edits_their_comment_and_it_says_edited(make, login_as, client):
    from app.clusters.models import Comment

    author = make.user(clusters={CLUSTER: "contributor"})
    post = a_post(author)
    comment = a_comment(author, post)
    login_as(author)
    page = client.get(f"/posts/{post.id}").get_data(as_text=True)
    edit_url = f"/posts/{post.id}/comments/{comment.id}/edit"
    assert edit_url in page and "edited" not in page
    fields = form_fields(client, edit_url)
    assert fields["body"] == "First words." and fields["version"] == "1"
    fields["body"] = "Better words."
    answer = client.post(edit_url, data=fields)
    assert answer.status_code == 302 and answer.headers["Location"].endswith(f"/posts/{post.id}#comment-{comment.id}")
    saved = fresh(Comment, comment.id)
    assert saved.body == "Better words." and saved.version == 2
    assert "pax-comment__edited" in client.get(f"/posts/{post.id}").get_data(as_text=True)
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "comment.edit"))
    assert event is not None and event.target_id == str(comment.id)
    assert "words" not in repr(event.details).lower()


def test_a_stale_comment_form_is_409_and_keeps_both_texts(make, login_as, client, new_client):
    from app.clusters.models import Comment

    author = make.user(clusters={CLUSTER: "contributor"})
    post = a_post(author)
    comment = a_comment(author, post)
    login_as(author)
    url = f"/posts/{post.id}/comments/{comment.id}/edit"
    old = form_fields(client, url)
    other = new_client(author)
    newer = form_fields(other, url)
    newer["body"] = "Saved in the other tab."
    assert other.post(url, data=newer).status_code == 302
    old["body"] = "Typed in the stale tab."
    answer = client.post(url, data=old)
    assert answer.status_code == 409
    text = answer.get_data(as_text=True)
    assert "Typed in the stale tab." in text and "Saved in the other tab." in text
    assert fresh(Comment, comment.id).body == "Saved in the other tab."


def test_only_the_author_edits_a_comment(make, login_as, client, new_client):
    from app.clusters.models import Comment

    author = make.user(clusters={CLUSTER: "contributor"})
    coordinator = make.user(clusters={CLUSTER: "coordinator"})
    outsider = make.user(clusters={"operational-cooperation": "contributor"})
    post = a_post(author, tlp="AMBER")
    comment = a_comment(author, post)
    url = f"/posts/{post.id}/comments/{comment.id}/edit"
    login_as(coordinator)
    assert client.get(url).status_code == 403
    assert f"/comments/{comment.id}/edit" not in client.get(f"/posts/{post.id}").get_data(as_text=True)
    page = client.get(f"/posts/{post.id}").get_data(as_text=True)
    assert client.post(url, data={"csrf_token": csrf_token_from(page), "body": "Mine now"}).status_code == 403
    outside = new_client(outsider)
    assert outside.get(url).status_code == 404
    assert client.get(f"/posts/{post.id}/comments/999999/edit").status_code == 404
    assert fresh(Comment, comment.id).body == "First words."


def test_an_empty_or_overlong_comment_is_422(make, login_as, client):
    from app.clusters.models import Comment
    from app.clusters.services import MAX_COMMENT

    author = make.user(clusters={CLUSTER: "contributor"})
    post = a_post(author)
    comment = a_comment(author, post)
    login_as(author)
    url = f"/posts/{post.id}/comments/{comment.id}/edit"
    for body in ("   ", "x" * (MAX_COMMENT + 1)):
        fields = form_fields(client, url)
        fields["body"] = body
        assert client.post(url, data=fields).status_code == 422
    assert fresh(Comment, comment.id).version == 1


@pytest.mark.timeout(120)
@pytest.mark.committed_db
def test_simultaneous_comment_saves_give_one_success_and_one_409(make, new_client, monkeypatch):
    from app.clusters.models import Comment

    author = make.user(clusters={CLUSTER: "contributor"})
    post = a_post(author)
    comment = a_comment(author, post)
    url = f"/posts/{post.id}/comments/{comment.id}/edit"
    tabs = [new_client(author), new_client(author)]
    forms = [form_fields(tab, url) for tab in tabs]
    forms[0]["body"], forms[1]["body"] = "From the first tab.", "From the second tab."
    results = _race(monkeypatch, [lambda t=t, f=f: t.post(url, data=f) for t, f in zip(tabs, forms, strict=True)])
    no_500(*results)
    assert sorted(r.status_code for r in results) == [302, 409]
    saved = fresh(Comment, comment.id)
    assert saved.version == 2 and saved.body in ("From the first tab.", "From the second tab.")


# --- attachments' details -----------------------------------------------------------------------


def an_attachment(author: Any, post: Any, name: str = "report.txt") -> Any:
    from app.clusters.attachments import attach_file

    attachment, _meta = attach_file(author, post, name, [b"some text"], 10**6)
    db.session.commit()
    return attachment


def test_attachment_details_are_edited_on_a_page_and_name_the_download(make, login_as, client):
    from app.clusters.models import Attachment

    author = make.user(clusters={CLUSTER: "contributor"})
    post = a_post(author)
    attachment = an_attachment(author, post)
    login_as(author)
    url = f"/attachments/{attachment.id}/edit"
    assert url in client.get(f"/posts/{post.id}").get_data(as_text=True)
    fields = form_fields(client, url)
    assert fields["display_name"] == "report.txt"
    fields.update(display_name="Inspection résumé.txt", description="Findings of the March inspection.")
    assert client.post(url, data=fields).status_code == 302
    saved = fresh(Attachment, attachment.id)
    assert (saved.display_name, saved.description, saved.version) == (
        "Inspection résumé.txt",
        "Findings of the March inspection.",
        2,
    )
    download = client.get(f"/attachments/{attachment.id}")
    assert "filename*=UTF-8''Inspection%20r%C3%A9sum%C3%A9.txt" in download.headers["Content-Disposition"]
    page = client.get(f"/posts/{post.id}").get_data(as_text=True)
    assert "Inspection résumé.txt" in page and "Findings of the March inspection." in page
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "attachment.edit"))
    assert event is not None and "March" not in repr(event.details) and "résumé" not in repr(event.details)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("display_name", "../etc/passwd.txt"),
        ("display_name", "a\\b.txt"),
        ("display_name", "bell\x07.txt"),
        ("display_name", "report.exe"),
        ("display_name", "x" * 300 + ".txt"),
        ("description", "y" * 501),
        ("description", "two\x1blines"),
    ],
)
def test_bad_attachment_details_are_422(field, value, make, login_as, client):
    from app.clusters.models import Attachment

    author = make.user(clusters={CLUSTER: "contributor"})
    post = a_post(author)
    attachment = an_attachment(author, post)
    login_as(author)
    url = f"/attachments/{attachment.id}/edit"
    fields = form_fields(client, url)
    fields[field] = value
    assert client.post(url, data=fields).status_code == 422
    answer = client.patch(f"/api/v1/attachments/{attachment.id}", json={field: value}, headers=bearer(author))
    assert answer.status_code == 422 and field in answer.get_json()["error"]["fields"]
    assert fresh(Attachment, attachment.id).version == 1


def test_attachment_details_stale_page_409_and_api_412(make, login_as, client, new_client):
    from app.clusters.models import Attachment

    author = make.user(clusters={CLUSTER: "contributor"})
    reader = make.user(clusters={CLUSTER: "reader"})
    post = a_post(author)
    attachment = an_attachment(author, post)
    login_as(author)
    url = f"/attachments/{attachment.id}/edit"
    old = form_fields(client, url)
    api = f"/api/v1/attachments/{attachment.id}"
    headers = bearer(author)
    first = client.patch(api, json={"description": "Saved over the API."}, headers={**headers, "If-Match": '"v1"'})
    assert first.status_code == 200 and first.headers["ETag"] == '"v2"'
    assert first.get_json()["description"] == "Saved over the API." and first.get_json()["version"] == 2
    stale = client.patch(api, json={"description": "From a stale copy."}, headers={**headers, "If-Match": '"v1"'})
    assert stale.status_code == 412
    assert client.delete(api, headers={**headers, "If-Match": '"v1"'}).status_code == 412
    old["description"] = "Typed on a stale page."
    answer = client.post(url, data=old)
    assert answer.status_code == 409
    assert "Typed on a stale page." in answer.get_data(as_text=True)
    assert "Saved over the API." in answer.get_data(as_text=True)
    assert fresh(Attachment, attachment.id).description == "Saved over the API."
    assert client.patch(api, json={"description": "x"}, headers=bearer(reader)).status_code == 403
    assert new_client(reader).get(url).status_code == 403


@pytest.mark.timeout(120)
@pytest.mark.committed_db
def test_simultaneous_attachment_detail_saves_give_one_success_and_one_409(make, app, monkeypatch):
    author = make.user(clusters={CLUSTER: "contributor"})
    post = a_post(author)
    attachment = an_attachment(author, post)
    url, headers = f"/api/v1/attachments/{attachment.id}", bearer(author)
    clients = [app.test_client(), app.test_client()]
    for c in clients:
        assert c.get(f"/api/v1/posts/{post.id}", headers=headers).status_code == 200
    results = _race(
        monkeypatch,
        [
            lambda c=c, d=d: c.patch(url, json={"description": d}, headers=headers)
            for c, d in zip(clients, ["First", "Second"], strict=True)
        ],
    )
    no_500(*results)
    assert sorted(r.status_code for r in results) == [200, 409]


# --- move buttons -------------------------------------------------------------------------------------


def move_form(client: Any, page_url: str, action: str, direction: str) -> dict[str, str]:
    """The hidden fields of the ``direction`` move button posting to ``action``, as the page drew it."""
    import re

    page = client.get(page_url).get_data(as_text=True)
    for form in re.findall(rf'<form method="post" action="{re.escape(action)}"[^>]*>(.*?)</form>', page, re.S):
        fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form))
        if fields.get("direction") == direction:
            return fields
    raise AssertionError(f"no {direction} button for {action} on {page_url}")


def _agenda(organiser: Any, titles: tuple[str, ...] = ("A", "B", "C")) -> Any:
    from app.meetings import services
    from app.meetings.validation import AgendaEntry

    meeting = a_meeting(organiser)
    for item in list(meeting.agenda):
        services.remove_agenda_item(organiser, item)
    for title in titles:
        services.add_agenda_item(organiser, meeting, AgendaEntry(title=title, notes=""))
    db.session.commit()
    return meeting


def _order(meeting_id: int) -> list[str]:
    from app.meetings.models import Meeting

    return [i.title for i in sorted(fresh(Meeting, meeting_id).agenda, key=lambda i: i.position)]


@pytest.fixture
def organiser(make):  # type: ignore[no-untyped-def]
    return make.user(clusters={CLUSTER: "coordinator"})


def test_a_move_from_a_stale_agenda_page_is_409_and_moves_nothing(organiser, login_as, client, new_client):
    meeting = _agenda(organiser)
    items = {i.title: i for i in meeting.agenda}
    login_as(organiser)
    page = f"/meetings/{meeting.id}/agenda"
    move_c = f"/meetings/{meeting.id}/agenda/{items['C'].id}/move"
    stale_up = move_form(client, page, move_c, "up")  # C up, next to B
    assert stale_up["direction"] == "up" and stale_up["neighbour"] == f"{items['B'].id}:1"
    other = new_client(organiser)
    move_b = f"/meetings/{meeting.id}/agenda/{items['B'].id}/move"
    assert other.post(move_b, data=move_form(other, page, move_b, "up")).status_code == 302
    assert _order(meeting.id) == ["B", "A", "C"]
    answer = client.post(move_c, data=stale_up)
    assert answer.status_code == 409
    assert "changed the order" in answer.get_data(as_text=True)
    assert _order(meeting.id) == ["B", "A", "C"]
    # drawn again, the page moves
    assert client.post(move_c, data=move_form(client, page, move_c, "up")).status_code == 302
    assert _order(meeting.id) == ["B", "C", "A"]


def test_a_move_from_a_stale_document_list_is_409(organiser, login_as, client, new_client):
    from app.meetings.models import MeetingDocument

    meeting = a_meeting(organiser)
    first = a_document(organiser, meeting, title="First")
    second = a_document(organiser, meeting, title="Second")
    login_as(organiser)
    page = f"/meetings/{meeting.id}"
    move_second = f"/meetings/documents/{second.id}/move"
    stale_up = move_form(client, page, move_second, "up")
    assert stale_up["version"] == str(second.version) and stale_up["neighbour"] == f"{first.id}:{first.version}"
    other = new_client(organiser)
    move_first = f"/meetings/documents/{first.id}/move"
    assert other.post(move_first, data=move_form(other, page, move_first, "down")).status_code == 302
    before = fresh(MeetingDocument, second.id).position
    answer = client.post(move_second, data=stale_up)
    assert answer.status_code == 409 and "changed the order" in answer.get_data(as_text=True)
    assert fresh(MeetingDocument, second.id).position == before


@pytest.mark.timeout(120)
@pytest.mark.committed_db
def test_simultaneous_moves_give_one_success_and_one_409(organiser, new_client, monkeypatch):
    meeting = _agenda(organiser)
    items = {i.title: i for i in meeting.agenda}
    page = f"/meetings/{meeting.id}/agenda"
    tabs = [new_client(organiser), new_client(organiser)]
    moves = [
        (f"/meetings/{meeting.id}/agenda/{items['B'].id}/move", tabs[0]),
        (f"/meetings/{meeting.id}/agenda/{items['C'].id}/move", tabs[1]),
    ]
    forms = [(url, tab, move_form(tab, page, url, "up")) for url, tab in moves]  # B up, C up: both touch B
    results = _race(monkeypatch, [lambda u=u, t=t, f=f: t.post(u, data=f) for u, t, f in forms])
    no_500(*results)
    assert sorted(r.status_code for r in results) == [302, 409]
    assert _order(meeting.id) in (["B", "A", "C"], ["A", "C", "B"])
