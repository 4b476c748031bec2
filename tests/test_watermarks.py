"""Per-recipient watermarks: a PDF marked AMBER or stricter is stamped, at download, on every
page with the marking, the reader's name and organisation, the date and a forensic reference,
which the download's audit event records and ``audit trace`` finds again. Packs stamp their PDFs
the same way, and their manifest lists the stamped copies' digests."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from app.audit.models import AuditEvent
from app.clusters.attachments import attach_file
from app.extensions import db
from app.markings import Tlp
from app.meetings import documents
from tests.support.pdfs import make_pdf, pdf_bytes
from tests.test_packs import make_meeting, manifest_of, open_zip
from tests.test_posts_pages import publish

REFERENCE = re.compile(r"Ref ([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})")


def page_texts(data: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]


def stamp_line(reader: Any, tlp: str) -> str:
    today = datetime.now(UTC).date().isoformat()
    return f"TLP:{tlp} - {reader.name} ({reader.organisation.name}) - {today} - Ref "


@pytest.fixture
def author(make: Any) -> Any:
    return make.user(clusters={"policy": "contributor"})


def test_every_page_of_an_amber_pdf_names_its_reader_and_the_reference_traces_the_download(
    author, make, new_client, runner, tmp_path
) -> None:
    post = publish(author, tlp="AMBER")
    original = pdf_bytes(tmp_path, 5)
    attachment, _ = attach_file(author, post, "brief.pdf", [original], 10**7)
    db.session.commit()
    reader = make.user(clusters={"policy": "reader"})
    response = new_client(reader).get(f"/attachments/{attachment.id}")
    assert response.status_code == 200
    body = response.get_data()
    assert body != original
    texts = page_texts(body)
    assert len(texts) == 5
    reference = response.headers["X-Pax-Watermark"]
    for number, text in enumerate(texts, start=1):
        assert f"Page {number}" in text  # the page's own content is still there
        assert stamp_line(reader, "AMBER") + reference in text
    assert {m.group(1) for t in texts for m in REFERENCE.finditer(t)} == {reference}

    event = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "attachment.download").order_by(AuditEvent.seq.desc())
    ).first()
    assert event.actor_id == reader.id
    assert event.details["watermark"] == reference
    assert event.details["stamped_sha256"] == hashlib.sha256(body).hexdigest()

    # Whoever finds a leaked copy reads the reference off any page and asks the audit log.
    leaked = REFERENCE.search(page_texts(body)[3]).group(1)
    result = runner.invoke(args=["audit", "trace", leaked.lower()])
    assert result.exit_code == 0, result.output
    assert f"seq {event.seq}" in result.output
    assert reader.email in result.output and reader.organisation.name in result.output
    assert "attachment.download of attachment" in result.output
    assert hashlib.sha256(body).hexdigest() in result.output

    unknown = runner.invoke(args=["audit", "trace", "0000-0000-0000"])
    assert unknown.exit_code == 1 and "no download carries" in unknown.output
    nonsense = runner.invoke(args=["audit", "trace", "not a ref"])
    assert nonsense.exit_code != 0 and "is not a watermark reference" in nonsense.output


def test_two_readers_get_differently_stamped_copies_and_green_pdfs_are_untouched(
    author, make, new_client, tmp_path
) -> None:
    amber = publish(author, tlp="AMBER")
    green = publish(author, tlp="GREEN")
    original = pdf_bytes(tmp_path, 2)
    amber_file, _ = attach_file(author, amber, "a.pdf", [original], 10**7)
    green_file, _ = attach_file(author, green, "g.pdf", [original], 10**7)
    db.session.commit()
    first, second = make.user(clusters={"policy": "reader"}), make.user(clusters={"policy": "reader"})
    copy_one = new_client(first).get(f"/attachments/{amber_file.id}")
    copy_two = new_client(second).get(f"/attachments/{amber_file.id}")
    assert copy_one.headers["X-Pax-Watermark"] != copy_two.headers["X-Pax-Watermark"]
    assert first.name in page_texts(copy_one.get_data())[0] and second.name not in page_texts(copy_one.get_data())[0]
    plain = new_client(first).get(f"/attachments/{green_file.id}")
    assert plain.get_data() == original and "X-Pax-Watermark" not in plain.headers


def test_a_pdf_that_cannot_be_stamped_is_refused_in_plain_words(author, make, new_client, tmp_path) -> None:
    post = publish(author, tlp="RED")
    locked = make_pdf(tmp_path / "locked.pdf", 1, password="secret").read_bytes()
    attachment, _ = attach_file(author, post, "locked.pdf", [locked], 10**7)
    db.session.commit()
    response = new_client(author).get(f"/attachments/{attachment.id}")
    assert response.status_code == 422
    assert "cannot be opened to stamp it" in response.get_data(as_text=True)
    assert list(Path(tmp_path).glob("pax-stamp-*")) == []


def test_a_pack_stamps_its_amber_pdfs_and_its_manifest_lists_the_stamped_digests(
    make, new_client, runner, tmp_path
) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from app.cli.packs import check_pack

    organiser = make.user(org_type="commission", role="curator")
    meeting = make_meeting(organiser)
    original = pdf_bytes(tmp_path, 3)
    documents.add_document(organiser, meeting, None, "Open", None, False, "open.pdf", [original], 10**7)
    documents.add_document(organiser, meeting, None, "Figures", Tlp.AMBER, False, "fig.pdf", [original], 10**7)
    db.session.commit()
    reader = make.user(clusters={"policy": "reader"})
    client = new_client(reader)
    response = client.get(f"/meetings/{meeting.id}/pack")
    archive = open_zip(response)
    manifest = manifest_of(archive)
    files = {f["title"]: f for f in manifest["files"]}
    assert archive.read(files["Open"]["name"]) == original and files["Open"]["stamped"] is False
    stamped = archive.read(files["Figures"]["name"])
    assert files["Figures"]["stamped"] is True
    assert files["Figures"]["sha256"] == hashlib.sha256(stamped).hexdigest()
    assert files["Figures"]["size"] == len(stamped)
    reference = manifest["watermark"]
    for text in page_texts(stamped):
        assert stamp_line(reader, "AMBER") + reference in text

    key = base64.b64decode(client.get("/api/v1/pack-key").get_json()["public_key"])
    Ed25519PublicKey.from_public_bytes(key).verify(
        base64.b64decode(archive.read("manifest.sig")), archive.read("manifest.json")
    )
    saved = tmp_path / "pack.zip"
    saved.write_bytes(response.get_data())
    check = check_pack(saved, key)
    assert check.problems == [] and check.files == 2

    traced = runner.invoke(args=["audit", "trace", reference])
    assert traced.exit_code == 0, traced.output
    assert "meeting.pack_download of meeting" in traced.output and reader.email in traced.output
    assert hashlib.sha256(stamped).hexdigest() in traced.output


@pytest.mark.slow
def test_stamping_a_100_mb_pdf_keeps_memory_under_200_mib(tmp_path) -> None:
    """The worker's peak RSS while stamping a 100 MB, 100-page PDF from a stream of decrypted
    chunks (as a download does), measured in a fresh interpreter (its VmHWM: getrusage's
    maxrss would carry over the forking test process's own peak through exec)."""
    source = make_pdf(tmp_path / "big.pdf", 100, image_bytes=1024 * 1024)
    assert source.stat().st_size > 100 * 1024 * 1024
    script = f"""
import json
from datetime import date
from pathlib import Path
from app.files.watermark import Stamp, stamped_copy
from app.markings import Tlp
def chunks():
    with open({str(source)!r}, "rb") as f:
        while piece := f.read(1 << 20):
            yield piece
copy = stamped_copy(chunks(), Stamp(Tlp.AMBER, "Reader", "Org", date.today(), "AAAA-BBBB-CCCC"), {str(tmp_path)!r})
size, pages = copy.size, copy.pages
for _ in copy.chunks():
    pass
hwm = next(line for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({{"peak_kib": int(hwm.split()[1]), "pages": pages, "size": size}}))
"""
    root = Path(__file__).resolve().parent.parent
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=root,
        env={"PYTHONPATH": str(root)},
        check=True,
        timeout=300,
    )
    measured = json.loads(result.stdout.strip().splitlines()[-1])
    assert measured["pages"] == 100 and measured["size"] > 100 * 1024 * 1024
    assert measured["peak_kib"] < 200 * 1024, measured
    assert list(tmp_path.glob("pax-stamp-*")) == []


def test_a_posts_files_come_as_one_signed_zip_with_its_amber_pdfs_stamped(author, make, new_client, tmp_path) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from app.cli.packs import check_pack

    post = publish(author, tlp="AMBER")
    pdf = pdf_bytes(tmp_path, 2)
    attach_file(author, post, "brief.pdf", [pdf], 10**7)
    attach_file(author, post, "figures.csv", [b"port,kg\nBEANR,120\n"], 10**7)
    db.session.commit()
    reader = make.user(clusters={"policy": "reader"})
    client = new_client(reader)
    assert f'href="/posts/{post.id}/files.zip"' in client.get(f"/posts/{post.id}").get_data(as_text=True)
    response = client.get(f"/posts/{post.id}/files.zip")
    archive = open_zip(response)
    manifest = manifest_of(archive)
    assert manifest["post"]["id"] == post.id and manifest["withheld"] == 0
    assert manifest["recipient"]["email"] == reader.email
    files = {f["title"]: f for f in manifest["files"]}
    assert archive.read(files["figures.csv"]["name"]) == b"port,kg\nBEANR,120\n"
    stamped = archive.read(files["brief.pdf"]["name"])
    assert files["brief.pdf"]["stamped"] is True and files["brief.pdf"]["sha256"] == hashlib.sha256(stamped).hexdigest()
    assert all(stamp_line(reader, "AMBER") + manifest["watermark"] in text for text in page_texts(stamped))
    key = base64.b64decode(client.get("/api/v1/pack-key").get_json()["public_key"])
    Ed25519PublicKey.from_public_bytes(key).verify(
        base64.b64decode(archive.read("manifest.sig")), archive.read("manifest.json")
    )
    saved = tmp_path / "files.zip"
    saved.write_bytes(response.get_data())
    assert check_pack(saved, key).problems == []
    event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "post.files_download")).one()
    assert event.actor_id == reader.id and event.details["watermark"] == manifest["watermark"]

    outsider = new_client(make.user(clusters={"innovation": "reader"}))
    assert outsider.get(f"/posts/{post.id}/files.zip").status_code == 404
    bare = publish(author, tlp="GREEN")
    empty = client.get(f"/posts/{bare.id}/files.zip")
    assert empty.status_code == 404 and "no files you may see" in empty.get_data(as_text=True)


def test_no_plaintext_of_a_stamped_pdf_touches_the_disk(tmp_path) -> None:
    """The decrypted PDF and its stamped copy wait in the temporary directory sealed under a key
    that lives only in the worker's memory: a directory left behind by a killed worker is unreadable."""
    from datetime import date

    from app.files.watermark import Stamp, stamped_copy
    from app.markings import Tlp

    source = make_pdf(tmp_path / "marked.pdf", 3)
    plain = source.read_bytes()
    copy = stamped_copy([plain], Stamp(Tlp.RED, "Reader Name", "Org", date.today(), "AAAA-BBBB-CCCC"), str(tmp_path))
    waiting = [p for p in copy.directory.rglob("*") if p.is_file()]
    assert waiting, "the stamped copy waits on disk"
    for path in waiting:
        stored = path.read_bytes()
        assert b"%PDF" not in stored and b"Reader Name" not in stored and plain[200:260] not in stored
    sent = b"".join(copy.chunks())
    assert sent.startswith(b"%PDF") and not copy.directory.exists()


@pytest.mark.parametrize("reader", ["Ελένη Παπαδοπούλου", "Георги Иванов", "Łukasz Wąsowicz", "Jürgen Ößwald"])
def test_a_stamp_writes_every_eu_script(reader, tmp_path) -> None:
    """Members come from 27 countries: a Greek, Bulgarian, Polish or German name is printed as it is
    written (the stamp's font is embedded), and read back from every page."""
    from datetime import date

    from pypdf import PdfReader

    from app.files.watermark import Stamp, stamped_copy
    from app.markings import Tlp

    source = make_pdf(tmp_path / "names.pdf", 2)
    copy = stamped_copy(
        [source.read_bytes()], Stamp(Tlp.AMBER, reader, "Λιμένας Πειραιώς", date.today(), "AAAA-BBBB-CCCC")
    )
    out = tmp_path / "out.pdf"
    out.write_bytes(b"".join(copy.chunks()))
    for page in PdfReader(out).pages:
        text = page.extract_text()
        assert reader in text and "Λιμένας Πειραιώς" in text and "AAAA-BBBB-CCCC" in text


def test_storage_sweep_removes_stamping_directories_a_killed_worker_left(app, runner, tmp_path) -> None:
    import os
    import time

    app.config["STAMP_TEMP_DIR"] = str(tmp_path)
    old, fresh = tmp_path / "pax-stamp-old", tmp_path / "pax-stamp-fresh"
    for directory in (old, fresh):
        directory.mkdir()
        (directory / "in.sealed").write_bytes(b"sealed")
    two_hours_ago = time.time() - 7200
    os.utime(old, (two_hours_ago, two_hours_ago))
    result = runner.invoke(args=["storage", "sweep", "--grace-hours", "1"])
    assert result.exit_code == 0, result.output
    assert "and 1 stamping directory left by stopped workers." in result.output
    assert not old.exists() and fresh.exists()
