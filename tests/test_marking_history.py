"""The past keeps its marking (issue 19, item 2): the read paths of the change matrix.

For each ordered pair of post markings (old, new) from the change matrix's set, a post is written
under ``old`` with a comment, a file and a digest notification to everyone ``old`` admits, then
its author re-marks it ``new`` (the author may loosen and tighten). Then, for every reader
relation, every read path is asked: the post, its history (the version written under ``old``),
its comments, its files (page list, API list, download check), search for the old and the new
words, the commenter's personal-data export and the daily digest mail.

The expected answers come from an oracle written here from the rule's words (README, "Sharing";
DESIGN.md, "Need-to-know holds through change"): the post and its search hit follow ``new``;
what was written under ``old`` shows only to readers both admit; earlier texts are never
searchable; a digest mentions the post only to readers notified under ``old`` who may see it now.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import sqlalchemy as sa

from app.extensions import db
from tests.test_marking_changes import CLUSTER, Mark, markings, post_raw

#: Reader relations to the post; the author writes and re-marks it.
READERS = ["author", "colleague", "member", "le_member", "recipient_org", "recipient_person", "outsider", "admin"]


def admits(mark: Mark, reader: str) -> bool:
    """The access table in the rule's words, for the world below."""
    if reader == "author":
        return True
    if mark.le and reader != "le_member":
        return False
    if mark.tlp in ("CLEAR", "GREEN"):
        return True
    named_org = mark.named and reader == "recipient_org"
    if mark.tlp == "AMBER":
        return reader in ("colleague", "member", "le_member") or named_org
    if mark.tlp == "AMBER+STRICT":
        return reader == "colleague" or named_org
    return mark.named and reader == "recipient_person"


def test_the_oracle_reads_the_rule_as_written() -> None:
    assert admits(Mark("AMBER", False), "member") and not admits(Mark("AMBER+STRICT", False), "member")
    assert admits(Mark("AMBER+STRICT", False, True), "recipient_org")
    assert not admits(Mark("RED", False), "colleague") and admits(Mark("RED", False, True), "recipient_person")
    assert not admits(Mark("GREEN", True), "member") and admits(Mark("GREEN", True), "le_member")
    assert not any(admits(Mark(t, le, n), "admin") for t in ("AMBER", "RED") for le in (0, 1) for n in (0, 1))


@pytest.fixture
def world(make: Any) -> dict[str, Any]:
    """The author's organisation (author, colleague), a cluster member elsewhere, a police
    officer in the cluster, a recipient organisation R, a named person P, an outsider and an
    administrator. Only the author and the member write in the cluster."""
    home = make.org("port_authority")
    recipient_org = make.org("terminal_operator")
    people = {
        "author": make.user(home, clusters={CLUSTER: "contributor"}),
        "colleague": make.user(home),
        "member": make.user(clusters={CLUSTER: "contributor"}),
        "le_member": make.user(make.org("police"), clusters={CLUSTER: "reader"}),
        "recipient_org": make.user(recipient_org),
        "recipient_person": make.user(),
        "outsider": make.user(),
        "admin": make.user(role="admin"),
    }
    return {"people": people, "R": recipient_org, "P": people["recipient_person"]}


def _raw(world: dict[str, Any], mark: Mark, title: str, body: str) -> dict[str, Any]:
    return {**post_raw(world, mark), "title": title, "body": body}


def _reads(reader: Any, post: Any, old_word: str, new_word: str) -> dict[str, bool]:
    from app.clusters.models import Post
    from app.clusters.queries import attachment_list, post_comments, post_history
    from app.clusters.search import search
    from app.policy import visible_posts

    sees_post = db.session.scalar(sa.select(Post.id).where(Post.id == post.id, visible_posts(reader))) is not None
    reads = {"post": sees_post, "search new": any(hit.post.id == post.id for hit in search(reader, new_word).items)}
    reads["search old"] = any(hit.post.id == post.id for hit in search(reader, old_word).items)
    if sees_post:
        history = post_history(reader, post)
        reads["history"] = bool(history) and history[0].version is not None
        reads["comment"] = bool(post_comments(reader, post))
        reads["file"] = bool(attachment_list(reader, post))
    else:
        reads.update(history=False, comment=False, file=False)
    return reads


def test_every_read_path_after_every_change_of_marking(world: dict[str, Any]) -> None:
    from app.clusters.attachments import attach_file
    from app.clusters.services import add_comment, edit_post, publish_post
    from app.clusters.validation import parse_post
    from app.notifications.models import DeliveryMode, OutboxMessage
    from app.notifications.services import notify, queue_digests
    from app.privacy.export import _comments

    people = world["people"]
    author, member = people["author"], people["member"]
    marks = markings(with_recipients=True)
    wrong: list[tuple[Any, ...]] = []
    digest_expected: dict[str, set[int]] = {reader: set() for reader in READERS}
    cells = 0
    for i, old in enumerate(marks):
        for j, new in enumerate(marks):
            if new == old:
                continue
            old_word, new_word = f"oldword{i}x{j}", f"newword{i}x{j}"
            post = publish_post(author, parse_post(_raw(world, old, f"Gate {i}/{j}", f"Seals {old_word}.")))
            # The member comments only where the old marking lets them see the post.
            commenter = member if admits(old, "member") else author
            comment = add_comment(commenter, post, "Seen at our gate too.")
            attach_file(author, post, "checklist.txt", [b"seal checklist"], 1 << 20)
            for reader in READERS:
                if admits(old, reader):
                    notify(people[reader], "post.new", target=("post", post.id), tlp=post.tlp, mode=DeliveryMode.DAILY)
            edit_post(author, post, parse_post(_raw(world, new, f"Gate {i}/{j}", f"Seals {new_word}.")))
            db.session.flush()
            for reader in READERS:
                cells += 1
                both = admits(old, reader) and admits(new, reader)
                want = {
                    "post": admits(new, reader),
                    "search new": admits(new, reader),
                    "search old": False,
                    "history": both,
                    "comment": both,
                    "file": both,
                }
                got = _reads(people[reader], post, old_word, new_word)
                if got != want:
                    wrong.append((old, new, reader, {k: v for k, v in got.items() if want[k] != v}))
                if both:
                    digest_expected[reader].add(post.id)
            exported = {c["id"]: c for c in _comments(commenter)}[comment.id]
            if (exported["post_id"] is not None) != (
                (admits(old, "member") and admits(new, "member")) or commenter is author
            ):
                wrong.append((old, new, "export", exported))
    assert cells == len(marks) * (len(marks) - 1) * len(READERS)
    assert not wrong, f"{len(wrong)} of {cells} cells wrong, e.g. {wrong[:8]}"

    # The daily digest, for all the pairs at once: a post is mentioned only to readers notified
    # under its old marking who may see it now.
    queue_digests()
    db.session.flush()
    for reader in READERS:
        bodies = db.session.scalars(sa.select(OutboxMessage.body).where(OutboxMessage.user_id == people[reader].id))
        text = "\n".join(bodies)
        mentioned = {int(n) for n in re.findall(r"/posts/(\d+)", text)}
        assert mentioned == digest_expected[reader], reader


def test_over_http_a_version_comment_and_file_from_before_stay_under_their_marking(
    world: dict[str, Any], client: Any, new_client: Any
) -> None:
    """The pages and the API, for one loosening: RED for P, then GREEN for everyone."""
    from app.clusters.attachments import attach_file
    from app.clusters.services import add_comment, edit_post, publish_post
    from app.clusters.validation import parse_post
    from tests.test_api_posts import bearer

    people = world["people"]
    author = people["author"]
    red = Mark("RED", False, True)
    post = publish_post(author, parse_post(_raw(world, red, "Informant route", "The RED draft text.")))
    add_comment(author, post, "The informant's name is in the file.")
    attachment, _meta = attach_file(author, post, "source.txt", [b"who"], 1 << 20)
    edit_post(author, post, parse_post(_raw(world, Mark("GREEN", False), "Route", "The redacted text.")))
    db.session.commit()

    member = new_client(people["member"])
    page = member.get(f"/posts/{post.id}").get_data(as_text=True)
    assert "The redacted text." in page
    assert "informant" not in page.lower() and "source.txt" not in page
    history = member.get(f"/posts/{post.id}/history").get_data(as_text=True)
    assert "An earlier version you may not see" in history and "RED draft" not in history
    assert member.get(f"/attachments/{attachment.id}").status_code == 404
    api = client.get(f"/api/v1/posts/{post.id}", headers=bearer(people["member"])).get_json()
    assert api["attachments"] == [] and "RED draft" not in str(api)
    comments = client.get(f"/api/v1/posts/{post.id}/comments", headers=bearer(people["member"]))
    assert comments.status_code in (200, 404) and "informant" not in comments.get_data(as_text=True).lower()

    named = new_client(people["recipient_person"])
    history = named.get(f"/posts/{post.id}/history").get_data(as_text=True)
    assert "The RED draft text." in history and "TLP:RED" in history
    assert named.get(f"/attachments/{attachment.id}").status_code == 200
    assert "informant" in named.get(f"/posts/{post.id}").get_data(as_text=True).lower()


def test_meeting_documents_after_every_change_of_their_marking(world: dict[str, Any], client: Any) -> None:
    """Meeting documents have no history: after each change of a document's marking by its
    author, the meeting page's list, the pack's contents and the API list follow the new marking
    for every reader. One pack per reader is also built over HTTP for the last change."""
    import io
    import zipfile

    from app.auth.services import grant_membership
    from app.markings import Tlp
    from app.meetings.documents import edit_document
    from app.meetings.pack import visible_documents
    from app.meetings.queries import document_rows
    from app.meetings.services import schedule_meeting
    from app.meetings.validation import parse_meeting
    from tests.test_api_posts import bearer
    from tests.test_meetings import add_doc, technical

    people = world["people"]
    author = people["author"]
    grant_membership(author, CLUSTER, "coordinator", actor=None)
    raw = technical(tlp="CLEAR")
    del raw["agenda"]
    meeting = schedule_meeting(author, parse_meeting(raw))
    db.session.commit()
    marks = markings(with_recipients=False)
    wrong: list[tuple[Any, ...]] = []
    cells = 0
    for old in marks:
        for new in marks:
            if new == old:
                continue
            document = add_doc(author, meeting, tlp=old.tlp, le_only=old.le, title=f"Doc {old} {new}")
            edit_document(author, document, document.title, Tlp(new.tlp), new.le)
            db.session.flush()
            for reader in READERS:
                cells += 1
                user = people[reader]
                got = (
                    document.id in {d.id for d, _item in visible_documents(user, meeting)},
                    document.id in {row.document.id for row in document_rows(user, meeting)},
                )
                if got != (admits(new, reader),) * 2:
                    wrong.append((old, new, reader, got))
    assert cells == len(marks) * (len(marks) - 1) * len(READERS)
    assert not wrong, f"{len(wrong)} of {cells} cells wrong, e.g. {wrong[:8]}"
    db.session.commit()

    # Over HTTP, for the last change: each reader's signed pack lists the document iff the new
    # marking admits them.
    last_title, last_new = document.title, new
    for reader in READERS:
        answer = client.get(f"/api/v1/meetings/{meeting.id}/pack", headers=bearer(people[reader]))
        assert answer.status_code == 200, (reader, answer.status_code)
        manifest = json.loads(zipfile.ZipFile(io.BytesIO(answer.get_data())).read("manifest.json"))
        titles = {entry["title"] for entry in manifest["files"]}
        assert (last_title in titles) == admits(last_new, reader), reader
