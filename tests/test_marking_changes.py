"""Only the originator loosens (issue 19, item 1): the change matrix.

For each item type (post, meeting, meeting document), each ordered pair of markings from a
representative set and each relation of the acting user to the item, the service either makes
the change or refuses it with ``NotAllowed``. The expected answer comes from a small oracle
written here from the rule's words (DESIGN.md, "Need-to-know holds through change"), not from
``app.markings.loosens``: allowed iff the actor may edit the item at all and the change does not
loosen the marking or the actor is the author or the author's organisation's focal point.

One world per item type; the marking is put back between cells. A sample per item type and
outcome goes over HTTP, and after an allowed tightening an outsider no longer sees the item.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.markings import Tlp
from tests.test_api_posts import bearer
from tests.test_meetings import add_doc, technical

CLUSTER = "policy"
ORDER = ["CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"]
ACTORS = ["author", "focal_point", "colleague", "coordinator", "curator", "recipient_org", "recipient_person", "admin"]
#: Who may edit each item type at all (README: posts; app.meetings.services: meetings, documents).
EDITORS = {
    "post": {"author", "focal_point"},
    "meeting": {"author", "coordinator", "curator"},
    "document": {"author", "coordinator", "curator"},
}
ORIGINATORS = {"author", "focal_point"}


class Mark(NamedTuple):
    tlp: str
    le: bool
    #: A named recipient: organisation R for AMBER and AMBER+STRICT, person P for RED.
    named: bool = False


def markings(with_recipients: bool) -> list[Mark]:
    out = []
    for tlp in ORDER:
        for le in (False, True):
            out.append(Mark(tlp, le))
            if with_recipients and tlp in ("AMBER", "AMBER+STRICT", "RED"):
                out.append(Mark(tlp, le, True))
    return out


def loosening(old: Mark, new: Mark) -> bool:
    """The rule's words: a looser TLP, dropping "law enforcement only", or changing the named
    recipients (removing them, and adding them, which widens the audience). Tightening may drop
    recipients the stricter TLP does not name; it may name new ones only from CLEAR or GREEN
    (everyone sees those), or keep the same recipient organisations from AMBER to AMBER+STRICT."""
    if ORDER.index(new.tlp) < ORDER.index(old.tlp):
        return True
    if old.le and not new.le:
        return True
    if new.tlp == old.tlp:
        return new.named != old.named
    if not new.named or old.tlp in ("CLEAR", "GREEN"):
        return False
    same_kind = old.tlp in ("AMBER", "AMBER+STRICT") and new.tlp == "AMBER+STRICT"
    return not (same_kind and old.named)


def expected(kind: str, actor: str, old: Mark, new: Mark) -> bool:
    return actor in EDITORS[kind] and (not loosening(old, new) or actor in ORIGINATORS)


def test_the_oracle_reads_the_rule_as_written() -> None:
    assert loosening(Mark("RED", False), Mark("AMBER", False))
    assert not loosening(Mark("GREEN", False), Mark("AMBER", False, True))
    assert loosening(Mark("AMBER", True), Mark("AMBER", False))
    assert loosening(Mark("AMBER", False, True), Mark("AMBER", False))
    assert loosening(Mark("AMBER", False), Mark("AMBER", False, True))
    assert not loosening(Mark("AMBER", False, True), Mark("RED", False))
    assert loosening(Mark("AMBER", False, True), Mark("RED", False, True))
    assert not loosening(Mark("AMBER", False, True), Mark("AMBER+STRICT", True, True))


# --- the world -------------------------------------------------------------------------------------


@pytest.fixture
def world(make: Any) -> dict[str, Any]:
    """The author's organisation (author, focal point, colleague), a recipient organisation R and a
    named person P elsewhere, a coordinator, a curator, an administrator and an outsider."""
    home = make.org("port_authority")
    recipient_org = make.org("terminal_operator")
    people = {
        "author": make.user(home, clusters={CLUSTER: "coordinator"}),
        "focal_point": make.user(home, focal_point=True),
        "colleague": make.user(home, clusters={CLUSTER: "contributor"}),
        "coordinator": make.user(clusters={CLUSTER: "coordinator"}),
        "curator": make.user(role="curator", org_type="commission"),
        "recipient_org": make.user(recipient_org),
        "recipient_person": make.user(),
        "admin": make.user(role="admin"),
        "outsider": make.user(),
    }
    return {"people": people, "R": recipient_org, "P": people["recipient_person"]}


def post_raw(world: dict[str, Any], mark: Mark) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "type": "best_practice",
        "cluster": CLUSTER,
        "title": "Gate checks",
        "body": "Check seals.",
        "tlp": mark.tlp,
        "law_enforcement_only": mark.le,
    }
    if mark.named and mark.tlp == "RED":
        raw["recipient_users"] = [world["P"].email]
    elif mark.named:
        raw["recipient_orgs"] = [world["R"].name]
    return raw


def meeting_raw(world: dict[str, Any], mark: Mark) -> dict[str, Any]:
    raw = technical(tlp=mark.tlp, law_enforcement_only=mark.le)
    del raw["agenda"]
    if mark.named and mark.tlp == "RED":
        raw["recipient_users"] = [world["P"].email]
    elif mark.named:
        raw["recipient_orgs"] = [world["R"].name]
    return raw


def _force(item: Any, mark: Mark, world: dict[str, Any], org_row: Any, user_row: Any) -> None:
    """Put ``mark`` on ``item`` directly (no service, no audit): the cell's starting point."""
    item.tlp = Tlp(mark.tlp)
    item.law_enforcement_only = mark.le
    if org_row is not None:
        org = mark.named and mark.tlp in ("AMBER", "AMBER+STRICT")
        person = mark.named and mark.tlp == "RED"
        item.recipient_orgs = [org_row(organisation_id=world["R"].id)] if org else []
        item.recipient_users = [user_row(user_id=world["P"].id)] if person else []
    db.session.flush()


def _run_matrix(kind: str, item: Any, marks: list[Mark], change: Any, force: Any, world: dict[str, Any]) -> int:
    from app.markings import Marking
    from app.policy import NotAllowed

    people = world["people"]
    wrong: list[tuple[Any, ...]] = []
    cells = 0
    for old in marks:
        force(old)
        before = Marking.of(item)
        for new in marks:
            if new == old:
                continue
            for actor in ACTORS:
                cells += 1
                want = expected(kind, actor, old, new)
                try:
                    change(people[actor], new)
                    got = True
                except NotAllowed:
                    got = False
                    if Marking.of(item) != before:
                        wrong.append((old, new, actor, "refused but changed"))
                if got != want:
                    wrong.append((old, new, actor, f"expected {'allowed' if want else 'refused'}"))
                if got:
                    force(old)
    assert not wrong, f"{len(wrong)} of {cells} cells wrong, e.g. {wrong[:10]}"
    return cells


# --- the matrix through the services ---------------------------------------------------------------


def test_post_change_matrix(world: dict[str, Any]) -> None:
    from app.clusters.models import PostRecipientOrg, PostRecipientUser
    from app.clusters.services import edit_post, publish_post
    from app.clusters.validation import parse_post

    marks = markings(with_recipients=True)
    inputs = {m: parse_post(post_raw(world, m)) for m in marks}
    post = publish_post(world["people"]["author"], inputs[marks[0]])
    db.session.flush()
    cells = _run_matrix(
        "post",
        post,
        marks,
        lambda actor, new: edit_post(actor, post, inputs[new]),
        lambda m: _force(post, m, world, PostRecipientOrg, PostRecipientUser),
        world,
    )
    assert cells == len(marks) * (len(marks) - 1) * len(ACTORS)


def test_meeting_change_matrix(world: dict[str, Any]) -> None:
    from app.meetings.models import MeetingRecipientOrg, MeetingRecipientUser
    from app.meetings.services import schedule_meeting, update_meeting
    from app.meetings.validation import parse_meeting

    marks = markings(with_recipients=True)
    inputs = {m: parse_meeting(meeting_raw(world, m)) for m in marks}
    meeting = schedule_meeting(world["people"]["author"], inputs[marks[0]])
    db.session.flush()
    _run_matrix(
        "meeting",
        meeting,
        marks,
        lambda actor, new: update_meeting(actor, meeting, inputs[new]),
        lambda m: _force(meeting, m, world, MeetingRecipientOrg, MeetingRecipientUser),
        world,
    )


def test_meeting_document_change_matrix(world: dict[str, Any]) -> None:
    """Documents carry a TLP and the flag of their own; their named recipients are the meeting's."""
    from app.meetings.documents import edit_document
    from app.meetings.services import schedule_meeting
    from app.meetings.validation import parse_meeting

    author = world["people"]["author"]
    meeting_mark = Mark("CLEAR", False)
    raw = meeting_raw(world, meeting_mark)
    raw.update(recipient_orgs=[], recipient_users=[])
    meeting = schedule_meeting(author, parse_meeting(raw))
    db.session.flush()
    document = add_doc(author, meeting)
    _run_matrix(
        "document",
        document,
        markings(with_recipients=False),
        lambda actor, new: edit_document(actor, document, "A document", Tlp(new.tlp), new.le),
        lambda m: _force(document, m, world, None, None),
        world,
    )


# --- audit and notification ------------------------------------------------------------------------


def test_a_change_of_marking_is_audited_and_told_to_the_originators(world: dict[str, Any]) -> None:
    from app.audit.models import AuditEvent
    from app.clusters.services import edit_post, publish_post
    from app.clusters.validation import parse_post
    from app.notifications.models import Notification

    people = world["people"]
    post = publish_post(people["author"], parse_post(post_raw(world, Mark("AMBER", False, True))))
    edit_post(people["focal_point"], post, parse_post(post_raw(world, Mark("GREEN", False))))
    db.session.flush()
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "post.marking_change"))
    assert event is not None
    details = event.details
    assert details["old_tlp"] == "AMBER" and details["new_tlp"] == "GREEN"
    assert details["old_recipient_orgs"] == 1 and details["new_recipient_orgs"] == 0
    assert world["R"].name not in str(details) and "Gate checks" not in str(details)
    told = db.session.scalars(sa.select(Notification.user_id).where(Notification.kind == "marking.changed")).all()
    assert set(told) == {people["author"].id}  # the focal point made the change

    # Tightened to RED by its author: the focal point is told only if they may see it now.
    edit_post(people["author"], post, parse_post(post_raw(world, Mark("RED", False))))
    db.session.flush()
    told = db.session.scalars(sa.select(Notification.user_id).where(Notification.kind == "marking.changed")).all()
    assert people["focal_point"].id not in told


# --- over HTTP: one sample per item type and outcome ------------------------------------------------


def test_http_posts(world: dict[str, Any], client: Any, new_client: Any) -> None:
    people = world["people"]
    author_headers = bearer(people["author"])
    created = client.post("/api/v1/posts", json=post_raw(world, Mark("GREEN", False)), headers=author_headers)
    assert created.status_code == 201, created.get_json()
    url = f"/api/v1/posts/{created.get_json()['id']}"
    # a colleague (no edit right) cannot even tighten; the author tightens
    outsider = bearer(people["outsider"])
    assert client.get(url, headers=outsider).status_code == 200
    refused = client.patch(url, json={"tlp": "AMBER+STRICT"}, headers=bearer(people["colleague"]))
    assert refused.status_code == 403
    allowed = client.patch(url, json={"tlp": "AMBER+STRICT"}, headers=author_headers)
    assert allowed.status_code == 200 and allowed.get_json()["tlp"] == "AMBER+STRICT"
    assert client.get(url, headers=outsider).status_code == 404
    assert new_client(people["outsider"]).get(f"/posts/{created.get_json()['id']}").status_code == 404


def test_http_meetings(world: dict[str, Any], client: Any) -> None:
    people = world["people"]
    created = client.post(
        "/api/v1/meetings", json=meeting_raw(world, Mark("GREEN", False)), headers=bearer(people["author"])
    )
    assert created.status_code == 201, created.get_json()
    url = f"/api/v1/meetings/{created.get_json()['id']}"
    coordinator, outsider = bearer(people["coordinator"]), bearer(people["outsider"])
    refused = client.patch(url, json={"tlp": "CLEAR"}, headers=coordinator)
    assert refused.status_code == 403
    assert "Only the author or their organisation's focal point" in str(refused.get_json())
    assert client.get(url, headers=outsider).status_code == 200
    allowed = client.patch(url, json={"tlp": "AMBER+STRICT"}, headers=coordinator)
    assert allowed.status_code == 200 and allowed.get_json()["tlp"] == "AMBER+STRICT"
    assert client.get(url, headers=outsider).status_code == 404


def test_http_meeting_documents(world: dict[str, Any], client: Any, new_client: Any) -> None:
    from app.meetings.models import MeetingDocument
    from app.meetings.services import schedule_meeting
    from app.meetings.validation import parse_meeting
    from tests.conftest import csrf_token_from, login

    people = world["people"]
    meeting = schedule_meeting(people["author"], parse_meeting(meeting_raw(world, Mark("CLEAR", False))))
    db.session.commit()
    document = add_doc(people["author"], meeting, tlp="GREEN")
    document_id = document.id
    outsider = new_client(people["outsider"])
    assert outsider.get(f"/meetings/documents/{document_id}").status_code == 200
    login(client, people["coordinator"].email)
    url = f"/meetings/documents/{document_id}/edit"

    def save(tlp: str) -> Any:
        page = client.get(url)
        assert page.status_code == 200
        version = db.session.scalar(sa.select(MeetingDocument.version).where(MeetingDocument.id == document_id))
        fields = {"csrf_token": csrf_token_from(page.get_data(as_text=True)), "title": "A document", "tlp": tlp}
        return client.post(url, data={**fields, "version": str(version)})

    refused = save("CLEAR")
    assert refused.status_code == 403
    assert "may make this marking less strict" in refused.get_data(as_text=True)
    saved = save("RED")
    assert saved.status_code == 302, saved.get_data(as_text=True)[:2000]
    assert "/login" not in saved.headers["Location"], saved.headers["Location"]
    db.session.commit()  # end this test's read transaction: see what the requests committed
    db.session.expire_all()
    assert db.session.get(MeetingDocument, document_id).tlp is Tlp.RED
    assert outsider.get(f"/meetings/documents/{document_id}").status_code == 404
