"""Signed packs: one zip of documents a member may see, streamed, with ``index.html``, a
``manifest.json`` of what is in it (each file's size, SHA-256 and marking, how many were
withheld) and ``manifest.sig``, an Ed25519 signature over the manifest's exact bytes
(``app.keys.signing``). Meeting packs (``app.meetings.pack``) and a post's files
(``app.clusters.post_pack``) are both made here, so recipients verify them alike
(``packs verify``).

Every entry is stored (no compression), so the zip's length is known before the first byte.
Documents are decrypted segment by segment while the zip is read; PDFs marked AMBER or stricter
are stamped for the recipient first (``app.files.watermark``), into temporary files removed when
the pack has been read, and the manifest lists the stamped copies' digests. Before the response
starts every document is opened and checked (``check_document``), so a broken blob answers a
clean error instead of a broken zip; a failure later cuts the body short and is audited.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, current_app, has_request_context, request
from zipstream import ZIP_STORED, ZipStream

from app.audit import alerts
from app.audit.services import record
from app.files.http import content_disposition, decrypted_ahead, failure, make_stamped_copy, stamp_for
from app.files.models import StoredFile
from app.files.services import FileMeta, FileUnavailable, open_file
from app.files.sniff import safe_filename
from app.files.watermark import StampedCopy, needs_stamp
from app.keys.signing import key_id, sign_manifest

#: The manifest's own format number: a recipient's verifier refuses what it does not know.
MANIFEST_FORMAT = 1
#: Titles are cut to this many characters in file names (the full title is in the manifest).
NAME_TITLE_CHARS = 80
_EXTENSION = re.compile(r"[A-Za-z0-9]{1,10}")
#: Bytes of plaintext per piece handed from the decrypting thread to the zip.
PIECE_SIZE = 256 * 1024


@dataclass(frozen=True)
class PackEntry:
    """One document in the pack, with its name in the zip and its checked metadata."""

    #: The document packed: a meeting document, or an attachment as ``app.clusters.post_pack`` shows it.
    document: Any
    #: The agenda item it belongs to (meeting packs), else None.
    agenda_item: Any
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


# --- names and checks ---------------------------------------------------------------------------


def _title_part(title: str) -> str:
    # Slashes in a title ("Port A/B") would otherwise make safe_filename keep only what follows.
    text = re.sub(r"[/\\]+", "-", title)[:NAME_TITLE_CHARS]
    return safe_filename(text, fallback="Document").rstrip(".")


def _extension(filename: str) -> str:
    _stem, dot, ext = filename.rpartition(".")
    return f".{ext.lower()}" if dot and _EXTENSION.fullmatch(ext) else ""


def entry_names(rows: list[tuple[Any, Any, FileMeta]]) -> list[str]:
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


# --- the manifest ---------------------------------------------------------------------------------


def iso_time(moment: datetime) -> str:
    """``moment`` in UTC as ISO 8601 with a Z, as manifests give times."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


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
        "generated_at": iso_time(generated_at),
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


# --- building and streaming ------------------------------------------------------------------------


def assemble_pack(
    user: Any,
    subject: Any,
    manifest_subject: dict[str, Any],
    checked: list[tuple[Any, Any, FileMeta]],
    names: list[str],
    withheld: int,
    index: Callable[[list[PackEntry], datetime], bytes],
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
