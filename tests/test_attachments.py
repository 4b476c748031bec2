"""Post attachments through the pages and the API: what members, outsiders and attackers see.

Uploads stream into encryption; downloads stream out, with ranges, one audit event each; a bad
upload leaves no blob and no row; nothing of a file's name or content is findable at rest.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import secrets
import tracemalloc
import zipfile
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from app.audit.models import AuditEvent
from app.clusters.models import Attachment, Post
from app.extensions import db
from app.files import crypto
from app.files.models import StoredFile
from app.files.services import blob_store
from tests.conftest import csrf_token_from
from tests.test_api_posts import bearer
from tests.test_posts_pages import publish

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000") + b"\x00" * 64
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def counts() -> tuple[int, int, int]:
    """Attachment rows, stored-file rows and blobs: all three move together or not at all."""
    db.session.commit()
    rows = db.session.scalar(sa.select(sa.func.count(Attachment.id))) or 0
    files = db.session.scalar(sa.select(sa.func.count(StoredFile.id))) or 0
    return rows, files, len(list(blob_store().list_blobs()))


def api_upload(client: Any, post_id: int, data: bytes, name: str, headers: dict[str, str]) -> Any:
    return client.post(
        f"/api/v1/posts/{post_id}/attachments",
        data={"file": (io.BytesIO(data), name)},
        headers=headers,
        content_type="multipart/form-data",
    )


@pytest.fixture
def author(make: Any) -> Any:
    return make.user(clusters={"policy": "contributor"})


@pytest.fixture
def post(author: Any) -> Post:
    return publish(author, tlp="AMBER")


# --- the API ----------------------------------------------------------------------------------------


def test_upload_and_download_over_the_api(key_backend, client, author, post) -> None:
    headers = bearer(author)
    data = os.urandom(150_000).hex().encode()
    created = api_upload(client, post.id, data, "Berth plan.txt", headers)
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["filename"] == "Berth plan.txt"
    assert body["size"] == len(data)
    assert body["sha256"] == hashlib.sha256(data).hexdigest()
    assert body["media_type"] == "text/plain"
    assert created.headers["Location"] == f"/api/v1/attachments/{body['id']}"

    got = client.get(f"/api/v1/attachments/{body['id']}", headers=headers)
    assert got.status_code == 200
    assert got.data == data
    assert got.headers["Content-Length"] == str(len(data))
    assert got.mimetype == "text/plain"
    assert got.headers["Content-Disposition"].startswith('attachment; filename="Berth plan.txt"')
    assert got.headers["Cache-Control"] == "private, no-store"
    assert "sandbox" in got.headers["Content-Security-Policy"]

    listed = client.get(f"/api/v1/posts/{post.id}", headers=headers).get_json()
    assert [a["id"] for a in listed["attachments"]] == [body["id"]]
    assert listed["attachments"][0]["sha256"] == body["sha256"]


def test_every_download_is_an_audit_event_with_its_bytes(client, author, post) -> None:
    headers = bearer(author)
    data = b"crew list\n" * 1000
    attachment_id = api_upload(client, post.id, data, "crew.txt", headers).get_json()["id"]
    client.get(f"/api/v1/attachments/{attachment_id}", headers=headers)
    client.get(f"/api/v1/attachments/{attachment_id}", headers={**headers, "Range": "bytes=0-99"})
    db.session.commit()
    events = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "attachment.download").order_by(AuditEvent.id)
    ).all()
    assert [(e.actor_id, e.target_id, e.details["bytes"]) for e in events] == [
        (author.id, str(attachment_id), len(data)),
        (author.id, str(attachment_id), 100),
    ]


@pytest.mark.parametrize(
    ("header", "status", "span"),
    [
        ("bytes=10-19", 206, (10, 20)),
        ("bytes=65530-65545", 206, (65530, 65546)),  # across a segment boundary
        ("bytes=-5", 206, (199_995, 200_000)),
        ("bytes=131072-", 206, (131072, 200_000)),
        ("bytes=0-", 206, (0, 200_000)),
        ("bytes=0-1,5-6", 200, (0, 200_000)),  # several ranges: the whole file
        ("lines=1-2", 200, (0, 200_000)),
        ("bytes=oops", 200, (0, 200_000)),
    ],
)
def test_range_requests(client, author, post, header, status, span) -> None:
    headers = bearer(author)
    data = os.urandom(100_000).hex().encode()
    attachment_id = api_upload(client, post.id, data, "r.txt", headers).get_json()["id"]
    got = client.get(f"/api/v1/attachments/{attachment_id}", headers={**headers, "Range": header})
    assert got.status_code == status
    assert got.data == data[span[0] : span[1]]
    assert got.headers["Accept-Ranges"] == "bytes"
    if status == 206:
        assert got.headers["Content-Range"] == f"bytes {span[0]}-{span[1] - 1}/{len(data)}"


def test_unsatisfiable_range_and_stale_if_range(client, author, post) -> None:
    headers = bearer(author)
    attachment_id = api_upload(client, post.id, b"short", "s.txt", headers).get_json()["id"]
    url = f"/api/v1/attachments/{attachment_id}"
    beyond = client.get(url, headers={**headers, "Range": "bytes=50-60"})
    assert beyond.status_code == 416
    assert beyond.headers["Content-Range"] == "bytes */5"
    etag = client.get(url, headers=headers).headers["ETag"]
    assert client.get(url, headers={**headers, "Range": "bytes=1-2", "If-Range": etag}).data == b"ho"
    stale = client.get(url, headers={**headers, "Range": "bytes=1-2", "If-Range": '"other"'})
    assert (stale.status_code, stale.data) == (200, b"short")


def test_outside_the_audience_an_attachment_is_404(client, make, author, post) -> None:
    attachment_id = api_upload(client, post.id, b"insider list", "list.txt", bearer(author)).get_json()["id"]
    outsider = make.user(clusters={"innovation": "contributor"})  # AMBER: not of the cluster, the org, the recipients
    for path in (f"/api/v1/attachments/{attachment_id}", f"/api/v1/posts/{post.id}/attachments"):
        method = client.get if path.startswith("/api/v1/attachments") else client.post
        answer = method(path, headers=bearer(outsider))
        assert answer.status_code == 404, path
        assert b"insider" not in answer.data
    assert client.delete(f"/api/v1/attachments/{attachment_id}", headers=bearer(outsider)).status_code == 404


def test_a_reader_of_the_post_may_download_but_not_add_or_remove(client, make, author) -> None:
    green = publish(author, tlp="GREEN")
    attachment_id = api_upload(client, green.id, b"public guidance", "g.txt", bearer(author)).get_json()["id"]
    reader = make.user(clusters={"policy": "reader"})
    headers = bearer(reader)
    assert client.get(f"/api/v1/attachments/{attachment_id}", headers=headers).data == b"public guidance"
    assert api_upload(client, green.id, b"x", "x.txt", headers).status_code == 403
    assert client.delete(f"/api/v1/attachments/{attachment_id}", headers=headers).status_code == 403
    read_only = bearer(author, scope="read")
    assert api_upload(client, green.id, b"x", "x.txt", read_only).status_code == 403


def test_delete_over_the_api_shreds_the_file(client, author, post) -> None:
    headers = bearer(author)
    attachment_id = api_upload(client, post.id, b"to be shredded", "s.txt", headers).get_json()["id"]
    assert counts() == (1, 1, 1)
    assert client.delete(f"/api/v1/attachments/{attachment_id}", headers=headers).status_code == 204
    assert counts() == (0, 0, 0)
    assert client.get(f"/api/v1/attachments/{attachment_id}", headers=headers).status_code == 404


def test_deleting_the_post_shreds_its_files(client, author, post) -> None:
    headers = bearer(author)
    for n in range(3):
        api_upload(client, post.id, f"file {n}".encode(), f"{n}.txt", headers)
    assert counts() == (3, 3, 3)
    assert client.delete(f"/api/v1/posts/{post.id}", headers=headers).status_code == 204
    assert counts() == (0, 0, 0)


# --- what is accepted ---------------------------------------------------------------------------------


def _xlsx() -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    book.active["A1"] = "seizures"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("notes.txt", "hello")
    return out.getvalue()


@pytest.mark.parametrize(
    ("content", "name", "media_type"),
    [
        (PDF, "procedure.pdf", "application/pdf"),
        (PNG, "scan.png", "image/png"),
        (b"port,kg\nBEANR,120\n", "seizures.csv", "text/csv"),
        (b"plain notes", "notes", "text/plain"),
        ("Zoll - Hafen ü".encode(), "notiz.txt", "text/plain"),
        ("xlsx", "table.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ("zip", "bundle.zip", "application/zip"),
    ],
)
def test_allowed_types_are_sniffed_from_content(client, author, post, content, name, media_type) -> None:
    data = {"xlsx": _xlsx, "zip": _zip}[content]() if isinstance(content, str) else content
    created = api_upload(client, post.id, data, name, bearer(author))
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["media_type"] == media_type


#: Files PAX refuses for what they are, and the words that say so.
REFUSED_TYPES = [
    (b"\x7fELF\x02\x01\x01" + b"\x00" * 60, "tool.pdf", "This file is a program, which PAX does not accept"),
    (b"MZ\x90\x00" + b"\x00" * 60, "setup.exe", "This file is a Windows program, which PAX does not accept"),
    (b"<html><script>alert(1)</script></html>", "page.html", "ends in .html"),
    (b"<svg onload=alert(1)>", "logo.svg", "ends in .svg"),
    (PNG, "scan.pdf", "ends in .pdf"),
    (PDF, "report.txt", "ends in .txt"),
    (os.urandom(4000), "blob.bin", "cannot recognise"),
]


@pytest.mark.parametrize(("content", "name", "says"), REFUSED_TYPES)
def test_refused_types_change_nothing(client, author, post, content, name, says) -> None:
    refused = api_upload(client, post.id, content, name, bearer(author))
    assert refused.status_code == 415
    assert says in refused.get_json()["error"]["message"]
    assert counts() == (0, 0, 0)


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("../../etc/passwd.txt", "passwd.txt"),
        ("/var/lib/pax/x.txt", "x.txt"),
        ("report\u202etxt.exe.txt", "reporttxt.exe.txt"),
        ("...hidden.txt", "hidden.txt"),
        ("x" * 400 + ".txt", "x" * 196 + ".txt"),
        ("Überprüfung - Hafen.txt", "Überprüfung - Hafen.txt"),
    ],
)
def test_filenames_are_sanitised(client, author, post, sent, kept) -> None:
    created = api_upload(client, post.id, b"text", sent, bearer(author))
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["filename"] == kept
    got = client.get(created.get_json()["url"].replace("http://localhost", ""), headers=bearer(author))
    assert "\n" not in got.headers["Content-Disposition"]
    for root, _dirs, files in os.walk(blob_store().root):
        assert all(name == os.path.basename(name) and "passwd" not in name for name in files), root


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("C:\\fakepath\\evil.txt", "evil.txt"),
        ("..\\..\\boot.txt", "boot.txt"),
        ("line\nbreak\r\x00.txt", "line_break_.txt"),
        ('a"b<c>d|e?.txt', "a_b_c_d_e_.txt"),
        ("", "attachment"),
        ("..", "attachment"),
        ("x" * 300, "x" * 200),
    ],
)
def test_safe_filename_keeps_no_path_or_control_characters(sent, kept) -> None:
    from app.files.sniff import safe_filename

    assert safe_filename(sent) == kept


def test_too_large_is_413_with_a_clear_message_and_leaves_nothing(app: Flask, client, author, post) -> None:
    app.config["MAX_UPLOAD_BYTES"] = 100_000
    refused = api_upload(client, post.id, b"a" * 100_001, "big.txt", bearer(author))
    assert refused.status_code == 413
    assert "larger than the 97.7 KiB PAX accepts" in refused.get_json()["error"]["message"]
    assert counts() == (0, 0, 0)
    assert not any((blob_store().root / ".partial").iterdir())
    assert api_upload(client, post.id, b"a" * 100_000, "fits.txt", bearer(author)).status_code == 201


def _multipart(parts: list[tuple[str, str | None, bytes]], boundary: str = "paxboundary") -> bytes:
    out = b""
    for name, filename, content in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename is not None else "")
        out += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + content + b"\r\n"
    return out + f"--{boundary}--\r\n".encode()


#: Upload bodies that are not a usable upload, and the words that say what went wrong.
MALFORMED = [
    (_multipart([("file", "a.txt", b"hello")])[:-30], "multipart/form-data; boundary=paxboundary", "ended"),
    (
        _multipart([("other", "a.txt", b"hello")]),
        "multipart/form-data; boundary=paxboundary",
        "a field PAX does not read",
    ),
    (_multipart([("title", None, b"x")]), "multipart/form-data; boundary=paxboundary", "no file"),
    (
        _multipart([("file", "a.txt", b"one"), ("file", "b.txt", b"two")]),
        "multipart/form-data; boundary=paxboundary",
        "one file",
    ),
    (_multipart([("file", "", b"x")]), "multipart/form-data; boundary=paxboundary", "No file was chosen"),
    (b'{"file": "aGVsbG8="}', "application/json", "No file arrived"),
    (_multipart([("file", "a.txt", b"hello")]), "multipart/form-data", "No file arrived"),
    (b"--paxboundary\r\nno headers here\r\n\r\nx", "multipart/form-data; boundary=paxboundary", "arrived damaged"),
    (b"", "multipart/form-data; boundary=paxboundary", "no file"),
]


@pytest.mark.parametrize(("body", "content_type", "says"), MALFORMED)
def test_malformed_and_truncated_uploads_are_400_and_leave_nothing(client, author, post, body, content_type, says):
    answer = client.post(
        f"/api/v1/posts/{post.id}/attachments", data=body, content_type=content_type, headers=bearer(author)
    )
    assert answer.status_code == 400, answer.get_json()
    assert says in answer.get_json()["error"]["message"]
    assert counts() == (0, 0, 0)


#: What no message to a member may hold: media types, form internals, library words.
JARGON = re.compile(
    r"\b[a-z]+/[a-z0-9.+-]+\b|multipart|\bparts?\b|boundary|Content-|NoneType|Traceback|KeyError|werkzeug",
    re.IGNORECASE,
)


def _messages(answer: Any) -> list[str]:
    error = answer.get_json()["error"]
    return [error["message"], *(error.get("fields") or {}).values()]


def test_no_upload_refusal_speaks_of_media_types_form_parts_or_libraries(client, make, author, post) -> None:
    """Every refusal an upload can meet says what happened and what to do, in a member's words."""
    from tests.test_meetings import technical, upload

    said: list[str] = []
    for content, name, _ in REFUSED_TYPES:
        said += _messages(api_upload(client, post.id, content, name, bearer(author)))
    for body, content_type, _ in MALFORMED:
        answer = client.post(
            f"/api/v1/posts/{post.id}/attachments", data=body, content_type=content_type, headers=bearer(author)
        )
        said += _messages(answer)
    coordinator = make.user(clusters={"policy": "coordinator"})
    headers = bearer(coordinator, "write")
    meeting = client.post("/api/v1/meetings", json=technical(), headers=headers).get_json()
    url = f"/api/v1/meetings/{meeting['id']}/documents"
    for content, name in ((b"MZ\x90\x00" + b"\x00" * 60, "setup.exe"), (b"<html>", "a.html"), (b"x", "")):
        said += _messages(upload(client, url, content, name, title="T", headers=headers))
    said += _messages(client.post(url, json={}, headers=headers))
    assert len(said) >= len(REFUSED_TYPES) + len(MALFORMED) + 4
    for message in said:
        assert message and not JARGON.search(message), message


def test_client_gone_mid_upload_leaves_nothing(client, author, post) -> None:
    body = _multipart([("file", "a.txt", b"x" * 300_000)])
    answer = client.post(
        f"/api/v1/posts/{post.id}/attachments",
        input_stream=io.BytesIO(body[:150_000]),
        headers={**bearer(author), "Content-Length": str(len(body))},
        content_type="multipart/form-data; boundary=paxboundary",
    )
    assert answer.status_code == 400
    assert counts() == (0, 0, 0)


def test_a_marker_in_content_and_name_is_found_nowhere_at_rest(client, author, post, caplog) -> None:
    marker = f"PAXMARKER{secrets.token_hex(8)}"
    data = f"Insider list for terminal 5. {marker}\n".encode() * 3000
    caplog.set_level("DEBUG")
    created = api_upload(client, post.id, data, f"insiders-{marker}.txt", bearer(author))
    assert created.status_code == 201
    client.get(created.get_json()["url"].replace("http://localhost", ""), headers=bearer(author))
    needle = marker.encode()
    # The blob store: every file under the local store's root.
    for root, _dirs, files in os.walk(blob_store().root):
        for name in files:
            assert needle not in (name.encode() + open(os.path.join(root, name), "rb").read())  # noqa: SIM115
    # The database: every column of every row of every table.
    db.session.commit()
    metadata = sa.MetaData()
    metadata.reflect(bind=db.engine)
    for table in metadata.sorted_tables:
        for row in db.session.execute(sa.select(table)):
            for value in row:
                raw = value if isinstance(value, bytes) else str(value).encode()
                assert needle not in raw, table.name
    # The logs.
    assert marker not in caplog.text


# --- the pages --------------------------------------------------------------------------------------


def test_upload_download_and_remove_on_the_post_page(client, author, post, login_as) -> None:
    login_as(author)
    page = client.get(f"/posts/{post.id}").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in page
    data = b"Gate procedure\n" * 100
    uploaded = client.post(
        f"/posts/{post.id}/attachments",
        data={"csrf_token": csrf_token_from(page), "file": (io.BytesIO(data), "gate.txt")},
        content_type="multipart/form-data",
    )
    assert uploaded.status_code == 302
    shown = client.get(f"/posts/{post.id}").get_data(as_text=True)
    assert "gate.txt" in shown and "1.5 KiB · text file" in shown
    attachment = db.session.scalar(sa.select(Attachment))
    assert f"/attachments/{attachment.id}" in shown
    got = client.get(f"/attachments/{attachment.id}")
    assert got.data == data
    confirm = client.get(f"/attachments/{attachment.id}/delete").get_data(as_text=True)
    assert "cannot be undone" in confirm
    removed = client.post(f"/attachments/{attachment.id}/delete", data={"csrf_token": csrf_token_from(confirm)})
    assert removed.status_code == 302
    assert counts() == (0, 0, 0)


def test_page_upload_without_csrf_token_is_refused(client, author, post, login_as) -> None:
    login_as(author)
    answer = client.post(
        f"/posts/{post.id}/attachments",
        data={"file": (io.BytesIO(b"x"), "x.txt")},
        content_type="multipart/form-data",
    )
    assert answer.status_code == 400
    assert "form expired" in answer.get_data(as_text=True)
    assert counts() == (0, 0, 0)


def test_page_upload_errors_are_shown_next_to_the_field(client, author, post, login_as) -> None:
    login_as(author)
    page = client.get(f"/posts/{post.id}").get_data(as_text=True)
    answer = client.post(
        f"/posts/{post.id}/attachments",
        data={"csrf_token": csrf_token_from(page), "file": (io.BytesIO(PNG), "scan.pdf")},
        content_type="multipart/form-data",
    )
    assert answer.status_code == 415
    html = answer.get_data(as_text=True)
    assert 'id="attachment-file-invalid"' in html and "Rename it to end in .png" in html
    empty = client.post(
        f"/posts/{post.id}/attachments",
        data={"csrf_token": csrf_token_from(page), "file": (io.BytesIO(b""), "")},
        content_type="multipart/form-data",
    )
    assert empty.status_code == 400 and "Choose a file" in empty.get_data(as_text=True)
    assert counts() == (0, 0, 0)


def test_outsider_gets_404_on_the_pages(client, make, author, post, login_as) -> None:
    attachment_id = api_upload(client, post.id, b"insider list", "list.txt", bearer(author)).get_json()["id"]
    login_as(make.user(clusters={"innovation": "contributor"}))
    assert client.get(f"/attachments/{attachment_id}").status_code == 404
    assert client.get(f"/attachments/{attachment_id}/delete").status_code == 404
    assert client.post(f"/posts/{post.id}/attachments", data={}).status_code == 404


# --- damaged files over HTTP --------------------------------------------------------------------


def _damage(attachment_id: int, offset: int) -> None:
    db.session.commit()
    record = db.session.get(Attachment, attachment_id).file
    reader = blob_store().open(record.blob_key)
    raw = bytearray(reader.read(10**9))
    reader.close()
    raw[offset] ^= 0x01
    with blob_store().writer(record.blob_key) as writer:
        writer.write(bytes(raw))


@pytest.mark.committed_db
def test_damaged_first_segment_is_a_clear_error_and_an_audit_event(client, author, post) -> None:
    headers = bearer(author)
    attachment_id = api_upload(client, post.id, b"secret text " * 100, "t.txt", headers).get_json()["id"]
    _damage(attachment_id, crypto.HEADER_SIZE + 3)
    answer = client.get(f"/api/v1/attachments/{attachment_id}", headers=headers)
    assert answer.status_code == 500
    assert answer.get_json()["error"]["code"] == "file_integrity"
    assert b"secret" not in answer.data
    db.session.commit()
    actions = db.session.scalars(sa.select(AuditEvent.action)).all()
    assert "file.integrity_failure" in actions
    assert "attachment.download" not in actions


def test_damaged_later_segment_cuts_the_download_short(client, author, post, monkeypatch) -> None:
    """Beyond what is authenticated whole before sending (lowered here from 64 MiB, so that a
    3 MB file stands for a long one), damage shows only when the stream reaches it."""
    from app.files import http

    monkeypatch.setattr(http, "VERIFIED_WHOLE_UP_TO", 1024 * 1024)
    headers = bearer(author)
    data = os.urandom(1_500_000).hex().encode()  # 3 MB: the server writes 1 MiB at a time
    attachment_id = api_upload(client, post.id, data, "t.txt", headers).get_json()["id"]
    _damage(attachment_id, crypto.HEADER_SIZE + 30 * (crypto.SEGMENT_SIZE + crypto.TAG_SIZE) + 9)
    answer = client.get(f"/api/v1/attachments/{attachment_id}", headers=headers, buffered=False)
    assert answer.status_code == 200  # the first segment was sound; headers are already sent
    received = b""
    with pytest.raises(Exception, match="fails authentication"):
        for chunk in answer.response:
            received += chunk
    assert 0 < len(received) <= 30 * crypto.SEGMENT_SIZE
    assert data.startswith(received)  # only authenticated bytes were sent
    db.session.commit()
    assert db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "file.integrity_failure"))


# --- memory -------------------------------------------------------------------------------------


class _GeneratedBody(io.RawIOBase):
    """A multipart body of ``size`` file bytes, produced as it is read (never held whole)."""

    def __init__(self, size: int):
        self.head = _multipart([("file", "big.txt", b"")])[: -len(b"\r\n--paxboundary--\r\n")]
        self.tail = b"\r\n--paxboundary--\r\n"
        self.size = size
        self.block = b"0123456789abcdef" * 4096
        self.length = len(self.head) + size + len(self.tail)
        self.position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = 0) -> int:
        self.position = self.length + offset if whence == 2 else offset
        return self.position

    def readinto(self, buffer: Any) -> int:
        want, pos, body_end = len(buffer), self.position, len(self.head) + self.size
        if pos < len(self.head):
            out = self.head[pos : pos + want]
        elif pos < body_end:
            out = self.block[: min(want, body_end - pos, len(self.block))]
        else:
            out = self.tail[pos - body_end : pos - body_end + want]
        buffer[: len(out)] = out
        self.position += len(out)
        return len(out)


def test_memory_stays_flat_for_a_large_upload_and_download(client, author, post) -> None:
    size = 48 * 1024 * 1024
    headers = bearer(author)
    body = _GeneratedBody(size)
    tracemalloc.start()
    try:
        created = client.post(
            f"/api/v1/posts/{post.id}/attachments",
            input_stream=body,
            headers={**headers, "Content-Length": str(body.length)},
            content_type="multipart/form-data; boundary=paxboundary",
        )
        _current, upload_peak = tracemalloc.get_traced_memory()
        assert created.status_code == 201, created.get_json()
        tracemalloc.reset_peak()
        answer = client.get(created.get_json()["url"].replace("http://localhost", ""), headers=headers, buffered=False)
        received = 0
        for chunk in answer.response:
            received += len(chunk)
        answer.close()
        _current, download_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert received == size
    assert upload_peak < 12 * 1024 * 1024, upload_peak
    assert download_peak < 12 * 1024 * 1024, download_peak
