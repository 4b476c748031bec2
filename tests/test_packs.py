"""Meeting packs: each member's zip holds exactly what they may see, signed, streamed, audited.

The meeting below has four documents with four audiences: a GREEN one for everyone, an AMBER one
for the policy cluster, a law-enforcement-only one for police, and a RED one for a named person.
A cluster member, a police officer and the named person each get a different pack.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from app.audit.models import AuditEvent
from app.clusters.models import Cluster
from app.extensions import db
from app.files import crypto
from app.files.services import FileUnavailable, blob_store, store_file
from app.markings import Tlp
from app.meetings.models import AgendaItem, Meeting, MeetingDocument, MeetingKind, MeetingRecipientUser
from app.meetings.pack import EMPTY_MESSAGE, entry_names
from tests.test_api_openapi import Conformance
from tests.test_api_posts import bearer

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


# --- building a meeting -----------------------------------------------------------------------------


def make_meeting(
    organiser: Any, tlp: str = "GREEN", agenda: tuple[str, ...] = ("Welcome", "Risks", "Closing")
) -> Meeting:
    policy = db.session.scalar(sa.select(Cluster).where(Cluster.slug == "policy"))
    meeting = Meeting(
        kind=MeetingKind.TECHNICAL,
        cluster=policy,
        title="Policy cluster meeting <b>Q4</b>",
        starts_at=datetime(2026, 12, 1, 9, tzinfo=UTC),
        ends_at=datetime(2026, 12, 1, 17, tzinfo=UTC),
        location="Antwerp",
        tlp=Tlp(tlp),
        author=organiser,
        author_org_id=organiser.organisation_id,
    )
    db.session.add(meeting)
    for position, title in enumerate(agenda, start=1):
        db.session.add(AgendaItem(meeting=meeting, position=position, title=title))
    db.session.flush()
    return meeting


def add_document(
    meeting: Meeting,
    position: int | None,
    title: str,
    data: bytes,
    filename: str,
    tlp: str = "GREEN",
    law_enforcement_only: bool = False,
    order: int = 1,
) -> MeetingDocument:
    """A document stored as the meeting's organiser stores it; ``position``: its agenda item (None: the meeting)."""
    organiser = meeting.author
    item = next(i for i in meeting.agenda if i.position == position) if position is not None else None
    stored, _meta = store_file("meeting", [data], filename, organiser, 10**9)
    document = MeetingDocument(
        meeting=meeting,
        agenda_item=item,
        file=stored,
        title=title,
        position=order,
        tlp=Tlp(tlp),
        law_enforcement_only=law_enforcement_only,
        author=organiser,
        author_org_id=organiser.organisation_id,
    )
    db.session.add(document)
    db.session.flush()
    return document


@dataclass
class World:
    meeting: Meeting
    docs: dict[str, MeetingDocument]
    data: dict[str, bytes]
    member: Any
    police: Any
    named: Any
    outsider: Any


@pytest.fixture
def world(make: Any) -> World:
    organiser = make.user(org_type="commission", role="curator")
    meeting = make_meeting(organiser)
    data = {
        "agenda": b"Agenda of the meeting\n" * 20,
        "amber": b"port,seizures\nBEANR,12\nNLRTM,9\n",
        "police": PDF,
        "red": b"Named source notes: only for you\n" * 10,
    }
    docs = {
        "agenda": add_document(meeting, None, "Agenda", data["agenda"], "agenda.txt"),
        "amber": add_document(meeting, 1, "Cluster figures", data["amber"], "figures.CSV", tlp="AMBER"),
        "police": add_document(meeting, 2, "Police briefing", data["police"], "brief.pdf", law_enforcement_only=True),
        "red": add_document(meeting, 3, "Source notes", data["red"], "notes.txt", tlp="RED"),
    }
    member = make.user(clusters={"policy": "reader"})
    police = make.user(org_type="police")
    named = make.user()
    outsider = make.user()
    db.session.add(MeetingRecipientUser(meeting_id=meeting.id, user_id=named.id))
    db.session.commit()
    return World(meeting, docs, data, member, police, named, outsider)


def open_zip(response: Any) -> zipfile.ZipFile:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/zip"
    body = response.get_data()
    assert response.headers["Content-Length"] == str(len(body))
    return zipfile.ZipFile(io.BytesIO(body))


def manifest_of(archive: zipfile.ZipFile) -> dict[str, Any]:
    manifest: dict[str, Any] = json.loads(archive.read("manifest.json"))
    return manifest


def api_pack(client: Any, meeting_id: int | str, user: Any) -> Any:
    return client.get(f"/api/v1/meetings/{meeting_id}/pack", headers=bearer(user, "read"))


# --- who gets what ---------------------------------------------------------------------------------


def test_members_with_different_clearances_get_different_packs(client, world, new_client) -> None:
    expected = {
        "member": ({"agenda", "amber"}, ["00-01 Agenda.txt", "01-01 Cluster figures.csv"]),
        "police": ({"agenda", "police"}, ["00-01 Agenda.txt", "02-01 Police briefing.pdf"]),
        "named": ({"agenda", "red"}, ["00-01 Agenda.txt", "03-01 Source notes.txt"]),
    }
    packs = {}
    for who, (keys, names) in expected.items():
        user = getattr(world, who)
        archive = open_zip(new_client(user).get(f"/meetings/{world.meeting.id}/pack"))
        assert archive.namelist() == ["index.html", "manifest.json", "manifest.sig", *names]
        manifest = manifest_of(archive)
        assert [f["name"] for f in manifest["files"]] == names
        assert manifest["withheld"] == 2
        assert manifest["recipient"] == {"id": user.id, "email": user.email, "organisation": user.organisation.name}
        assert manifest["meeting"]["id"] == world.meeting.id and manifest["meeting"]["cluster"] == "policy"
        for key, name in zip(sorted(keys, key=lambda k: list(world.docs).index(k)), names, strict=True):
            assert archive.read(name) == world.data[key]
        packs[who] = (keys, archive)
    # Nothing of a document a member may not see is anywhere in their pack: bytes, title or name.
    for who, (keys, archive) in packs.items():
        everything = b"".join(archive.read(name) for name in archive.namelist())
        for key in set(world.docs) - keys:
            assert world.data[key] not in everything, (who, key)
            assert world.docs[key].title.encode() not in everything, (who, key)


def test_api_pack_matches_the_page_pack_and_the_outsider_sees_only_green(client, world) -> None:
    archive = open_zip(api_pack(client, world.meeting.id, world.outsider))
    assert archive.namelist() == ["index.html", "manifest.json", "manifest.sig", "00-01 Agenda.txt"]
    assert manifest_of(archive)["withheld"] == 3


def test_numbered_names_are_safe_unique_and_in_agenda_order(client, make, world) -> None:
    meeting = world.meeting
    add_document(meeting, 1, "../../etc/passwd", b"one\n", "a.txt", order=3)
    add_document(meeting, 1, "Same title", b"two\n", "b.txt", order=1)
    add_document(meeting, 1, "Same title", b"three\n", "c.exe.txt", order=2)
    add_document(meeting, None, "Port A/B: plan?", PDF, "plan.PDF", order=2)
    db.session.commit()
    archive = open_zip(api_pack(client, meeting.id, world.member))
    names = archive.namelist()[3:]
    assert names == [
        "00-01 Agenda.txt",
        "00-02 Port A-B_ plan_.pdf",
        "01-01 Cluster figures.csv",
        "01-02 Same title.txt",
        "01-03 Same title.txt",
        "01-04 -..-etc-passwd.txt",
    ]
    assert len(set(names)) == len(names)
    assert all("/" not in name and "\\" not in name for name in names)


def test_entry_names_never_collide() -> None:
    class Doc:
        def __init__(self, title: str) -> None:
            self.title = title

    class Meta:
        filename = "x.txt"

    rows: list[Any] = [(Doc("index"), None, Meta()), (Doc("Report"), None, Meta()), (Doc("Report"), None, Meta())]
    names = entry_names(rows)
    assert names == ["00-01 index.txt", "00-02 Report.txt", "00-03 Report.txt"]


def test_index_is_self_contained_escaped_and_links_the_files(client, world) -> None:
    add_document(world.meeting, 2, '<script>alert("x")</script>', b"x\n", "x.txt")
    db.session.commit()
    archive = open_zip(api_pack(client, world.meeting.id, world.member))
    index = archive.read("index.html").decode()
    assert "<script>" not in index and "&lt;script&gt;" in index
    assert "&lt;b&gt;Q4&lt;/b&gt;" in index  # the meeting title, escaped
    assert 'href="00-01%20Agenda.txt"' in index
    assert 'href="01-01%20Cluster%20figures.csv"' in index
    for external in ("http://", "https://", "src=", "<link"):
        assert external not in index
    # The agenda is there; the withheld documents are not named.
    assert "Risks" in index and "Closing" in index
    assert "Police briefing" not in index and "Source notes" not in index
    assert "2 documents of this meeting are not in this pack" in index


# --- the manifest and its signature ---------------------------------------------------------------


def test_manifest_digests_match_the_files_and_the_signature_verifies(key_backend, client, world) -> None:
    response = api_pack(client, world.meeting.id, world.member)
    archive = open_zip(response)
    manifest_raw = archive.read("manifest.json")
    manifest = json.loads(manifest_raw)
    for entry in manifest["files"]:
        content = archive.read(entry["name"])
        assert entry["size"] == len(content) == archive.getinfo(entry["name"]).file_size
        assert entry["sha256"] == hashlib.sha256(content).hexdigest()
        assert entry["tlp"] in Tlp.values()
    assert [f["tlp"] for f in manifest["files"]] == ["GREEN", "AMBER"]
    assert manifest["files"][1]["agenda_item"] == {"position": 1, "title": "Welcome"}
    assert manifest["files"][0]["agenda_item"] is None
    assert all(info.compress_type == zipfile.ZIP_STORED for info in archive.infolist())

    key = client.get("/api/v1/pack-key")  # no token: the key is public
    assert key.status_code == 200
    assert key.headers["Cache-Control"].startswith("public, max-age=")
    body = key.get_json()
    assert body["algorithm"] == "Ed25519"
    public = base64.b64decode(body["public_key"])
    assert len(public) == 32
    assert body["key_id"] == manifest["key_id"] == hashlib.sha256(public).hexdigest()[:16]
    signature = base64.b64decode(archive.read("manifest.sig"))
    Ed25519PublicKey.from_public_bytes(public).verify(signature, manifest_raw)  # raises if bad
    changed = manifest_raw.replace(b'"withheld": 2', b'"withheld": 0')
    assert changed != manifest_raw
    with pytest.raises(InvalidSignature):
        Ed25519PublicKey.from_public_bytes(public).verify(signature, changed)


def test_the_signing_key_lives_in_the_keyring_not_the_database(app, client, world) -> None:
    ring = app.extensions["pax_keyring"]
    seed = ring.purpose_key("pack_signing_ed25519")
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    expected = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    assert base64.b64decode(client.get("/api/v1/pack-key").get_json()["public_key"]) == expected


# --- packs verify -------------------------------------------------------------------------------------


def _rezip(source: Path, target: Path, change: dict[str, bytes]) -> None:
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            new.writestr(info.filename, change.get(info.filename, old.read(info)))


def test_packs_verify_passes_a_good_pack_and_fails_a_tampered_one(key_backend, client, runner, world, tmp_path) -> None:
    pack = tmp_path / "pack.zip"
    pack.write_bytes(api_pack(client, world.meeting.id, world.member).get_data())
    key = client.get("/api/v1/pack-key").get_json()["public_key"]

    good = runner.invoke(args=["packs", "verify", str(pack), "--public-key", key])
    assert good.exit_code == 0, good.output
    assert "OK" in good.output and "2 files" in good.output
    assert runner.invoke(args=["packs", "verify", str(pack)]).exit_code == 0  # this portal's own key

    tampered_file = tmp_path / "file.zip"
    _rezip(pack, tampered_file, {"00-01 Agenda.txt": b"Agenda of the meeting\n" * 19 + b"Agenda of the meetinG\n"})
    result = runner.invoke(args=["packs", "verify", str(tampered_file), "--public-key", key])
    assert result.exit_code == 1 and "SHA-256" in result.output

    manifest = zipfile.ZipFile(pack).read("manifest.json")
    tampered_manifest = tmp_path / "manifest.zip"
    _rezip(pack, tampered_manifest, {"manifest.json": manifest.replace(b'"withheld": 2', b'"withheld": 0')})
    result = runner.invoke(args=["packs", "verify", str(tampered_manifest), "--public-key", key])
    assert result.exit_code == 1 and "not a valid signature" in result.output

    extra = tmp_path / "extra.zip"
    _rezip(pack, extra, {})
    with zipfile.ZipFile(extra, "a") as archive:
        archive.writestr("99-01 Smuggled.txt", b"not from the portal")
    result = runner.invoke(args=["packs", "verify", str(extra), "--public-key", key])
    assert result.exit_code == 1 and "not in the manifest" in result.output

    other_key = base64.b64encode(os.urandom(32)).decode()
    assert runner.invoke(args=["packs", "verify", str(pack), "--public-key", other_key]).exit_code == 1
    not_zip = tmp_path / "not.zip"
    not_zip.write_bytes(b"PK nothing")
    assert runner.invoke(args=["packs", "verify", str(not_zip), "--public-key", key]).exit_code == 1
    bad = runner.invoke(args=["packs", "verify", str(pack), "--public-key", "not base64!"])
    assert bad.exit_code == 2 and "base64" in bad.output


# --- no pack, and no access ----------------------------------------------------------------------------


def test_a_meeting_without_visible_documents_gives_a_clear_message_not_an_empty_zip(
    client, make, world, new_client
) -> None:
    meeting = make_meeting(world.meeting.author)
    add_document(meeting, 1, "Cluster only", b"x\n", "x.txt", tlp="AMBER")
    bare = make_meeting(world.meeting.author)
    db.session.commit()
    browser = new_client(world.outsider)
    for meeting_id in (meeting.id, bare.id):
        page = browser.get(f"/meetings/{meeting_id}/pack")
        assert page.status_code == 404
        assert page.mimetype == "text/html"
        text = page.get_data(as_text=True)
        assert "no documents you may see, so there is no pack to download" in text
        assert "Back to the meeting" in text
        answer = api_pack(client, meeting_id, world.outsider)
        assert answer.status_code == 404
        assert answer.get_json()["error"] == {"code": "pack_empty", "message": EMPTY_MESSAGE, "fields": {}}
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).where(AuditEvent.action == "meeting.pack_download")) == 0


def test_a_meeting_the_caller_may_not_see_is_404_and_bad_ids_too(client, make, world, new_client) -> None:
    hidden = make_meeting(world.meeting.author, tlp="AMBER")
    add_document(hidden, 1, "Amber doc", b"x\n", "x.txt", tlp="AMBER")
    db.session.commit()
    page = new_client(world.outsider).get(f"/meetings/{hidden.id}/pack")
    assert page.status_code == 404 and "no pack to download" not in page.get_data(as_text=True)
    answer = api_pack(client, hidden.id, world.outsider)
    assert answer.status_code == 404 and answer.get_json()["error"]["code"] == "not_found"
    for bad in ("abc", "0", "-1", "99999999999", "1.0", "%20"):
        assert api_pack(client, bad, world.member).status_code == 404, bad
    assert client.get(f"/api/v1/meetings/{world.meeting.id}/pack").status_code == 401
    anonymous = client.get(f"/meetings/{world.meeting.id}/pack")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]


# --- audit ------------------------------------------------------------------------------------------


def test_every_download_is_exactly_one_audit_event_listing_its_files(client, world, new_client) -> None:
    body = api_pack(client, world.meeting.id, world.police).get_data()
    new_client(world.member).get(f"/meetings/{world.meeting.id}/pack").get_data()
    db.session.commit()
    events = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "meeting.pack_download").order_by(AuditEvent.id)
    ).all()
    assert len(events) == 2
    police, member = events
    assert police.actor_id == world.police.id
    assert (police.target_type, police.target_id) == ("meeting", str(world.meeting.id))
    assert police.details["document_ids"] == [world.docs["agenda"].id, world.docs["police"].id]
    assert police.details["count"] == 2 and police.details["withheld"] == 2
    assert police.details["bytes"] == len(body)
    assert member.details["document_ids"] == [world.docs["agenda"].id, world.docs["amber"].id]
    recorded = json.dumps([police.details, member.details])
    for document in world.docs.values():
        assert document.title not in recorded
    for name in ("Agenda.txt", "agenda.txt", "figures", ".pdf"):
        assert name not in recorded


# --- streaming ----------------------------------------------------------------------------------------


def test_the_pack_streams_without_a_temporary_file(client, world, monkeypatch) -> None:
    def refuse(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("a meeting pack must not use a temporary file")

    for name in ("TemporaryFile", "NamedTemporaryFile", "SpooledTemporaryFile", "mkstemp", "mkdtemp", "mktemp"):
        monkeypatch.setattr(tempfile, name, refuse)
    response = api_pack(client, world.meeting.id, world.member)
    assert response.is_streamed
    assert response.headers["Content-Disposition"].startswith('attachment; filename="pax-meeting-')
    assert f"pax-meeting-{world.meeting.id}-pack.zip" in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "private, no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert open_zip(response).testzip() is None


def test_a_several_mib_document_round_trips(client, world) -> None:
    big = os.urandom(3 * 1024 * 1024).hex().encode()  # 6 MiB of text: about a hundred segments
    add_document(world.meeting, 2, "Big annex", big, "annex.txt", order=2)
    db.session.commit()
    archive = open_zip(api_pack(client, world.meeting.id, world.member))
    assert archive.read("02-01 Big annex.txt") == big
    entry = next(f for f in manifest_of(archive)["files"] if f["name"] == "02-01 Big annex.txt")
    assert entry["sha256"] == hashlib.sha256(big).hexdigest() and entry["size"] == len(big)


# --- damaged documents ---------------------------------------------------------------------------------


def _damage(document: MeetingDocument, offset: int | None) -> None:
    """Flip one bit of the document's blob at ``offset``, or delete the blob (None)."""
    db.session.commit()
    key = document.file.blob_key
    if offset is None:
        blob_store().delete(key)
        return
    reader = blob_store().open(key)
    raw = bytearray(reader.read(10**9))
    reader.close()
    raw[offset] ^= 0x01
    with blob_store().writer(key) as writer:
        writer.write(bytes(raw))


@pytest.mark.parametrize("offset", [crypto.HEADER_SIZE + 3, 2, None], ids=["segment", "header", "missing"])
@pytest.mark.committed_db
def test_a_damaged_document_is_a_clean_error_before_any_byte(client, world, new_client, offset) -> None:
    _damage(world.docs["amber"], offset)
    answer = api_pack(client, world.meeting.id, world.member)
    assert answer.status_code == 500
    assert answer.get_json()["error"]["code"] == "file_integrity"
    page = new_client(world.member).get(f"/meetings/{world.meeting.id}/pack")
    assert page.status_code == 500 and page.mimetype == "text/html"
    assert "integrity check" in page.get_data(as_text=True)
    # Other members' packs, without the damaged document, are unaffected.
    assert open_zip(api_pack(client, world.meeting.id, world.police)).testzip() is None
    db.session.commit()
    actions = db.session.scalars(sa.select(AuditEvent.action)).all()
    assert actions.count("file.integrity_failure") == 2
    assert actions.count("meeting.pack_download") == 1  # the police officer's


def test_damage_deep_in_a_document_cuts_the_stream_short(client, world) -> None:
    big = os.urandom(1_500_000).hex().encode()
    document = add_document(world.meeting, 1, "Annex", big, "annex.txt", order=2)
    _damage(document, crypto.HEADER_SIZE + 30 * (crypto.SEGMENT_SIZE + crypto.TAG_SIZE) + 9)
    answer = client.get(
        f"/api/v1/meetings/{world.meeting.id}/pack", headers=bearer(world.member, "read"), buffered=False
    )
    assert answer.status_code == 200  # every document opened cleanly; the damage is further in
    received = 0
    with pytest.raises(FileUnavailable):
        for chunk in answer.response:
            received += len(chunk)
    assert received < int(answer.headers["Content-Length"])
    db.session.commit()
    failure = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "file.integrity_failure"))
    assert failure is not None and failure.target_type == "meeting_document" and failure.actor_id == world.member.id


# --- the OpenAPI document ------------------------------------------------------------------------------


def test_pack_responses_match_the_openapi_document(client, world) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    check = Conformance(document)
    check.check(client.get("/api/v1/pack-key"), "/pack-key")
    template = "/meetings/{meeting_id}/pack"
    check.check(api_pack(client, world.meeting.id, world.member), template)
    check.check(api_pack(client, 99999, world.member), template)
    check.check(client.get(f"/api/v1/meetings/{world.meeting.id}/pack"), template)
    empty = make_meeting(world.meeting.author)
    db.session.commit()
    check.check(api_pack(client, empty.id, world.member), template)
    assert {status for _t, _m, status in check.seen} == {"200", "401", "404"}


def test_a_client_gone_mid_pack_stops_the_decrypting_thread(client, world) -> None:
    import threading
    import time

    big = os.urandom(3 * 1024 * 1024).hex().encode()
    add_document(world.meeting, 1, "Annex", big, "annex.txt", order=2)
    db.session.commit()
    url = f"/api/v1/meetings/{world.meeting.id}/pack"
    answer = client.get(url, headers=bearer(world.member, "read"), buffered=False)
    pieces, received = iter(answer.response), 0
    while received < 2 * 1024 * 1024:  # well into the documents
        received += len(next(pieces))
    assert any(t.name == "pax-decrypt-ahead" for t in threading.enumerate())
    answer.close()
    deadline = time.monotonic() + 5
    while any(t.name == "pax-decrypt-ahead" for t in threading.enumerate()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(t.name == "pax-decrypt-ahead" for t in threading.enumerate())
