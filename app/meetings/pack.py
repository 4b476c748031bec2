"""Meeting packs: one signed zip of exactly the meeting documents a member may see, streamed.

The pack holds ``index.html`` (the agenda, linking to the files), ``manifest.json`` (what is in
the pack, for whom, with each file's size, SHA-256 and marking, and how many documents were
withheld from this recipient), ``manifest.sig`` (base64 Ed25519 signature over the manifest's
exact bytes, see ``app.keys.signing``) and the documents, numbered in agenda order.

Every entry is stored (no compression: the documents are mostly compressed formats already),
so the zip's length is known before the first byte and is sent as Content-Length. Documents are
decrypted segment by segment while the zip is read: no temporary file, and memory stays flat
whatever the pack's size. Before the response starts, every document is opened and checked as
far as ``app.files.services.open_file`` checks (key, metadata, blob length and header, first
segment), so a broken blob answers a clean error instead of a broken zip; a failure later in
the stream cuts the body short (the client sees fewer bytes than Content-Length) and is audited.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from flask import Flask, Response, current_app, has_request_context, render_template, request
from sqlalchemy.orm import lazyload
from zipstream import ZIP_STORED, ZipStream

from app import localtime
from app.audit import alerts
from app.audit.services import record
from app.extensions import db
from app.files.http import content_disposition, decrypted_ahead, failure, make_stamped_copy, stamp_for
from app.files.models import StoredFile
from app.files.services import FileMeta, FileUnavailable, open_file
from app.files.sniff import safe_filename
from app.files.watermark import StampedCopy, needs_stamp
from app.keys.signing import key_id, sign_manifest
from app.meetings.models import AgendaItem, Meeting, MeetingDocument
from app.policy import visible_meeting_documents

#: The manifest's own format number: a recipient's verifier refuses what it does not know.
MANIFEST_FORMAT = 1
EMPTY_MESSAGE = "This meeting has no documents you may see, so there is no pack to download."
#: Titles are cut to this many characters in file names (the full title is in the manifest).
NAME_TITLE_CHARS = 80
_EXTENSION = re.compile(r"[A-Za-z0-9]{1,10}")
#: Bytes of plaintext per piece handed from the decrypting thread to the zip.
PIECE_SIZE = 256 * 1024


class PackEmpty(Exception):
    """The caller may see the meeting but none of its documents: there is no pack to hand out."""

    def __init__(self) -> None:
        super().__init__(EMPTY_MESSAGE)


@dataclass(frozen=True)
class PackEntry:
    """One document in the pack, with its name in the zip and its checked metadata."""

    document: MeetingDocument
    agenda_item: AgendaItem | None
    name: str
    meta: FileMeta
    #: The copy stamped for the recipient (a PDF marked AMBER or stricter), else None.
    stamped: StampedCopy | None = None
    #: What ``document`` is, for the audit event of a file that cannot be served.
    kind: str = "meeting_document"

    @property
    def file(self) -> StoredFile:
        return self.document.file

    @property
    def size(self) -> int:
        """The bytes the pack holds for it: the stamped copy's, or the file's own."""
        return self.stamped.size if self.stamped else self.file.size

    @property
    def sha256(self) -> str:
        return self.stamped.sha256 if self.stamped else self.meta.sha256


@dataclass
class Pack:
    """A pack ready to stream: ``stream`` is sized (``len``) and read only once. ``subject`` is
    what it packs (a meeting; a post's files, ``app.clusters.post_pack``), ``action`` its audit
    event."""

    subject: Any
    entries: list[PackEntry]
    withheld: int
    manifest: bytes
    signature: bytes
    key_id: str
    stream: ZipStream
    plaintexts: Plaintexts
    #: The reference every stamped PDF in the pack carries (None: nothing was stamped).
    watermark: str | None = None
    subject_type: str = "meeting"
    action: str = "meeting.pack_download"

    @property
    def size(self) -> int:
        return len(self.stream)

    @property
    def filename(self) -> str:
        return f"pax-{self.subject_type}-{self.subject.id}-{'pack' if self.subject_type == 'meeting' else 'files'}.zip"


# --- what goes in --------------------------------------------------------------------------------


def visible_documents(user: Any, meeting: Meeting) -> list[tuple[MeetingDocument, AgendaItem | None]]:
    """The meeting's documents ``user`` may see, in pack order: the meeting's own documents first,
    then each agenda item's in agenda order, each group by the documents' positions."""
    rows = db.session.execute(
        sa.select(MeetingDocument, AgendaItem)
        .join(Meeting, Meeting.id == MeetingDocument.meeting_id)
        .outerjoin(
            AgendaItem,
            sa.and_(
                AgendaItem.id == MeetingDocument.agenda_item_id, AgendaItem.meeting_id == MeetingDocument.meeting_id
            ),
        )
        .where(MeetingDocument.meeting_id == meeting.id, visible_meeting_documents(user))
        .order_by(
            sa.case((AgendaItem.id.is_(None), 0), else_=1),
            AgendaItem.position,
            MeetingDocument.position,
            MeetingDocument.id,
        )
        # The pack never shows who uploaded a document: skip the author and their organisation.
        .options(lazyload(MeetingDocument.author))
    ).all()
    return [(document, item) for document, item in rows]


def document_count(meeting: Meeting) -> int:
    """All of the meeting's documents, seen or not: the pack tells how many were withheld."""
    return (
        db.session.scalar(sa.select(sa.func.count(MeetingDocument.id)).where(MeetingDocument.meeting_id == meeting.id))
        or 0
    )


def _title_part(title: str) -> str:
    # Slashes in a title ("Port A/B") would otherwise make safe_filename keep only what follows.
    text = re.sub(r"[/\\]+", "-", title)[:NAME_TITLE_CHARS]
    return safe_filename(text, fallback="Document").rstrip(".")


def _extension(filename: str) -> str:
    _stem, dot, ext = filename.rpartition(".")
    return f".{ext.lower()}" if dot and _EXTENSION.fullmatch(ext) else ""


def entry_names(rows: list[tuple[MeetingDocument, AgendaItem | None, FileMeta]]) -> list[str]:
    """``"00-01 Title.pdf"`` for the meeting's own documents, ``"03-02 Title.csv"`` for agenda item
    3's second (visible) document; unique, whatever the titles.

    Documents are counted among the visible ones only, so gaps in the numbers do not tell where
    withheld documents sit.
    """
    names: list[str] = []
    taken: set[str] = set()
    counters: dict[int, int] = {}
    for document, item, meta in rows:
        group = item.position if item is not None else 0
        counters[group] = counters.get(group, 0) + 1
        stem = f"{group:02d}-{counters[group]:02d} {_title_part(document.title)}"
        ext = _extension(meta.filename)
        name, n = stem + ext, 1
        while name.casefold() in taken or name.casefold() in ("index.html", "manifest.json", "manifest.sig"):
            n += 1
            name = f"{stem} ({n}){ext}"
        taken.add(name.casefold())
        names.append(name)
    return names


def check_document(document: Any, actor: Any, kind: str = "meeting_document") -> FileMeta:
    """Open the document's file as a download would and close it again; its metadata.

    Raises ``FileUnavailable`` (logged and audited) when the key, metadata, blob length, header
    or first segment is wrong: the caller answers with the error before sending anything.
    """
    try:
        opened = open_file(document.file, 0, min(document.file.size, 1))
        # Reading the (already decrypted) first piece and closing runs the reader's cleanup.
        next(opened.chunks, None)
        opened.chunks.close()
    except FileUnavailable as exc:
        # Audited in a transaction of its own, which first discards the request's changes.
        failure(document.file, exc, actor, (kind, document.id), None)
        raise
    return opened.meta


# --- the manifest and the index ------------------------------------------------------------------


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def meeting_manifest(meeting: Meeting) -> dict[str, Any]:
    """What the manifest says of the meeting packed."""
    return {
        "meeting": {
            "id": meeting.id,
            "title": meeting.title,
            "kind": meeting.kind.value,
            "cluster": meeting.cluster.slug if meeting.cluster else None,
            "starts_at": _iso(meeting.starts_at),
            "ends_at": _iso(meeting.ends_at),
            "tlp": meeting.tlp.value,
        }
    }


def manifest_bytes(
    subject: dict[str, Any],
    recipient: Any,
    entries: list[PackEntry],
    withheld: int,
    generated_at: datetime,
    signer: str,
    watermark: str | None = None,
) -> bytes:
    """The manifest, serialised once: the signature covers exactly these bytes. ``subject``: what
    is packed (``meeting_manifest``, or a post's)."""
    document = {
        "format": MANIFEST_FORMAT,
        **subject,
        "generated_at": _iso(generated_at),
        "recipient": {
            "id": recipient.id,
            "email": recipient.email,
            "organisation": recipient.organisation.name,
        },
        "files": [
            {
                "name": entry.name,
                "size": entry.size,
                "sha256": entry.sha256,
                "stamped": entry.stamped is not None,
                "tlp": entry.document.tlp.value,
                "law_enforcement_only": entry.document.law_enforcement_only,
                "title": entry.document.title,
                "agenda_item": (
                    {"position": entry.agenda_item.position, "title": entry.agenda_item.title}
                    if entry.agenda_item is not None
                    else None
                ),
            }
            for entry in entries
        ],
        "withheld": withheld,
        "watermark": watermark,
        "key_id": signer,
    }
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def index_html(
    meeting: Meeting, recipient: Any, entries: list[PackEntry], withheld: int, generated_at: datetime
) -> bytes:
    """A self-contained page (no external assets) with the agenda and links to the pack's files."""
    by_item: dict[int | None, list[PackEntry]] = {}
    for entry in entries:
        by_item.setdefault(entry.agenda_item.id if entry.agenda_item else None, []).append(entry)
    # The pack is opened offline, maybe elsewhere: its times name their zone, the recipient's.
    zone = localtime.zone_of(recipient)
    html = render_template(
        "meetings/pack_index.html",
        meeting=meeting,
        when=localtime.format_span(meeting.starts_at, meeting.ends_at, zone),
        recipient=recipient,
        agenda=meeting.agenda,
        by_item=by_item,
        withheld=withheld,
        generated_at=localtime.format_datetime(generated_at, zone, with_zone=True),
    )
    return html.encode("utf-8")


# --- building and streaming ------------------------------------------------------------------------


def build_pack(user: Any, meeting: Meeting) -> Pack:
    """Everything the pack holds, checked and signed, with its zip stream ready to be read.

    Raises ``PackEmpty`` when the caller may see none of the meeting's documents, and
    ``FileUnavailable`` when one of them cannot be served (already logged and audited).
    """
    rows = visible_documents(user, meeting)
    if not rows:
        raise PackEmpty()
    withheld = document_count(meeting) - len(rows)
    checked = [(document, item, check_document(document, user)) for document, item in rows]
    names = entry_names(checked)

    def index(entries: list[PackEntry], generated_at: datetime) -> bytes:
        return index_html(meeting, user, entries, withheld, generated_at)

    return assemble_pack(user, meeting, meeting_manifest(meeting), checked, names, withheld, index)


def assemble_pack(
    user: Any,
    subject: Any,
    manifest_subject: dict[str, Any],
    checked: list[tuple[Any, AgendaItem | None, FileMeta]],
    names: list[str],
    withheld: int,
    index: Any,
    subject_type: str = "meeting",
    kind: str = "meeting_document",
    action: str = "meeting.pack_download",
) -> Pack:
    """The pack of ``checked`` documents (each opened by ``check_document``) under ``names``:
    PDFs stamped for ``user`` where their marking asks, the manifest signed, the zip stream ready.
    ``index(entries, generated_at)`` makes ``index.html``; ``kind`` names the documents in the
    audit event of one that fails."""
    entries = [
        PackEntry(document=document, agenda_item=item, name=name, meta=meta, kind=kind)
        for (document, item, meta), name in zip(checked, names, strict=True)
    ]
    watermark = _stamp_entries(user, entries)
    generated_at = datetime.now(UTC)
    signer = key_id()
    manifest = manifest_bytes(manifest_subject, user, entries, withheld, generated_at, signer, watermark)
    signature = sign_manifest(manifest)
    stream = ZipStream(compress_type=ZIP_STORED, sized=True)
    stream.add(index(entries, generated_at), "index.html")
    stream.add(manifest, "manifest.json")
    stream.add(base64.b64encode(signature) + b"\n", "manifest.sig")
    # The documents are read after the request has ended: take what reading them needs now.
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    actor = getattr(user, "_get_current_object", lambda: user)()  # current_user is a proxy
    source = request.remote_addr if has_request_context() else None
    plaintexts = Plaintexts(app, entries, actor, source)
    for entry in entries:
        stream.add(plaintexts.take(entry.size), entry.name, size=entry.size)
    return Pack(
        subject, entries, withheld, manifest, signature, signer, stream, plaintexts, watermark, subject_type, action
    )


def _stamp_entries(user: Any, entries: list[PackEntry]) -> str | None:
    """Stamp, for ``user``, every PDF in the pack marked AMBER or stricter, all with one
    reference (returned; None when nothing needed a stamp). The copies wait in temporary files
    until the pack has been read; a failure removes those already made."""
    wanted = [i for i, e in enumerate(entries) if needs_stamp(e.document.stamp_tlp, e.meta.media_type)]
    if not wanted:
        return None
    actor = getattr(user, "_get_current_object", lambda: user)()
    reference = stamp_for(actor, entries[wanted[0]].document.stamp_tlp).reference
    try:
        for index in wanted:
            entry = entries[index]
            stamp = replace(stamp_for(actor, entry.document.stamp_tlp), reference=reference)
            target = (entry.kind, entry.document.id)
            entries[index] = replace(entry, stamped=make_stamped_copy(entry.file, stamp, actor, target, None))
    except BaseException:
        for entry in entries:
            if entry.stamped:
                entry.stamped.close()
        raise
    return reference


class Plaintexts:
    """Every document's plaintext in pack order, decrypted by one thread ahead of the zip.

    One ``decrypted_ahead`` thread runs through all the documents, so the pipeline does not
    drain at each document's start; ``take`` hands the zip each document's bytes from it. The
    zip's CRC-32 and the socket writes run in the server's thread while the next megabytes are
    decrypted. Each blob is opened only when reached (one open at a time), inside its own
    application context (the blob store and keyring hang off the app); no database row is
    touched, as the files' rows were loaded before the response started.
    """

    def __init__(self, app: Flask, entries: list[PackEntry], actor: Any, source: str | None):
        self._app = app
        self._entries = entries
        self._actor = actor
        self._source = source
        # A generator: the thread starts at the first read. Pieces smaller than a single file's
        # download uses: the zip slices them at each document's end and checksums them, and a
        # few copies of 1 MiB pieces in flight cost the worker more memory than they gain.
        self._pieces = decrypted_ahead(self._all(), PIECE_SIZE)
        self._held = b""

    def _all(self) -> Iterator[bytes]:
        for entry in self._entries:
            if entry.stamped is not None:
                yield from entry.stamped.chunks()
                continue
            try:
                with self._app.app_context():
                    opened = open_file(entry.file)
                yield from opened.chunks
            except FileUnavailable as exc:
                failure(entry.file, exc, self._actor, (entry.kind, entry.document.id), self._source)
                raise

    def take(self, size: int) -> Iterator[bytes]:
        """The next ``size`` bytes: one document's plaintext."""
        left = size
        while left:
            piece = self._held or next(self._pieces, None)
            if piece is None:
                raise RuntimeError("the documents ended before the pack did")
            self._held = b""
            if len(piece) > left:
                # The last piece of a document carries the start of the next: keep that part.
                piece, self._held = piece[:left], piece[left:]
            left -= len(piece)
            yield piece

    def close(self) -> None:
        """Stop the decrypting thread (the client is gone, or the stream failed), close the blob
        and remove the stamped copies."""
        self._pieces.close()
        for entry in self._entries:
            if entry.stamped is not None:
                entry.stamped.close()


def pack_body(pack: Pack) -> Iterator[bytes]:
    """The zip's bytes as the server sends them; ends the decrypting thread however it ends."""
    try:
        yield from pack.stream
    finally:
        pack.plaintexts.close()


def pack_response(pack: Pack, actor: Any) -> Response:
    """The pack as a streamed zip download, and its one audit event (committed with the request:
    the event records that the pack was handed out, ids and counts only, never titles or names)."""
    record(
        pack.action,
        actor=actor,
        target=(pack.subject_type, pack.subject.id),
        target_org=pack.subject.author_org_id,
        document_ids=[entry.document.id for entry in pack.entries],
        count=len(pack.entries),
        withheld=pack.withheld,
        bytes=pack.size,
        key_id=pack.key_id,
        watermark=pack.watermark,
        stamped_sha256s=[entry.sha256 for entry in pack.entries if entry.stamped is not None],
    )
    alerts.downloaded(actor, max(1, len(pack.entries)))
    response = Response(pack_body(pack), mimetype="application/zip", direct_passthrough=True)
    headers = response.headers
    headers["Content-Length"] = str(pack.size)
    headers["Content-Disposition"] = content_disposition(pack.filename)
    headers["Cache-Control"] = "private, no-store"
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
