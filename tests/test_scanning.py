"""Malware scanning of uploads with a real clamd (``tests.support.clamd``: EICAR is its one signature).

Malware is refused and nothing of it is stored; a clean file is stored and visible; with the
scanner down a file is stored pending and nobody can download it or see it listed but its
uploader, until ``storage rescan`` finds clamd back. Without a scanner nothing changes
(the rest of the suite).
"""

from __future__ import annotations

import io
import json
import socket
import zipfile
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from app.audit.models import AuditEvent
from app.clusters.models import Attachment, Post
from app.extensions import db
from app.files.models import StoredFile
from app.files.scanning import Clamd, StreamScan
from app.files.services import blob_store
from app.meetings.models import MeetingDocument
from app.notifications.models import Notification
from tests.conftest import csrf_token_from
from tests.support.clamd import EICAR, SIGNATURE
from tests.test_api_posts import bearer
from tests.test_attachments import api_upload, counts
from tests.test_posts_pages import publish

REFUSED = f"This file contains malware ({SIGNATURE}) and was not stored."
CLEAN = b"Berth 12 gate checks: seals, weights, manifests.\n" * 200


@pytest.fixture
def author(make: Any) -> Any:
    return make.user(clusters={"policy": "contributor"})


@pytest.fixture
def reader(make: Any) -> Any:
    return make.user(clusters={"policy": "reader"})


@pytest.fixture
def post(author: Any) -> Post:
    return publish(author, tlp="GREEN")


@pytest.fixture
def scanning(app: Flask, clamd_socket: str) -> str:
    app.config["CLAMD_ADDRESS"] = clamd_socket
    return clamd_socket


@pytest.fixture
def scanner_down(app: Flask, tmp_path: Path) -> str:
    """Scanning configured, but nobody listens on the socket."""
    address = str(tmp_path / "nobody-listens.sock")
    app.config["CLAMD_ADDRESS"] = address
    return address


def document_counts() -> tuple[int, int, int]:
    db.session.commit()
    rows = db.session.scalar(sa.select(sa.func.count(MeetingDocument.id))) or 0
    files = db.session.scalar(sa.select(sa.func.count(StoredFile.id))) or 0
    return rows, files, len(list(blob_store().list_blobs()))


def refusals() -> list[AuditEvent]:
    db.session.commit()
    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "file.upload_refused")))


# --- the client speaks clamd's protocol -------------------------------------------------------------


def test_the_client_gets_clamds_verdicts(scanning: str) -> None:
    clamd = Clamd(scanning, 10)
    assert clamd.ping()
    scan = StreamScan(clamd)
    for piece in (CLEAN[:100], CLEAN[100:]):
        scan.feed(piece)
    assert scan.verdict() == "clean"
    scan = StreamScan(clamd)
    scan.feed(EICAR)
    with pytest.raises(Exception, match=r"contains malware \(Eicar-Test-Signature\)"):
        scan.verdict()


# --- malware is refused ----------------------------------------------------------------------------


def test_an_eicar_upload_is_refused_and_nothing_is_stored(client, scanning, author, post) -> None:
    headers = bearer(author)
    before = counts()
    refused = api_upload(client, post.id, EICAR, "eicar.txt", headers)
    assert refused.status_code == 422
    assert refused.get_json()["error"]["fields"] == {"file": REFUSED}
    assert counts() == before
    (event,) = refusals()
    assert (event.actor_id, event.target_type, event.target_id) == (author.id, "post", str(post.id))
    assert event.details["signature"] == SIGNATURE
    assert event.details["reason"] == "malware"
    assert "EICAR" not in str(event.details) and "eicar" not in str(event.details)


def test_an_eicar_page_upload_says_so_plainly(client, scanning, author, post, login_as) -> None:
    login_as(author)
    page = client.get(f"/posts/{post.id}")
    before = counts()
    response = client.post(
        f"/posts/{post.id}/attachments",
        data={"csrf_token": csrf_token_from(page.text), "file": (io.BytesIO(EICAR), "note.txt")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert REFUSED in response.text
    assert counts() == before


def test_an_eicar_meeting_document_is_refused_and_nothing_is_stored(client, scanning, make) -> None:
    from tests.test_packs import make_meeting

    organiser = make.user(role="curator", org_type="commission")
    meeting = make_meeting(organiser)
    db.session.commit()
    before = document_counts()
    response = client.post(
        f"/api/v1/meetings/{meeting.id}/documents",
        data={"title": "Agenda", "file": (io.BytesIO(EICAR), "agenda.txt")},
        headers=bearer(organiser),
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"] == {"file": REFUSED}
    assert document_counts() == before
    assert [(e.target_type, e.details["kind"]) for e in refusals()] == [("meeting", "meeting")]


def test_a_file_larger_than_the_scanner_takes_is_refused(app, client, scanning, author, post) -> None:
    app.config["CLAMD_MAX_BYTES"] = 1000
    before = counts()
    response = api_upload(client, post.id, CLEAN, "gates.txt", bearer(author))
    assert response.status_code == 413
    assert "malware scanner checks files of up to 1,000 bytes" in response.get_json()["error"]["message"]
    assert counts() == before


# --- clean files ------------------------------------------------------------------------------------


def test_a_clean_file_is_stored_scanned_and_visible(client, scanning, author, reader, post) -> None:
    created = api_upload(client, post.id, CLEAN, "gates.txt", bearer(author))
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["scan_status"] == "clean"
    stored = db.session.get(Attachment, created.get_json()["id"]).file
    assert stored.scan_status == "clean" and stored.scanned_at is not None
    other = bearer(reader, "read")
    assert client.get(f"/api/v1/attachments/{created.get_json()['id']}", headers=other).data == CLEAN
    listed = client.get(f"/api/v1/posts/{post.id}", headers=other).get_json()["attachments"]
    assert [a["id"] for a in listed] == [created.get_json()["id"]]


def test_without_a_scanner_files_are_stored_unscanned_and_visible(client, author, reader, post) -> None:
    created = api_upload(client, post.id, EICAR, "eicar.txt", bearer(author))
    assert created.status_code == 201
    assert created.get_json()["scan_status"] == "unscanned"
    assert client.get(f"/api/v1/attachments/{created.get_json()['id']}", headers=bearer(reader, "read")).data == EICAR


# --- the scanner is down -----------------------------------------------------------------------------


def test_a_scanner_that_is_down_holds_files_pending_never_visible(
    client, new_client, scanner_down, author, reader, post
) -> None:
    created = api_upload(client, post.id, CLEAN, "gates.txt", bearer(author))
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["scan_status"] == "pending"
    attachment_id = body["id"]
    stored = db.session.get(Attachment, attachment_id).file
    assert stored.scan_status == "pending" and stored.scanned_at is None

    # Another member: not downloadable, not listed, in the API and on the page.
    other = bearer(reader, "read")
    assert client.get(f"/api/v1/attachments/{attachment_id}", headers=other).status_code == 404
    assert client.get(f"/api/v1/posts/{post.id}", headers=other).get_json()["attachments"] == []
    listed = client.get("/api/v1/posts?cluster=policy", headers=other).get_json()["items"]
    assert [p["attachments"] for p in listed if p["id"] == post.id] == [[]]
    browser = new_client(reader)
    assert browser.get(f"/attachments/{attachment_id}").status_code == 404
    page = browser.get(f"/posts/{post.id}").text
    assert "gates.txt" not in page and f"attachment-{attachment_id}" not in page

    # The uploader: listed as waiting, not downloadable.
    mine = bearer(author, "read")
    assert client.get(f"/api/v1/attachments/{attachment_id}", headers=mine).status_code == 404
    (own,) = client.get(f"/api/v1/posts/{post.id}", headers=mine).get_json()["attachments"]
    assert own["scan_status"] == "pending"
    uploader = new_client(author)
    page = uploader.get(f"/posts/{post.id}").text
    assert "gates.txt" in page and "Waiting for a malware scan" in page
    assert f"/attachments/{attachment_id}/delete" in page
    assert f'/attachments/{attachment_id}"' not in page
    assert uploader.get(f"/attachments/{attachment_id}").status_code == 404


def test_a_scanner_that_does_not_answer_in_time_holds_the_file_pending(app, client, author, post, tmp_path) -> None:
    """A socket that takes the file but never answers: after PAX_CLAMD_TIMEOUT_SECONDS the file
    is stored pending, and the upload still answers."""
    path = str(tmp_path / "silent.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as silent:
        silent.bind(path)
        silent.listen(1)
        app.config.update(CLAMD_ADDRESS=path, CLAMD_TIMEOUT_SECONDS=1)
        created = api_upload(client, post.id, CLEAN, "gates.txt", bearer(author))
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["scan_status"] == "pending"


def test_a_pending_meeting_document_is_in_no_pack_and_no_list_but_its_uploaders(
    app, client, new_client, scanner_down, make, reader
) -> None:
    from tests.test_packs import add_document, make_meeting

    organiser = make.user(role="curator", org_type="commission")
    meeting = make_meeting(organiser)
    app.config["CLAMD_ADDRESS"] = None
    released = add_document(meeting, None, "Welcome note", b"Welcome to Antwerp.\n", "welcome.txt")
    app.config["CLAMD_ADDRESS"] = scanner_down
    db.session.commit()
    created = client.post(
        f"/api/v1/meetings/{meeting.id}/documents",
        data={"title": "Risk register", "file": (io.BytesIO(CLEAN), "risks.txt")},
        headers=bearer(organiser),
        content_type="multipart/form-data",
    )
    assert created.status_code == 201, created.get_json()
    document_id = created.get_json()["id"]
    assert created.get_json()["scan_status"] == "pending"

    other = bearer(reader, "read")
    assert client.get(f"/api/v1/meeting-documents/{document_id}", headers=other).status_code == 404
    listed = client.get(f"/api/v1/meetings/{meeting.id}", headers=other).get_json()["documents"]
    assert [d["id"] for d in listed] == [released.id]
    page = new_client(reader).get(f"/meetings/{meeting.id}").text
    assert "Risk register" not in page and "Welcome note" in page
    for headers in (other, bearer(organiser, "read")):
        pack = client.get(f"/api/v1/meetings/{meeting.id}/pack", headers=headers)
        assert pack.status_code == 200
        archive = zipfile.ZipFile(io.BytesIO(pack.data))
        manifest = json.loads(archive.read("manifest.json"))
        assert [f["size"] for f in manifest["files"]] == [len(b"Welcome to Antwerp.\n")]
        assert not any("risk" in name.lower() for name in archive.namelist())

    own = client.get(f"/api/v1/meetings/{meeting.id}", headers=bearer(organiser, "read")).get_json()["documents"]
    assert [(d["id"], d["scan_status"]) for d in own] == [(released.id, "unscanned"), (document_id, "pending")]
    assert client.get(f"/api/v1/meeting-documents/{document_id}", headers=bearer(organiser, "read")).status_code == 404
    page = new_client(organiser).get(f"/meetings/{meeting.id}").text
    assert "Risk register" in page and "Waiting for a malware scan" in page
    assert f'/meetings/documents/{released.id}"' in page
    assert f'/meetings/documents/{document_id}"' not in page


# --- storage rescan -----------------------------------------------------------------------------------


def test_rescan_after_the_scanner_is_back_makes_the_file_visible(
    app, client, runner, scanner_down, clamd_socket, author, reader, post
) -> None:
    attachment_id = api_upload(client, post.id, CLEAN, "gates.txt", bearer(author)).get_json()["id"]
    db.session.commit()

    still_down = runner.invoke(args=["storage", "rescan"])
    assert still_down.exit_code == 2
    assert "does not answer; nothing was scanned" in still_down.output
    assert client.get(f"/api/v1/attachments/{attachment_id}", headers=bearer(reader, "read")).status_code == 404

    app.config["CLAMD_ADDRESS"] = clamd_socket
    result = runner.invoke(args=["storage", "rescan"])
    assert result.exit_code == 0, result.output
    assert "Scanned 1 files: 1 clean, 0 with malware (destroyed), 0 without a verdict." in result.output
    got = client.get(f"/api/v1/attachments/{attachment_id}", headers=bearer(reader, "read"))
    assert got.status_code == 200 and got.data == CLEAN
    db.session.expire_all()
    assert db.session.get(Attachment, attachment_id).file.scan_status == "clean"


def test_rescan_destroys_pending_malware_and_tells_the_uploader(
    app, client, runner, scanner_down, clamd_socket, author, post
) -> None:
    before = counts()
    attachment_id = api_upload(client, post.id, EICAR, "eicar.txt", bearer(author)).get_json()["id"]
    assert counts() == (before[0] + 1, before[1] + 1, before[2] + 1)

    app.config["CLAMD_ADDRESS"] = clamd_socket
    result = runner.invoke(args=["storage", "rescan"])
    assert result.exit_code == 0, result.output
    assert "Malware in file" in result.output and SIGNATURE in result.output
    db.session.expire_all()
    assert db.session.get(Attachment, attachment_id) is None
    assert counts() == before
    db.session.commit()
    (event,) = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "file.scan_infected"))
    assert event.details["signature"] == SIGNATURE
    kinds = db.session.scalars(sa.select(Notification.kind).where(Notification.user_id == author.id)).all()
    assert "upload.infected" in kinds


def test_rescan_unscanned_scans_what_was_stored_before_scanning(
    app, client, runner, clamd_socket, author, reader, post
) -> None:
    clean_id = api_upload(client, post.id, CLEAN, "gates.txt", bearer(author)).get_json()["id"]
    eicar_id = api_upload(client, post.id, EICAR, "eicar.txt", bearer(author)).get_json()["id"]
    db.session.commit()
    app.config["CLAMD_ADDRESS"] = clamd_socket

    assert runner.invoke(args=["storage", "rescan"]).output.startswith("Scanned 0 files")
    result = runner.invoke(args=["storage", "rescan", "--unscanned"])
    assert result.exit_code == 0, result.output
    assert "Scanned 2 files: 1 clean, 1 with malware (destroyed), 0 without a verdict." in result.output
    db.session.expire_all()
    assert db.session.get(Attachment, eicar_id) is None
    assert db.session.get(Attachment, clean_id).file.scan_status == "clean"
    assert client.get(f"/api/v1/attachments/{clean_id}", headers=bearer(reader, "read")).data == CLEAN
