"""Versions of attachments and meeting documents: what members, outsiders and attackers see.

A new version becomes what lists, downloads and packs show; earlier versions stay downloadable
to those who may see them. A version may be stricter than its document, never looser, and a
stricter version is hidden from everyone its own marking does not admit: the visibility matrix
at the end asks every relation about a document whose middle version is stricter than it.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
import sqlalchemy as sa

from app.audit.models import AuditEvent
from app.clusters.attachments import add_attachment_version, attach_file
from app.clusters.models import Attachment, AttachmentVersion, Post
from app.extensions import db
from app.files.models import StoredFile
from app.markings import Tlp
from app.meetings import documents
from app.meetings.models import Meeting, MeetingDocument, MeetingDocumentVersion
from app.policy import (
    visible_attachment_versions,
    visible_attachments,
    visible_meeting_document_versions,
    visible_meeting_documents,
)
from app.validation import ValidationError
from tests.conftest import csrf_token_from
from tests.test_packs import make_meeting, manifest_of, open_zip
from tests.test_posts_pages import publish


def upload_version(client: Any, url: str, data: bytes, name: str, **fields: str) -> Any:
    page = client.get(url)
    assert page.status_code == 200
    form = {"csrf_token": csrf_token_from(page.get_data(as_text=True)), **fields, "file": (io.BytesIO(data), name)}
    return client.post(url, data=form, content_type="multipart/form-data")


@pytest.fixture
def author(make: Any) -> Any:
    return make.user(clusters={"policy": "contributor"})


def test_a_new_attachment_version_is_what_the_post_lists_and_the_old_one_stays(author, login_as) -> None:
    post = publish(author, tlp="AMBER")
    attachment, _ = attach_file(author, post, "plan.txt", [b"first plan\n"], 10**6)
    db.session.commit()
    client = login_as(author)
    answer = upload_version(client, f"/attachments/{attachment.id}/versions", b"second plan\n", "plan.txt")
    assert answer.status_code == 302, answer.get_data(as_text=True)[:300]

    assert client.get(f"/attachments/{attachment.id}").get_data() == b"second plan\n"
    assert client.get(f"/attachments/{attachment.id}/versions/1").get_data() == b"first plan\n"
    assert client.get(f"/attachments/{attachment.id}/versions/2").get_data() == b"second plan\n"
    assert client.get(f"/attachments/{attachment.id}/versions/3").status_code == 404
    page = client.get(f"/attachments/{attachment.id}/versions").get_data(as_text=True)
    assert "Version 2 (latest)" in page and "Version 1" in page
    events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "attachment.version_upload")).all()
    assert [e.details["number"] for e in events] == [2]


def test_a_version_looser_than_its_post_is_refused_in_plain_words(author, login_as) -> None:
    post = publish(author, tlp="AMBER")
    attachment, _ = attach_file(author, post, "plan.txt", [b"first\n"], 10**6)
    db.session.commit()
    client = login_as(author)
    answer = upload_version(client, f"/attachments/{attachment.id}/versions", b"loose\n", "plan.txt", tlp="GREEN")
    assert answer.status_code == 422
    assert "TLP:AMBER or stricter" in answer.get_data(as_text=True)
    assert client.get(f"/attachments/{attachment.id}").get_data() == b"first\n"
    with pytest.raises(ValidationError):
        add_attachment_version(author, attachment, "x.txt", [b"x"], 10**6, Tlp.CLEAR)


def test_someone_who_may_not_edit_the_post_cannot_add_a_version(author, make, new_client) -> None:
    post = publish(author, tlp="GREEN")
    attachment, _ = attach_file(author, post, "plan.txt", [b"first\n"], 10**6)
    db.session.commit()
    reader = new_client(make.user(clusters={"policy": "reader"}))
    answer = upload_version(reader, f"/attachments/{attachment.id}/versions", b"mine\n", "plan.txt")
    assert answer.status_code == 403
    assert reader.get(f"/attachments/{attachment.id}").get_data() == b"first\n"


def test_removing_an_attachment_shreds_every_version(author) -> None:
    from app.clusters.attachments import remove_attachment

    post = publish(author, tlp="GREEN")
    attachment, _ = attach_file(author, post, "plan.txt", [b"one\n"], 10**6)
    add_attachment_version(author, attachment, "plan.txt", [b"two\n"], 10**6)
    db.session.commit()
    file_ids = [v.file_id for v in attachment.versions]
    assert len(file_ids) == 2
    remove_attachment(author, attachment)
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).where(StoredFile.id.in_(file_ids))) == 0
    assert db.session.scalar(sa.select(sa.func.count(AttachmentVersion.id))) == 0


def test_a_new_document_version_is_what_the_pack_holds(make, new_client) -> None:
    organiser = make.user(org_type="commission", role="curator")
    meeting = make_meeting(organiser)
    doc, _ = documents.add_document(organiser, meeting, None, "Agenda", None, False, "agenda.txt", [b"v1\n"], 10**6)
    documents.add_document_version(organiser, doc, "agenda.txt", [b"v2 of the agenda\n"], 10**6)
    db.session.commit()
    member = new_client(make.user(clusters={"policy": "reader"}))
    archive = open_zip(member.get(f"/meetings/{meeting.id}/pack"))
    manifest = manifest_of(archive)
    assert [archive.read(f["name"]) for f in manifest["files"]] == [b"v2 of the agenda\n"]
    assert member.get(f"/meetings/documents/{doc.id}").get_data() == b"v2 of the agenda\n"
    assert member.get(f"/meetings/documents/{doc.id}/versions/1").get_data() == b"v1\n"
    page = member.get(f"/meetings/documents/{doc.id}/versions").get_data(as_text=True)
    assert "Version 2 (latest)" in page
    assert "Add a new version" not in page  # a reader does not change the document


# --- the visibility matrix: a stricter version inside a looser document ----------------------------

RELATIONS = ["author", "same_organisation", "cluster_member", "other_member", "recipient_user", "pending"]


def _sees(relation: str, tlp: Tlp) -> bool:
    """DESIGN.md's table for the relations above (the document's cluster is policy)."""
    if relation == "pending":
        return False
    return {
        Tlp.GREEN: True,
        Tlp.AMBER: relation in ("author", "same_organisation", "cluster_member"),
        Tlp.AMBER_STRICT: relation in ("author", "same_organisation"),
        Tlp.RED: relation in ("author", "recipient_user"),
    }[tlp]


@pytest.fixture
def people(make: Any) -> dict[str, Any]:
    author = make.user(clusters={"policy": "contributor"})
    return {
        "author": author,
        "same_organisation": make.user(org=author.organisation),
        "cluster_member": make.user(clusters={"policy": "reader"}),
        "other_member": make.user(clusters={"innovation": "reader"}),
        "recipient_user": make.user(),
        "pending": make.user(status="pending"),
    }


@pytest.mark.parametrize("middle", [Tlp.AMBER, Tlp.AMBER_STRICT, Tlp.RED])
def test_attachment_versions_matrix_with_a_stricter_middle_version(people, middle) -> None:
    """v1 and v3 carry the GREEN post's marking, v2 a stricter one: everyone sees the post's file
    (v3, the latest) and v1; only those v2's marking admits see v2."""
    author = people["author"]
    post = publish(author, tlp="GREEN")  # names nobody: a RED version admits its author only
    attachment, _ = attach_file(author, post, "plan.txt", [b"v1"], 10**6)
    add_attachment_version(author, attachment, "plan.txt", [b"v2"], 10**6, middle)
    add_attachment_version(author, attachment, "plan.txt", [b"v3"], 10**6)
    db.session.commit()
    for relation, user in people.items():
        listed = db.session.scalar(
            sa.select(sa.func.count(Attachment.id))
            .join(Post, Post.id == Attachment.post_id)
            .where(Attachment.id == attachment.id, visible_attachments(user))
        )
        numbers = db.session.scalars(
            sa.select(AttachmentVersion.number)
            .join(Attachment, Attachment.id == AttachmentVersion.attachment_id)
            .join(Post, Post.id == Attachment.post_id)
            .where(AttachmentVersion.attachment_id == attachment.id, visible_attachment_versions(user))
            .order_by(AttachmentVersion.number)
        ).all()
        active = relation != "pending"
        assert listed == (1 if active else 0), relation
        named = relation == "recipient_user"
        expected = [
            n
            for n, tlp in ((1, Tlp.GREEN), (2, middle), (3, Tlp.GREEN))
            if active and _sees(relation, tlp) and not (named and tlp is Tlp.RED)
        ]
        assert numbers == expected, (relation, middle)


@pytest.mark.parametrize("latest", [Tlp.AMBER, Tlp.AMBER_STRICT, Tlp.RED])
def test_document_matrix_with_a_stricter_latest_version(people, make, latest, new_client) -> None:
    """A GREEN document whose latest version is stricter: the document (in lists, packs and the
    plain download) and its versions are seen only by those the latest version admits; v1 by
    those who also see the document. Over HTTP, a hidden version is 404."""
    from app.meetings.models import MeetingRecipientUser

    author = people["author"]
    meeting = make_meeting(author)
    db.session.add(MeetingRecipientUser(meeting_id=meeting.id, user_id=people["recipient_user"].id))
    doc, _ = documents.add_document(author, meeting, None, "Figures", None, False, "f.txt", [b"v1"], 10**6)
    documents.add_document_version(author, doc, "f.txt", [b"v2"], 10**6, latest)
    db.session.commit()
    for relation, user in people.items():
        listed = db.session.scalar(
            sa.select(sa.func.count(MeetingDocument.id))
            .join(Meeting, Meeting.id == MeetingDocument.meeting_id)
            .where(MeetingDocument.id == doc.id, visible_meeting_documents(user))
        )
        numbers = db.session.scalars(
            sa.select(MeetingDocumentVersion.number)
            .join(MeetingDocument, MeetingDocument.id == MeetingDocumentVersion.document_id)
            .join(Meeting, Meeting.id == MeetingDocument.meeting_id)
            .where(MeetingDocumentVersion.document_id == doc.id, visible_meeting_document_versions(user))
            .order_by(MeetingDocumentVersion.number)
        ).all()
        sees_latest = _sees(relation, latest)
        assert listed == (1 if sees_latest else 0), relation
        assert numbers == ([1, 2] if sees_latest else []), relation
    outsider = new_client(people["other_member"])
    for url in (
        f"/meetings/documents/{doc.id}",
        f"/meetings/documents/{doc.id}/versions/1",
        f"/meetings/documents/{doc.id}/versions/2",
        f"/meetings/documents/{doc.id}/versions",
        f"/meetings/documents/{doc.id}/preview",
    ):
        assert outsider.get(url).status_code == 404, url
    insider = new_client(people["author"])
    assert insider.get(f"/meetings/documents/{doc.id}/versions/1").get_data() == b"v1"


def test_a_document_version_looser_than_the_document_is_refused(make) -> None:
    organiser = make.user(org_type="commission", role="curator")
    meeting = make_meeting(organiser)
    doc, _ = documents.add_document(organiser, meeting, None, "Notes", Tlp.AMBER, True, "n.txt", [b"v1"], 10**6)
    with pytest.raises(ValidationError):
        documents.add_document_version(organiser, doc, "n.txt", [b"v2"], 10**6, Tlp.GREEN)
    # Not asking for "law enforcement only" does not drop it: the version stays as strict.
    version, _ = documents.add_document_version(organiser, doc, "n.txt", [b"v2"], 10**6, Tlp.RED, False)
    assert version.effective_law_enforcement_only is True and version.effective_tlp is Tlp.RED


def test_an_earlier_document_version_keeps_its_marking_when_the_document_is_loosened(make, new_client) -> None:
    """TLP 2.0: the past keeps its marking. v1 was read as AMBER; after v2 is added and the
    document's originator loosens it to GREEN, everyone sees v2 and only the AMBER audience v1."""
    organiser = make.user(org_type="commission", role="curator")
    meeting = make_meeting(organiser)
    doc, _ = documents.add_document(organiser, meeting, None, "Notes", Tlp.AMBER, False, "n.txt", [b"v1"], 10**6)
    documents.add_document_version(organiser, doc, "n.txt", [b"v2"], 10**6)
    documents.edit_document(organiser, doc, "Notes", Tlp.GREEN, False)
    db.session.commit()
    outsider = new_client(make.user(clusters={"innovation": "reader"}))
    assert outsider.get(f"/meetings/documents/{doc.id}").get_data() == b"v2"
    assert outsider.get(f"/meetings/documents/{doc.id}/versions/2").status_code == 200
    assert outsider.get(f"/meetings/documents/{doc.id}/versions/1").status_code == 404
    member = new_client(make.user(clusters={"policy": "reader"}))
    assert member.get(f"/meetings/documents/{doc.id}/versions/1").get_data() == b"v1"
