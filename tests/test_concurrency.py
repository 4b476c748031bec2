"""Nothing is lost when people work at the same time (issue 18, optimistic concurrency).

Every editable item has a version. A page saved from a stale form answers 409, keeps what the
member typed and says what is saved now; the API sends an ETag and refuses a stale If-Match with
412; two saves at the same moment give one success and one 409, never a 500. A stale form never
loosens a marking someone tightened in between, even when its sender has the right to loosen.
These run on both databases: the compare-and-set is the database's, not Python's.
"""

from __future__ import annotations

import threading
from html.parser import HTMLParser
from typing import Any

import pytest
import sqlalchemy as sa

from app.extensions import db
from tests.conftest import csrf_token_from
from tests.test_api_posts import bearer

CLUSTER = "policy"


# --- helpers ------------------------------------------------------------------------------------------


class _FormReader(HTMLParser):
    """The fields a browser would send for the form posting to ``action``, as the page drew them."""

    def __init__(self, action: str) -> None:
        super().__init__(convert_charrefs=True)
        self.action = action
        self.inside = False
        self.fields: dict[str, Any] = {}
        self._textarea: str | None = None
        self._select: str | None = None
        self._multiple = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.inside = a.get("action") == self.action
        if not self.inside:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self.fields[name] = a.get("value", "y")
            elif kind not in ("submit", "button", "file"):
                self.fields[name] = a.get("value", "")
        elif tag == "textarea" and name:
            self._textarea = name
            self.fields[name] = ""
        elif tag == "select" and name:
            self._select, self._multiple = name, "multiple" in a
            if self._multiple:
                self.fields[name] = []
        elif tag == "option" and self._select and "selected" in a:
            if self._multiple:
                self.fields[self._select].append(a.get("value", ""))
            else:
                self.fields[self._select] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.fields[self._textarea] += data


def form_fields(client: Any, page_url: str, action: str | None = None) -> dict[str, Any]:
    page = client.get(page_url)
    assert page.status_code == 200, page.status_code
    reader = _FormReader(action or page_url)
    reader.feed(page.get_data(as_text=True))
    assert "csrf_token" in reader.fields and "version" in reader.fields, reader.fields
    return reader.fields


def fresh(model: Any, item_id: int) -> Any:
    db.session.commit()  # end this test's read transaction: see what the requests committed
    db.session.expire_all()
    return db.session.get(model, item_id)


def no_500(*responses: Any) -> None:
    for response in responses:
        assert response.status_code < 500, (response.status_code, response.get_data(as_text=True)[:400])


@pytest.fixture
def organiser(make):  # type: ignore[no-untyped-def]
    return make.user(clusters={CLUSTER: "coordinator"})


@pytest.fixture
def curator(make):  # type: ignore[no-untyped-def]
    return make.user(role="curator", org_type="commission")


def a_post(author: Any, **fields: Any) -> Any:
    from tests.test_posts_pages import publish

    return publish(author, **fields)


def a_meeting(organiser: Any, **fields: Any) -> Any:
    from tests.test_meetings import schedule

    return schedule(organiser, **fields)


def a_document(organiser: Any, meeting: Any, **fields: Any) -> Any:
    from tests.test_meetings import add_doc

    return add_doc(organiser, meeting, **fields)


def a_workplan_item(curator: Any, **fields: Any) -> Any:
    from tests.test_workplan import create

    return create(curator, **fields)


# --- the named case: a stale form never loosens a marking -------------------------------------------


def test_stale_form_never_loosens_marking(organiser, make, login_as, client, new_client):
    """The organiser opens the edit page of a GREEN meeting; meanwhile (another tab) makes it RED for
    two named people; the first tab, saved, would make it GREEN with no recipients for the whole
    cluster. The organiser may loosen, so only the version stops it: 409, and nothing changes."""
    from app.meetings.models import Meeting

    first, second = make.user(clusters={CLUSTER: "reader"}), make.user(clusters={CLUSTER: "reader"})
    bystander = make.user(clusters={CLUSTER: "reader"})
    meeting = a_meeting(organiser, tlp="GREEN", title="Quay 7 briefing")
    login_as(organiser)
    stale = form_fields(client, f"/meetings/{meeting.id}/edit")
    assert stale["tlp"] == "GREEN"

    other_tab = new_client(organiser)
    tightened = form_fields(other_tab, f"/meetings/{meeting.id}/edit")
    tightened.update(tlp="RED", recipient_users=f"{first.email}\n{second.email}")
    assert other_tab.post(f"/meetings/{meeting.id}/edit", data=tightened).status_code == 302

    stale["title"] = "Quay 7 briefing (room changed)"
    answer = client.post(f"/meetings/{meeting.id}/edit", data=stale)
    assert answer.status_code == 409
    html = answer.get_data(as_text=True)
    assert "Quay 7 briefing (room changed)" in html  # what the member typed is kept
    assert "nothing of yours was saved" in html and "Now saved" in html

    saved = fresh(Meeting, meeting.id)
    assert saved.tlp.value == "RED" and saved.title == "Quay 7 briefing"
    assert sorted(r.user.email for r in saved.recipient_users) == sorted([first.email, second.email])
    assert new_client(bystander).get(f"/meetings/{meeting.id}").status_code == 404
    assert new_client(first).get(f"/meetings/{meeting.id}").status_code == 200


def test_stale_post_form_never_loosens_a_tightened_post(make, login_as, client, new_client):
    from app.clusters.models import Post

    author = make.user(clusters={CLUSTER: "contributor"})
    post = a_post(author, tlp="GREEN")
    login_as(author)
    stale = form_fields(client, f"/posts/{post.id}/edit")
    other_tab = new_client(author)
    tightened = form_fields(other_tab, f"/posts/{post.id}/edit")
    tightened.update(tlp="AMBER+STRICT", law_enforcement_only="y")
    assert other_tab.post(f"/posts/{post.id}/edit", data=tightened).status_code == 302
    stale["body"] = "My late addition."
    answer = client.post(f"/posts/{post.id}/edit", data=stale)
    assert answer.status_code == 409
    assert "My late addition." in answer.get_data(as_text=True)
    saved = fresh(Post, post.id)
    assert saved.tlp.value == "AMBER+STRICT" and saved.law_enforcement_only and saved.body == "Check seals."


def test_stale_document_form_never_loosens_a_document(organiser, login_as, client, new_client):
    from app.meetings.models import MeetingDocument

    meeting = a_meeting(organiser, tlp="GREEN")
    document = a_document(organiser, meeting)
    login_as(organiser)
    url = f"/meetings/documents/{document.id}/edit"
    stale = form_fields(client, url)
    other_tab = new_client(organiser)
    tightened = form_fields(other_tab, url)
    tightened.update(tlp="AMBER")
    assert other_tab.post(url, data=tightened).status_code == 302
    stale["title"] = "Renamed late"
    answer = client.post(url, data=stale)
    assert answer.status_code == 409
    assert "Renamed late" in answer.get_data(as_text=True)
    saved = fresh(MeetingDocument, document.id)
    assert saved.tlp.value == "AMBER" and saved.title == "A document"


def test_a_meeting_made_stricter_makes_its_document_forms_stale(organiser, login_as, client, new_client):
    """Tightening the meeting tightens its documents: a document form drawn before is stale."""
    from app.meetings.models import MeetingDocument

    meeting = a_meeting(organiser, tlp="GREEN")
    document = a_document(organiser, meeting)
    login_as(organiser)
    url = f"/meetings/documents/{document.id}/edit"
    stale = form_fields(client, url)
    other_tab = new_client(organiser)
    tighter = form_fields(other_tab, f"/meetings/{meeting.id}/edit")
    tighter.update(tlp="AMBER")
    assert other_tab.post(f"/meetings/{meeting.id}/edit", data=tighter).status_code == 302
    answer = client.post(url, data=stale)
    assert answer.status_code == 409
    assert fresh(MeetingDocument, document.id).tlp.value == "AMBER"


# --- stale pages keep what was typed and lose nothing ---------------------------------------------------


def test_stale_workplan_form_does_not_put_progress_back(curator, make, login_as, client, new_client):
    """The issue's case: a curator's form drawn at 0 % must not undo the coordinator's 60 %."""
    from app.workplan.models import WorkplanItem

    coordinator = make.user(clusters={CLUSTER: "coordinator"})
    item = a_workplan_item(curator)
    login_as(curator)
    stale = form_fields(client, f"/workplan/items/{item.id}/edit")
    assert stale["progress"] == "0"

    coordinator_client = new_client(coordinator)
    report = form_fields(coordinator_client, f"/workplan/items/{item.id}/edit")
    report.update(progress="60", status="in_progress")
    assert coordinator_client.post(f"/workplan/items/{item.id}/edit", data=report).status_code == 302

    stale["title"] = "A sharper title"
    answer = client.post(f"/workplan/items/{item.id}/edit", data=stale)
    assert answer.status_code == 409
    html = answer.get_data(as_text=True)
    assert "A sharper title" in html and "Now saved: “60”" in html
    saved = fresh(WorkplanItem, item.id)
    assert saved.progress == 60 and saved.title == "An item"

    # Saving again, having seen the change, is deliberate and goes through.
    again = _FormReader(f"/workplan/items/{item.id}/edit")
    again.feed(html)
    assert again.fields["version"] == str(saved.version)
    again.fields["progress"] = "60"
    assert client.post(f"/workplan/items/{item.id}/edit", data=again.fields).status_code == 302
    saved = fresh(WorkplanItem, item.id)
    assert (saved.title, saved.progress) == ("A sharper title", 60)


def test_stale_agenda_item_and_minutes_forms_are_refused(organiser, login_as, client, new_client):
    from app.meetings.models import AgendaItem, Meeting

    meeting = a_meeting(organiser)
    item = meeting.agenda[0]
    login_as(organiser)
    item_url = f"/meetings/{meeting.id}/agenda/{item.id}/edit"
    minutes_url = f"/meetings/{meeting.id}/minutes"
    stale_item, stale_minutes = form_fields(client, item_url), form_fields(client, minutes_url)

    other_tab = new_client(organiser)
    newer = form_fields(other_tab, item_url)
    newer["title"] = "Welcome and coffee"
    assert other_tab.post(item_url, data=newer).status_code == 302
    newer_minutes = form_fields(other_tab, minutes_url)
    newer_minutes["minutes"] = "Agreed: seal checks."
    assert other_tab.post(minutes_url, data=newer_minutes).status_code == 302

    stale_item["title"] = "Opening"
    answer = client.post(item_url, data=stale_item)
    assert answer.status_code == 409 and "Opening" in answer.get_data(as_text=True)
    stale_minutes["minutes"] = "My own notes"
    answer = client.post(minutes_url, data=stale_minutes)
    assert answer.status_code == 409 and "My own notes" in answer.get_data(as_text=True)
    assert fresh(AgendaItem, item.id).title == "Welcome and coffee"
    assert fresh(Meeting, meeting.id).minutes == "Agreed: seal checks."


def test_deleting_from_a_stale_confirmation_page_is_refused(make, login_as, client, new_client):
    from app.clusters.models import Post

    author = make.user(clusters={CLUSTER: "contributor"})
    post = a_post(author)
    login_as(author)
    page = client.get(f"/posts/{post.id}/delete").get_data(as_text=True)
    other_tab = new_client(author)
    newer = form_fields(other_tab, f"/posts/{post.id}/edit")
    newer["body"] = "An important correction."
    assert other_tab.post(f"/posts/{post.id}/edit", data=newer).status_code == 302
    answer = client.post(f"/posts/{post.id}/delete", data={"csrf_token": csrf_token_from(page), "version": "1"})
    assert answer.status_code == 409
    assert fresh(Post, post.id).body == "An important correction."


# --- the API: ETag and If-Match ---------------------------------------------------------------------------


def _api_cases(make: Any, organiser: Any, curator: Any) -> list[tuple[str, dict[str, str], dict[str, Any]]]:
    """(url, headers, a change) for each item the API edits."""
    author = make.user(clusters={CLUSTER: "contributor"})
    post = a_post(author)
    meeting = a_meeting(organiser)
    item = a_workplan_item(curator)
    return [
        (f"/api/v1/posts/{post.id}", bearer(author), {"title": "Changed over the API"}),
        (f"/api/v1/meetings/{meeting.id}", bearer(organiser), {"title": "Changed over the API"}),
        (f"/api/v1/workplan/items/{item.id}", bearer(curator), {"title": "Changed over the API"}),
    ]


def test_api_sends_etags_and_refuses_a_stale_if_match_with_412(make, organiser, curator, client):
    for url, headers, change in _api_cases(make, organiser, curator):
        first = client.get(url, headers=headers)
        tag = first.headers.get("ETag")
        assert first.status_code == 200 and tag and not tag.startswith("W/"), (url, first.headers)

        ok = client.patch(url, json=change, headers={**headers, "If-Match": tag})
        assert ok.status_code == 200, (url, ok.get_json())
        newer = ok.headers["ETag"]
        assert newer != tag and client.get(url, headers=headers).headers["ETag"] == newer

        stale = client.patch(url, json={"title": "From a stale copy"}, headers={**headers, "If-Match": tag})
        assert stale.status_code == 412, (url, stale.get_json())
        assert stale.get_json()["error"]["code"] == "precondition_failed"
        assert client.get(url, headers=headers).get_json()["title"] == "Changed over the API"

        assert client.patch(url, json={"title": "Any"}, headers={**headers, "If-Match": "*"}).status_code == 200


def test_api_delete_honours_if_match(make, organiser, client):
    from app.clusters.models import Post
    from app.meetings.models import Meeting, MeetingDocument

    author = make.user(clusters={CLUSTER: "contributor"})
    post = a_post(author)
    meeting = a_meeting(organiser)
    document = a_document(organiser, meeting)
    for url, headers, model, item_id in [
        (f"/api/v1/posts/{post.id}", bearer(author), Post, post.id),
        (f"/api/v1/meetings/{meeting.id}", bearer(organiser), Meeting, meeting.id),
    ]:
        tag = client.get(url, headers=headers).headers["ETag"]
        assert client.patch(url, json={"title": "Edited first"}, headers=headers).status_code == 200
        assert client.delete(url, headers={**headers, "If-Match": tag}).status_code == 412
        assert fresh(model, item_id) is not None
    headers = bearer(organiser)
    url = f"/api/v1/meeting-documents/{document.id}"
    assert client.delete(url, headers={**headers, "If-Match": '"v0"'}).status_code == 412
    assert fresh(MeetingDocument, document.id) is not None
    assert client.delete(url, headers={**headers, "If-Match": f'"v{document.version}"'}).status_code == 204


# --- simultaneous saves: one wins, the other is told, nothing answers 500 -----------------------------


def _race(monkeypatch: Any, calls: list[Any]) -> list[Any]:
    """Run ``calls`` at the same moment: each waits for the others once it has loaded its item."""
    import app.concurrency

    barrier = threading.Barrier(len(calls), timeout=20)
    original = app.concurrency.expect_version

    def waiting(item: Any, expected: int | None) -> None:
        barrier.wait()
        original(item, expected)

    monkeypatch.setattr(app.concurrency, "expect_version", waiting)
    results: list[Any] = [None] * len(calls)

    def run(n: int) -> None:
        try:
            results[n] = calls[n]()
        except BaseException as exc:  # reported below
            results[n] = exc

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for result in results:
        assert not isinstance(result, BaseException), result
    return results


@pytest.mark.timeout(120)
@pytest.mark.committed_db
def test_simultaneous_api_saves_give_one_success_and_one_409(make, organiser, curator, app, monkeypatch):
    for url, headers, _change in _api_cases(make, organiser, curator):
        clients = [app.test_client(), app.test_client()]
        for c in clients:  # the tokens' first use is recorded before the race
            assert c.get(url, headers=headers).status_code == 200
        titles = ["Saved by the first", "Saved by the second"]
        results = _race(
            monkeypatch,
            [
                lambda c=c, t=t, u=url, h=headers: c.patch(u, json={"title": t}, headers=h)
                for c, t in zip(clients, titles, strict=True)
            ],
        )
        monkeypatch.undo()
        no_500(*results)
        assert sorted(r.status_code for r in results) == [200, 409], url
        winner = next(r for r in results if r.status_code == 200).get_json()["title"]
        loser = next(r for r in results if r.status_code == 409).get_json()
        assert loser["error"]["code"] == "edit_conflict"
        assert app.test_client().get(url, headers=headers).get_json()["title"] == winner


@pytest.mark.timeout(120)
@pytest.mark.committed_db
def test_simultaneous_page_saves_of_a_post_give_one_success_and_one_409(make, app, new_client, monkeypatch):
    """The case that used to be a 500: two saves of the same post at the same moment collided on
    the unique (post, version) index of its history."""
    from app.clusters.models import Post, PostVersion

    author = make.user(clusters={CLUSTER: "contributor"})
    post = a_post(author)
    tabs = [new_client(author), new_client(author)]
    forms = [form_fields(tab, f"/posts/{post.id}/edit") for tab in tabs]
    forms[0]["body"], forms[1]["body"] = "Text of the first tab.", "Text of the second tab."
    results = _race(
        monkeypatch,
        [lambda t=t, f=f: t.post(f"/posts/{post.id}/edit", data=f) for t, f in zip(tabs, forms, strict=True)],
    )
    no_500(*results)
    assert sorted(r.status_code for r in results) == [302, 409]
    loser = next(r for r in results if r.status_code == 409).get_data(as_text=True)
    saved = fresh(Post, post.id)
    assert saved.version == 2 and saved.body in ("Text of the first tab.", "Text of the second tab.")
    assert ("Text of the first tab." if saved.body != "Text of the first tab." else "Text of the second tab.") in loser
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PostVersion)) == 1


@pytest.mark.timeout(120)
@pytest.mark.committed_db
def test_simultaneous_service_saves_of_every_editable_type_never_lose_a_change(
    make, organiser, curator, app, monkeypatch
):
    """Straight through the services (as pages, API and CLI share them): for each editable type,
    two saves from the same version at once commit exactly one and refuse the other."""
    from app.concurrency import StaleEdit
    from app.meetings import documents, services
    from app.meetings.models import AgendaItem, Meeting, MeetingDocument
    from app.meetings.validation import AgendaEntry
    from app.workplan.models import WorkplanItem
    from app.workplan.services import update_item

    meeting = a_meeting(organiser)
    document = a_document(organiser, meeting)
    item = a_workplan_item(curator)
    agenda_item_id, meeting_id, document_id, item_id = meeting.agenda[0].id, meeting.id, document.id, item.id
    organiser_id, curator_id = organiser.id, curator.id

    def saving(change: Any) -> Any:
        def run() -> str:
            from app.auth.models import User

            with app.app_context():
                try:
                    change(db.session.get(User, organiser_id), db.session.get(User, curator_id))
                    db.session.commit()
                    return "saved"
                except StaleEdit:
                    db.session.rollback()
                    return "conflict"

        return run

    def agenda_title(title: str) -> Any:
        return lambda org, _cur: services.edit_agenda_item(
            org, db.session.get(AgendaItem, agenda_item_id), AgendaEntry(title=title, notes="")
        )

    def minutes(text: str) -> Any:
        return lambda org, _cur: services.save_minutes(org, db.session.get(Meeting, meeting_id), text)

    def document_title(title: str) -> Any:
        from app.markings import Tlp

        return lambda org, _cur: documents.edit_document(
            org, db.session.get(MeetingDocument, document_id), title, Tlp.GREEN, False
        )

    def progress(value: int) -> Any:
        return lambda _org, cur: update_item(cur, db.session.get(WorkplanItem, item_id), {"progress": value})

    for pair in [
        (agenda_title("One"), agenda_title("Two")),
        (minutes("One"), minutes("Two")),
        (document_title("One"), document_title("Two")),
        (progress(30), progress(70)),
    ]:
        assert sorted(_race(monkeypatch, [saving(change) for change in pair])) == ["conflict", "saved"]
        monkeypatch.undo()


def test_the_openapi_document_describes_etag_if_match_409_and_412(client):
    document = client.get("/api/v1/openapi.json").get_json()
    for path in ("/posts/{post_id}", "/meetings/{meeting_id}", "/workplan/items/{item_id}"):
        operations = document["paths"][path]
        assert "ETag" in operations["get"]["responses"]["200"]["headers"], path
        assert "ETag" in operations["patch"]["responses"]["200"]["headers"], path
        for method in ("patch", "delete"):
            if method in operations:
                assert {"409", "412"} <= set(operations[method]["responses"]), (path, method)
                assert any(p.get("name") == "If-Match" for p in operations[method]["parameters"]), (path, method)
    assert "PreconditionFailed" in document["components"]["responses"]
